"""What the trainer says once at setup, after the models and prompts have loaded: warnings about a config
that runs but not as one may think (prompts cut, off-policy sampling, a forced gamma, a deprecated key)
and a hint where another precision would be faster."""

from __future__ import annotations

from . import algorithms as A
from .preflight import prompt_token_lengths
from .runconfig import RunConfig
from .update import cpu_has_native_bf16


def setup_notes(rc: RunConfig, tokenizer, prompts: list, eval_prompts: list, policy, device) -> list[tuple[str, str]]:
    """(message, level) in the order they are logged."""
    return (truncated_prompts(rc, tokenizer, prompts, eval_prompts) + off_policy_sampling(rc) + cpu_bf16(rc, policy, device)
            + forced_gamma(rc) + deprecated_logging(rc))


def truncated_prompts(rc: RunConfig, tokenizer, prompts: list, eval_prompts: list) -> list[tuple[str, str]]:
    limit, out = rc.data.max_prompt_tokens, []
    for name, ps in (("training", prompts), ("eval", eval_prompts)):
        lengths = prompt_token_lengths([p.text for p in ps], tokenizer) if ps else []
        cut = sum(n > limit for n in lengths)
        if cut:
            out.append((f"{cut} of {len(lengths)} {name} prompts are longer than data.max_prompt_tokens {limit} "
                        f"(longest {max(lengths)} tokens) and are cut from the left: their beginning is dropped, "
                        "the end next to the response is kept", "warning"))
    return out


def forced_gamma(rc: RunConfig) -> list[tuple[str, str]]:
    algo = rc.algorithm
    if algo.estimator in A.GROUPED_ESTIMATORS and algo.gamma != 1:
        return [(f"algorithm.gamma {algo.gamma} is not used: estimator {algo.estimator} compares the "
                 "undiscounted returns of samples of one prompt, so gamma is forced to 1; remove algorithm.gamma "
                 "or use estimator reinforce_pp or ppo for a discounted return", "warning")]
    return []


def deprecated_logging(rc: RunConfig) -> list[tuple[str, str]]:
    if rc.logging.token_details_share is not None:
        return [(f"logging.token_details_share {rc.logging.token_details_share} is deprecated and ignored: "
                 "every recorded sample now carries its per-token data; remove the key, and bound "
                 "samples.jsonl with logging.samples_per_step", "warning")]
    return []


def cpu_bf16(rc: RunConfig, policy, device) -> list[tuple[str, str]]:
    """precision auto on a CPU with hardware bf16 and a model big enough for matmuls to dominate: say that
    precision: bf16 would be faster (docs/benchmarks.md measures it)."""
    params = sum(p.numel() for p in policy.parameters())
    if rc.precision == "auto" and device.type == "cpu" and params >= 10_000_000 and cpu_has_native_bf16():
        return [("this CPU multiplies bf16 in hardware (AMX / AVX512-BF16) and the run is in fp32: "
                 "precision: bf16 (bf16 autocast, rollouts from a bf16 copy) trains about 1.5-2x faster here; "
                 "set precision: fp32 to keep fp32 and silence this note", "info")]
    return []


def off_policy_sampling(rc: RunConfig) -> list[tuple[str, str]]:
    roll = rc.rollout
    truncating = [f"{k} {getattr(roll, k)}" for k in ("top_p", "top_k")
                  if getattr(roll, k) and (k == "top_k" or getattr(roll, k) < 1)]
    if truncating:
        return [(f"rollout.{' and rollout.'.join(truncating)} sample from a truncated distribution, while pi_old "
                 f"and the loss use the full softmax at temperature {rc.rollout.temperature}: estimator "
                 f"{rc.algorithm.estimator} assumes on-policy samples, so the importance ratio is "
                 "biased; set top_p: 1.0 and top_k: null to train on-policy", "warning")]
    return []
