"""The policy update: PPO-clip optimizer steps over the global batch, in micro-batches by a token budget.

- Micro-batches by tokens (train.micro_batch_tokens, as verl's use_dynamic_bsz / OpenRLHF's packing): the
  samples of an optimizer step are sorted by response length and packed greedily so that rows x (prompt
  width + longest response in the micro-batch) stays within the budget; short responses no longer pad to
  the step's longest one. Lengths are read to the host once per update: no host sync inside the loop.
- Log-probs over the response in chunks of positions (logits_chunk_positions): at most LOGITS_BUDGET bytes
  of fp32 [rows, positions, vocab] logits exist at once; when the response needs more than one chunk,
  each chunk's LM head is recomputed in the backward pass (activation checkpointing) instead of kept.
The loss math is algorithms.py's; this module decides what runs in which forward.
"""

from __future__ import annotations

import contextlib

import torch

from . import algorithms as A

LOGITS_BUDGET = 256 * 2**20  # bytes of fp32 logits one chunk may hold (the memory model of estimate.py)


def cpu_has_native_bf16() -> bool:
    """Does this CPU multiply bf16 in hardware (AMX tiles or AVX512-BF16)? There bf16 matmuls run 3-6x faster
    than fp32; elsewhere bf16 on a CPU is emulated and slower."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:  # not Linux: ask oneDNN
        return bool(getattr(torch.backends.mkldnn, "is_available", lambda: False)()) and \
            torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a config's `precision` runs here: 'bf16' (bf16 autocast over fp32 weights, and a bf16
    copy for generation) or 'fp32'. auto: bf16 on CUDA, fp32 on CPU (a CPU run says when bf16 would help)."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def autocast_for(precision: str, device: torch.device) -> str | bool:
    """What the forward passes take as `autocast`: the device type to autocast on, or False (fp32)."""
    return device.type if resolve_precision(precision, device) == "bf16" else False


def mixed_precision(autocast: str | bool):
    """bf16 autocast for every forward pass (rollout, log-probs, critic, reward model) on the device type
    `autocast` names ('cuda' or 'cpu'); False: fp32, a no-op."""
    if not autocast:
        return contextlib.nullcontext()
    return torch.autocast(autocast, dtype=torch.bfloat16)


def forward_logits(model, ids, attn, autocast: str | bool, keep: int = 0):
    """Logits of the last `keep` positions (0: all). The LM head, a [hidden x vocab] matmul per position,
    runs on those positions only (transformers' logits_to_keep)."""
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    with mixed_precision(autocast):
        return model(input_ids=ids, attention_mask=attn, position_ids=pos, logits_to_keep=keep).logits


def logits_chunk_positions(rows: int, vocab: int, budget: int = LOGITS_BUDGET) -> int:
    """Response positions per chunk so that rows x positions x vocab fp32 logits fit the budget."""
    return max(1, budget // (rows * vocab * 4))


def _head(model):
    """The LM head whose forward can be skipped (hidden states out, our chunks apply its weight): a plain
    Linear, not under FSDP2 (its weight is a shard outside the forward), no logit soft-capping or scaling."""
    inner = getattr(model, "module", model)  # DDP
    head = inner.get_output_embeddings() if hasattr(inner, "get_output_embeddings") else None
    conf = getattr(inner, "config", None)
    if (type(head) is not torch.nn.Linear or getattr(head.weight, "device_mesh", None) is not None
            or any(getattr(conf, k, None) for k in ("final_logit_softcapping", "logit_scale", "logits_scaling"))):
        return None
    return head


@contextlib.contextmanager
def _hidden_out(head):
    head.forward = lambda h: h  # an instance attribute shadows Linear.forward for this block only
    try:
        yield
    finally:
        del head.forward


def response_logprobs(model, ids, attn, prompt_len: int, temperature: float, autocast: str | bool, entropy: str = "no",
                      budget: int = LOGITS_BUDGET):
    """log pi of the response tokens, and their entropy: entropy "no" (none), "metric" (no gradient) or
    "loss" (with gradient, for a non-zero entropy coefficient). Never more than `budget` bytes of fp32
    logits at once where the model's head allows it (_head)."""
    width = ids.shape[1] - prompt_len
    tokens = ids[:, prompt_len:]
    vocab = getattr(model, "module", model).config.vocab_size
    chunk = logits_chunk_positions(ids.shape[0], vocab, budget)
    head = _head(model) if chunk < width else None

    def from_logits(logits, toks):
        logp = A.log_probs_from_logits(logits, toks, temperature)
        if entropy == "loss":
            return logp, A.entropy_from_logits(logits)
        if entropy == "metric":
            with torch.no_grad():
                return logp, A.entropy_from_logits(logits.detach())
        return logp, None

    if head is None:  # one pass: the last width+1 positions' logits predict the response tokens (minus one)
        return from_logits(forward_logits(model, ids, attn, autocast, keep=width + 1)[:, :-1], tokens)
    with _hidden_out(head):
        hidden = forward_logits(model, ids, attn, autocast, keep=width + 1)[:, :-1]

    def one_chunk(h, toks):
        with mixed_precision(autocast):
            return from_logits(torch.nn.functional.linear(h, head.weight, head.bias), toks)

    parts = []
    for s in range(0, width, chunk):
        h, toks = hidden[:, s:s + chunk], tokens[:, s:s + chunk]
        if torch.is_grad_enabled():  # keep the hidden states, recompute this chunk's logits in the backward
            parts.append(torch.utils.checkpoint.checkpoint(one_chunk, h, toks, use_reentrant=False))
        else:
            parts.append(one_chunk(h, toks))
    logp = torch.cat([p[0] for p in parts], 1)
    ent = torch.cat([p[1] for p in parts], 1) if entropy != "no" else None
    return logp, ent


def plan_micro_batches(rows: list[int], lengths: list[int], prompt_width: int, budget: int) -> list[list[int]]:
    """rows (indices into the batch) in micro-batches: longest response first, each micro-batch as many rows
    as fit rows x (prompt_width + its longest response) <= budget (at least one row)."""
    order = sorted(rows, key=lambda r: -lengths[r])
    plan: list[list[int]] = []
    for r in order:
        if plan and (len(plan[-1]) + 1) * (prompt_width + max(lengths[plan[-1][0]], 1)) <= budget:
            plan[-1].append(r)
        else:
            plan.append([r])
    return plan


def split_to(plan: list[list[int]], count: int) -> list[list[int]]:
    """The plan in exactly `count` micro-batches (count >= len(plan), <= rows): halves the largest until then,
    so every rank of an FSDP2 run (one collective per forward) runs the same number of forwards."""
    plan = [list(p) for p in plan]
    while len(plan) < count:
        i = max(range(len(plan)), key=lambda k: len(plan[k]))
        big = plan.pop(i)
        plan[i:i] = [big[:len(big) // 2], big[len(big) // 2:]]
    return plan


def token_budget(t, prompt_width: int, longest: int) -> int:
    """train.micro_batch_tokens, or by default micro_batch_size rows of the step's longest sequence (never
    more rows x tokens than micro_batch_size fixed micro-batches would hold)."""
    tokens = t.rc.train.micro_batch_tokens
    return tokens if tokens else t.rc.train.micro_batch_size * (prompt_width + max(longest, 1))


def describe_micro_batches(tr) -> dict:
    """What run_started records of the update's micro-batches (`tr`: the RunConfig's train section)."""
    tokens = tr.micro_batch_tokens
    return {"micro_batch_tokens": tokens, "micro_batch_size": tr.micro_batch_size,
            "rule": (f"sorted by length, packed to {tokens} tokens" if tokens else
                     f"sorted by length, packed to {tr.micro_batch_size} x the step's longest sequence"),
            "logits_chunk_mib": LOGITS_BUDGET // 2**20}


def update(t, exp) -> dict:
    """PPO-clip updates on the global batch: every optimizer mini-batch is the same set of samples for any
    number of ranks; rank r runs forward/backward on its 1/N of it, in micro-batches by tokens."""
    maskf = exp.action_mask
    tr, algo = t.rc.train, t.rc.algorithm
    B, P = maskf.shape[0], exp.prompt_length
    world, rank = t.dist.world_size, t.dist.rank
    local_bs = tr.batch_size // world
    entropy = "loss" if algo.entropy_coef else "metric"
    lengths = maskf.sum(-1).long().tolist()  # the update's one host sync before its loop
    budget = token_budget(t, P, max(lengths))
    t.train_policy.train()
    # sums over micro-batches, kept on the device: one host sync per update, not several per micro-batch
    # [policy loss, kl loss, entropy, clipped tokens, ppo kl, tokens, critic loss, |log-prob mismatch|]
    acc = torch.zeros(8, dtype=torch.float64, device=t.device)
    grad_norms = []
    opt_steps = 0
    total_opt_steps = tr.max_epochs * (B // tr.batch_size)
    for epoch in range(tr.max_epochs):
        order = torch.randperm(B)
        for start in range(0, B - tr.batch_size + 1, tr.batch_size):
            idx = order[start:start + tr.batch_size]
            step_tokens = maskf[idx].sum().clamp(min=1)
            ranks = [idx[r * local_bs:(r + 1) * local_bs].tolist() for r in range(world)]
            plans = [plan_micro_batches(rows, lengths, P, budget) for rows in ranks]
            plan = split_to(plans[rank], max(len(p) for p in plans)) if t.dist.sharded else plans[rank]
            t.optimizer.zero_grad(set_to_none=True)
            for m, mb in enumerate(plan):
                with t.dist.accumulating(t.train_policy, t.train_critic, sync=m == len(plan) - 1):
                    acc += micro_step(t, exp, mb, max(lengths[r] for r in mb), step_tokens, entropy,
                                      first_pass=epoch == 0)
                t.watch.tick("train", opt_steps, total_opt_steps, None,  # the stall watchdog's progress
                       f"micro-batch {m + 1} of {len(plan)} of optimizer step {opt_steps + 1} of {total_opt_steps}")
            gn = t.dist.clip_grad_norm(t.policy.parameters(), tr.max_grad_norm)
            grad_norms.append(gn.detach())
            t.optimizer.step()
            t.scheduler.step()
            if t.critic is not None:
                torch.nn.utils.clip_grad_norm_(t.critic.parameters(), tr.max_grad_norm)
                t.critic_opt.step()
                t.critic_opt.zero_grad(set_to_none=True)
            opt_steps += 1
    t.policy.eval()
    pl_sum, kl_sum, ent_sum, clip_sum, ppo_kl_sum, tok_sum, vloss_sum, mismatch_sum = t.dist.all_sum(acc).tolist()
    opt_steps = max(opt_steps, 1)
    out = {
        "policy_loss": pl_sum / opt_steps, "entropy": ent_sum / opt_steps,
        "clip_frac": clip_sum / max(tok_sum, 1), "ppo_kl": ppo_kl_sum / max(tok_sum, 1),
        "grad_norm": float(grad_norms[-1]) if grad_norms else 0.0, "lr": t.scheduler.get_last_lr()[0],
        # optimizer steps with a NaN/inf gradient norm (signals.py's nonfinite; the trainer pops it from the metrics)
        "nonfinite_grad_steps": float((~torch.isfinite(torch.stack(grad_norms))).sum()) if grad_norms else 0.0,
        "optimizer_steps": float(opt_steps), "kl_loss": kl_sum / opt_steps,
    }
    if t.reuse_generation_logprobs:  # pi_old is the sampler's (one epoch): compared with the training forward
        out["logprob_mismatch"] = mismatch_sum / max(tok_sum, 1)
    if t.critic is not None:
        out["critic_loss"] = vloss_sum / opt_steps
    return out


def micro_step(t, exp, mb: list[int], width: int, step_tokens, entropy: str, first_pass: bool):
    """Forward/backward of one micro-batch (rows mb, responses up to `width`); returns its share of the
    update's sums (see update).

    Each loss term is this micro-batch's share of the optimizer step's loss (token mean: / the step's
    tokens over all ranks; sequence mean: its rows / the step's rows), so the shares sum to the step's
    loss; DDP and FSDP2 average gradients over ranks, hence the backward of share x world size."""
    tr, algo = t.rc.train, t.rc.algorithm
    P, width = exp.prompt_length, max(width, 1)
    mb = torch.tensor(mb, device=exp.sequences.device)
    ids, am, mk = exp.sequences[mb][:, :P + width], exp.attention_mask[mb][:, :P + width], exp.action_mask[mb][:, :width]
    logp, ent = response_logprobs(t.train_policy, ids, am, P, t.rc.rollout.temperature, t.autocast, entropy=entropy)
    logp = logp * mk
    out = torch.zeros(8, dtype=torch.float64, device=t.device)
    sampled = exp.action_log_probs[mb][:, :width]
    # one optimizer step per rollout: pi_old is the current policy, the ratio is exactly 1
    old = logp.detach() if t.reuse_generation_logprobs else sampled
    if t.reuse_generation_logprobs and first_pass:  # the sampler's log-probs vs this forward's
        out[7] = A.masked_sum((logp.detach() - sampled).abs(), mk)
    a = exp.advantages[mb][:, :width]
    per_tok, clipped = A.clipped_policy_loss(logp, old, a, algo.eps_clip, algo.eps_clip_high, algo.dual_clip)
    if tr.loss_aggregation == "token_mean":
        agg = lambda x: A.aggregate_token_mean(x, mk, step_tokens)  # noqa: E731
    else:
        agg = lambda x: A.aggregate_sequence_mean(x, mk) * (len(mb) / tr.batch_size)  # noqa: E731
    loss = agg(per_tok)
    out[0] = loss.detach()
    ref_lp = exp.base_action_log_probs
    if algo.kl.mode == "loss" and algo.kl.coef > 0 and ref_lp is not None:
        kl_loss = agg(A.approx_kl(logp, ref_lp[mb][:, :width], algo.kl.estimator, mk))
        out[1] = kl_loss.detach()
        loss = loss + algo.kl.coef * kl_loss
    ent_term = agg(ent)
    out[2] = ent_term.detach()
    if algo.entropy_coef:
        loss = loss - algo.entropy_coef * ent_term
    world = t.dist.world_size
    (loss * world if world > 1 else loss).backward()
    out[3] = A.masked_sum(clipped.float(), mk).detach()
    out[4] = A.masked_sum(old - logp.detach(), mk)
    out[5] = mk.sum()
    if t.critic is not None:
        v = t.train_critic(ids, am, P, t.autocast)[:, :width]
        vl = A.aggregate_token_mean(A.value_loss(v, exp.values[mb][:, :width], exp.returns[mb][:, :width]),
                                    mk, step_tokens)
        (vl * world if world > 1 else vl).backward()
        out[6] = vl.detach()
    return out
