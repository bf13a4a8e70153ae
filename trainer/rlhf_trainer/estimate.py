"""Estimates that `validate` prints after its checks (as `estimate: ...` lines, not problems):

- memory per device, from the model's config.json alone (the model is built on torch's meta device, so
  the parameter count is exact and no weights are read), for what the trainer keeps: fp32 weights, fp32
  gradients and AdamW's two fp32 moments for the trained models (the policy; the critic for PPO),
  fp32 weights for the frozen reference (loaded when algorithm.kl.coef > 0), the activations kept for
  the backward pass of one train micro-batch (train.micro_batch_tokens, or micro_batch_size x the longest
  sequence: update.py's token budget) and its fp32 logits, which update.py computes in chunks of at most
  update.LOGITS_BUDGET bytes (the logits, their log-softmax and its gradient: LOGIT_COPIES);
- time per step, from the step times of the newest run of the same model in the runs folder.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

import yaml

from .runconfig import LoraConfig, RewardModelRunConfig, RunConfig
from .update import LOGITS_BUDGET
from .names import CONFIG_FILE, EVENTS_FILE

# bytes per parameter: fp32 weights (4) + fp32 gradients (4) + AdamW exp_avg and exp_avg_sq (4 + 4). The trainer
# keeps fp32 weights on every device (on CUDA the forward passes run under bf16 autocast).
BYTES_TRAINED = 16
BYTES_FROZEN = 4
# values kept for the backward pass per token, per hidden unit, per layer: about 34 bytes in 16-bit precision
# (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models", without the
# attention score matrices, which fused attention does not keep); the vocab logits are counted apart.
ACTIVATION_VALUES = 17
LOGIT_COPIES = 3  # one chunk's fp32 logits, their log-softmax and its gradient live at once


@dataclass
class ModelSize:
    params: int
    hidden: int
    layers: int
    vocab: int
    adapters: int = 0  # LoRA's parameters (model.lora), the only trained ones then


def model_size(path: str, trust_remote_code: bool, lora: LoraConfig | None = None) -> ModelSize:
    """Exact parameter count (tied embeddings counted once), hidden size and layers, without reading weights;
    with `lora`, also the parameters its adapters add."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    conf = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code, local_files_only=True)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(conf, trust_remote_code=trust_remote_code)
    text = conf.get_text_config() if hasattr(conf, "get_text_config") else conf
    adapters = 0
    if lora:
        from .lora import adapter_parameters
        adapters = adapter_parameters(model, lora)
    return ModelSize(sum(p.numel() for p in model.parameters()), int(text.hidden_size), int(text.num_hidden_layers),
                     int(text.vocab_size), adapters)


@dataclass
class MemoryEstimate:
    total: int                 # bytes
    parts: dict[str, int]      # policy, reference, critic, activations, logits
    tokens: int                # prompt + response tokens of the longest sample
    pass_tokens: int           # tokens of one train micro-batch (its token budget)
    activation_bytes: int      # bytes per activation value: 2 under bf16 autocast, 4 in fp32
    policy: ModelSize


def activation_bytes(device: str, precision: str = "auto") -> int:
    """Bytes per activation value for the config's `device` and `precision` (a reward-model run has no precision: auto)."""
    import torch

    from .update import resolve_precision
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    return 2 if resolve_precision(precision, torch.device("cuda" if cuda else "cpu")) == "bf16" else 4


def estimate_memory(rc: RunConfig, prompt_tokens: int) -> MemoryEstimate:
    mcfg = rc.model
    lora = mcfg.lora
    policy = model_size(mcfg.policy, mcfg.trust_remote_code, lora)
    ppo = rc.algorithm.estimator == "ppo"
    # LoRA: the base is frozen (fp32 weights only), the adapters are trained
    parts = {"policy": policy.params * BYTES_FROZEN + policy.adapters * BYTES_TRAINED if lora
             else policy.params * BYTES_TRAINED}
    if rc.algorithm.kl.coef > 0 and not (lora and not mcfg.reference):  # LoRA's reference: no copy
        ref = model_size(mcfg.reference, mcfg.trust_remote_code) if mcfg.reference else policy
        parts["reference"] = ref.params * BYTES_FROZEN
    parts.update(reward_model_parts(rc))
    if ppo:  # the policy's architecture with a scalar value head (hidden weights + bias)
        parts["critic"] = (policy.params + policy.hidden + 1) * BYTES_TRAINED
    tokens = prompt_tokens + rc.rollout.max_new_tokens
    pass_tokens = rc.train.micro_batch_tokens or rc.train.micro_batch_size * tokens
    per_model = pass_tokens * policy.hidden * policy.layers * ACTIVATION_VALUES
    act = activation_bytes(rc.device, rc.precision)
    parts["activations"] = per_model * act * (2 if ppo else 1)
    rows = max(1, pass_tokens // tokens)
    parts["logits"] = min(rows * rc.rollout.max_new_tokens * policy.vocab * 4, LOGITS_BUDGET) * LOGIT_COPIES
    return MemoryEstimate(sum(parts.values()), parts, tokens, pass_tokens, act, policy)


def reward_model_parts(rc: RunConfig) -> dict[str, int]:
    """Weights of each reward.sources[i].reward_model (frozen: bf16 on CUDA, fp32 on CPU), by source name."""
    per_param = 2 if activation_bytes(rc.device, rc.precision) == 2 else BYTES_FROZEN
    return {f"reward model {s.name}": model_size(s.reward_model, rc.model.trust_remote_code).params * per_param
            for s in rc.reward.sources if s.reward_model}


def estimate_rm_memory(rm: RewardModelRunConfig) -> MemoryEstimate:
    """Reward-model training (kind: reward_model): the base's weights, gradients and AdamW moments, and the
    activations of one micro-batch of pairs (chosen and rejected: 2 sequences of data.max_length tokens each)."""
    size = model_size(rm.model.base, rm.model.trust_remote_code)
    act = activation_bytes(rm.device)
    tokens = rm.data.max_length
    pass_tokens = 2 * rm.train.micro_batch_size * tokens
    parts = {"reward model": (size.params + size.hidden) * BYTES_TRAINED,
             "activations": pass_tokens * size.hidden * size.layers * ACTIVATION_VALUES * act}
    return MemoryEstimate(sum(parts.values()), parts, tokens, pass_tokens, act, size)


def rm_memory_line(rm: RewardModelRunConfig, est: MemoryEstimate) -> str:
    parts = ", ".join(f"{k} {_gib(v)}" for k, v in est.parts.items())
    return (f"memory per device ~ {_gib(est.total)} ({parts}): {est.policy.params:,} parameters x {BYTES_TRAINED} B "
            f"(fp32 weights, gradients, AdamW moments); activations 2 x {rm.train.micro_batch_size} sequences x "
            f"{est.tokens} tokens (data.max_length) x hidden {est.policy.hidden} x {est.policy.layers} layers x "
            f"{ACTIVATION_VALUES} values x {est.activation_bytes} B")


def _gib(n: int) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**26 else f"{n / 2**20:.3g} MiB"


def memory_line(est: MemoryEstimate) -> str:
    size = est.policy
    parts = ", ".join(f"{k} {_gib(v)}" for k, v in est.parts.items())
    trained = "policy and critic" if "critic" in est.parts else "policy"
    lora = (f"LoRA: {size.params:,} frozen base parameters x {BYTES_FROZEN} B + {size.adapters:,} adapter parameters x "
            f"{BYTES_TRAINED} B for the policy (the reference is the base with the adapters off: no copy)")
    return (f"memory per device ~ {_gib(est.total)} ({parts}): "
            + (lora if size.adapters else f"{size.params:,} parameters x {BYTES_TRAINED} B for the "
               f"{trained} (fp32 weights, gradients, AdamW moments)")
            + (f", x {BYTES_FROZEN} B for the reference" if "reference" in est.parts else "")
            + ("; reward models: frozen weights (bf16 on CUDA)" if any(k.startswith("reward model") for k in est.parts) else "")
            + f"; activations {est.pass_tokens} tokens per micro-batch x hidden {size.hidden} x "
            f"{size.layers} layers x {ACTIVATION_VALUES} values x {est.activation_bytes} B"
            + (" per trained model" if "critic" in est.parts else "")
            + f"; logits in chunks of at most {LOGITS_BUDGET // 2**20} MiB fp32 x {LOGIT_COPIES}"
            + "; one process (train.strategy fsdp2 divides the model states by the number of ranks)")


@dataclass
class StepTime:
    seconds: float     # median step time of that run, scaled to this config's samples per step
    run: str
    steps: int
    their_samples: int
    our_samples: int


def _samples_per_step(rollout: dict) -> int:
    """A run's samples per step from its recorded config.yaml's rollout section (read as it is: any version's)."""
    return rollout["batch_size"] * rollout["n_samples_per_prompt"]


def _step_times(events: Path) -> list[float]:
    out = []
    try:
        with open(events, encoding="utf-8") as f:
            for line in f:
                if '"metrics"' not in line:
                    continue
                try:
                    e = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line being written
                s = e.get("values", {}).get("step_s") if e.get("type") == "metrics" else None
                if isinstance(s, (int, float)):
                    out.append(float(s))
    except OSError:
        pass
    return out


def estimate_step_time(rc: RunConfig, runs_dir: str | Path | None) -> StepTime | None:
    """From the newest run (by its events' last write) whose config trained the same model.policy, with steps."""
    if not runs_dir or not Path(runs_dir).is_dir():
        return None
    runs = []
    for d in Path(runs_dir).iterdir():
        events = d / EVENTS_FILE
        if (d / CONFIG_FILE).is_file() and events.is_file():
            runs.append((events.stat().st_mtime, d))
    for _, d in sorted(runs, reverse=True):
        try:
            theirs = yaml.safe_load((d / CONFIG_FILE).read_text())
            if theirs["model"]["policy"] != rc.model.policy:
                continue
            their_samples = _samples_per_step(theirs["rollout"])
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            continue
        times = _step_times(d / EVENTS_FILE)
        if times:
            ours = rc.rollout.batch_size * rc.rollout.n_samples_per_prompt
            return StepTime(statistics.median(times) * ours / their_samples, d.name, len(times), their_samples, ours)
    return None


def step_time_line(t: StepTime) -> str:
    scaled = "" if t.their_samples == t.our_samples else f", scaled from its {t.their_samples} to {t.our_samples} samples per step"
    return f"time per step ~ {t.seconds:.3g} s (median of {t.steps} step{'s' if t.steps != 1 else ''} of run {t.run}, same model{scaled})"
