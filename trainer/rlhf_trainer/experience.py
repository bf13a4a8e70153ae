"""One rollout batch after scoring, as update(), the metrics and the sample log read it, and how it is made.

Names follow OpenRLHF's Experience. Shapes: B samples (rollout.batch_size x n_samples_per_prompt),
P prompt positions (left-padded), R response positions (right-padded, up to the longest response).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import algorithms as A
from .distributed import pad_columns
from .update import response_logprobs


@dataclass
class Experience:
    sequences: torch.Tensor                      # [B, P+R] token ids: prompt then response, pad elsewhere
    attention_mask: torch.Tensor                 # [B, P+R] 1 on real prompt and response tokens
    action_mask: torch.Tensor                    # [B, R] float, 1 on response tokens up to and incl. the first EOS
    prompt_length: int                           # P: the response starts at sequences[:, P]
    action_log_probs: torch.Tensor               # [B, R] log pi_old, recomputed by the training policy
    base_action_log_probs: torch.Tensor | None   # [B, R] log pi_ref; None when kl.coef is 0 (no reference)
    values: torch.Tensor | None                  # [B, R] critic values (ppo only)
    advantages: torch.Tensor                     # [B, R] zero on padding
    returns: torch.Tensor                        # [B, R] reward-to-go (the critic's targets)
    token_rewards: torch.Tensor                  # [B, R] shaped, clipped score on the last token minus the KL
    kl: torch.Tensor                             # [B, R] the KL that went into the reward (0 with kl.mode: loss)
    rewards: torch.Tensor                        # [B] the reward sources' weighted score per sample
    truncated: torch.Tensor                      # [B] bool: stopped by max_new_tokens before an EOS
    entropy: torch.Tensor | None = None          # [B, R] entropy of pi_old's next-token distribution (nats, raw
                                                 # logits), from a pass the step makes anyway; recorded, not trained on


class ExperienceMaker:
    """A scored rollout as an Experience: pi_old, pi_ref, the critic's values, the KL and the advantages
    (algorithms.py's math), on this rank's samples; `gather` joins the ranks' in rank order."""

    def __init__(self, rc, policy, ref, critic, autocast: str | bool, dist, pad_id: int, reuse_generation_logprobs: bool):
        self.rc, self.policy, self.ref, self.critic = rc, policy, ref, critic
        self.autocast, self.dist, self.pad_id = autocast, dist, pad_id
        # pi_old is what generation recorded when the policy takes one optimizer step per rollout (it has not
        # changed since), else recomputed by the training model
        self.reuse_generation_logprobs = reuse_generation_logprobs

    @torch.no_grad()
    def logprobs(self, model, full, attn, P, with_entropy: bool = False):
        """(log pi of the response tokens, their entropy or None): the entropy comes from the same logits."""
        mb, temp = self.rc.rollout.micro_batch_size, self.rc.rollout.temperature
        with self.dist.gathered(model):
            outs = [response_logprobs(model, full[i:i + mb], attn[i:i + mb], P, temp, self.autocast,
                                      entropy="metric" if with_entropy else "no")
                    for i in range(0, full.shape[0], mb)]
        ent = torch.cat([o[1] for o in outs]).float() if with_entropy else None
        return torch.cat([o[0] for o in outs]).float(), ent

    def make(self, rollout, scores: torch.Tensor) -> tuple[Experience, torch.Tensor | None]:
        """(this rank's Experience, the [sum |log pi_sampler - log pi_old|, tokens] of its samples when pi_old
        was recomputed, else None). pi_old's entropy per token comes from the generation pass when its
        log-probs are pi_old, else from the recomputing forward: never an extra forward."""
        algo, n = self.rc.algorithm, self.rc.rollout.n_samples_per_prompt
        full, attn, P, mask, truncated, gen_lp = rollout.as_tuple()
        maskf = mask.float()
        mismatch = None
        if self.reuse_generation_logprobs:
            old_lp, entropy = gen_lp.float() * maskf, rollout.entropy * maskf
        else:
            old_lp, entropy = self.logprobs(self.policy, full, attn, P, with_entropy=True)
            old_lp, entropy = old_lp * maskf, entropy * maskf
            # the sampler's log-probs vs the training model's pi_old (update.py compares them when pi_old is the sampler's)
            mismatch = torch.stack([A.masked_sum((gen_lp - old_lp).abs(), maskf), maskf.sum()]).double()
        ref_lp = self.logprobs(self.ref, full, attn, P)[0] * maskf if self.ref is not None else None
        values = None
        if self.critic is not None:
            with torch.no_grad():
                values = self.critic(full, attn, P, self.autocast).float() * maskf
        kl = algo.kl
        adv = A.compute_advantages(
            algo.estimator, scores, old_lp, ref_lp, maskf, n_samples_per_prompt=n,
            kl_coef=kl.coef, kl_estimator=kl.estimator, kl_in_reward=kl.mode == "reward",
            gamma=algo.gamma, lambd=algo.lambd, reward_clip=tuple(algo.reward_clip),
            std_norm=algo.std_norm, values=values, reduce=self.dist.all_sum if self.dist.enabled else None)
        return Experience(
            sequences=full, attention_mask=attn, action_mask=maskf, prompt_length=P, action_log_probs=old_lp,
            base_action_log_probs=ref_lp, values=values, advantages=adv.advantages, returns=adv.returns,
            token_rewards=adv.token_rewards, kl=adv.kl, rewards=scores, truncated=truncated, entropy=entropy), mismatch

    def gather(self, e: Experience) -> Experience:
        """Every rank's experience, padded to a common prompt and response width, in rank order."""
        d = self.dist
        if not d.enabled:
            return e
        P, R = e.prompt_length, e.action_mask.shape[1]
        left, right = d.all_max(P) - P, d.all_max(R) - R

        def seq(t, value):
            return d.gather_rows(torch.cat([pad_columns(t[:, :P], left, 0, value), pad_columns(t[:, P:], 0, right, value)], 1))

        def resp(t):
            return d.gather_rows(pad_columns(t, 0, right))

        return Experience(sequences=seq(e.sequences, self.pad_id), attention_mask=seq(e.attention_mask, 0),
                          action_mask=resp(e.action_mask), prompt_length=P + left,
                          action_log_probs=resp(e.action_log_probs), base_action_log_probs=resp(e.base_action_log_probs),
                          values=resp(e.values), advantages=resp(e.advantages), returns=resp(e.returns),
                          token_rewards=resp(e.token_rewards), kl=resp(e.kl), rewards=d.gather_rows(e.rewards),
                          truncated=d.gather_rows(e.truncated.to(torch.uint8)).bool(), entropy=resp(e.entropy))


def experience_metrics(exp: Experience, scored, stats: dict, rc, source_names: list[str], device) -> dict:
    """A step's metrics of its global Experience, the reward sources' results and update()'s stats."""
    from .models import peak_memory_mb
    maskf, old_lp, ref_lp, scores = exp.action_mask, exp.action_log_probs, exp.base_action_log_probs, exp.rewards
    B, P, n = scores.shape[0], exp.prompt_length, rc.rollout.n_samples_per_prompt
    kl_cfg = rc.algorithm.kl
    resp_len = maskf.sum(-1)
    prompt_len = exp.attention_mask[:, :P].float().sum(-1)
    kl_seq = A.masked_mean(exp.kl, maskf, -1)  # the KL that went into the reward (kl.mode: reward)
    diff_seq = A.masked_mean(old_lp - ref_lp, maskf, -1) if ref_lp is not None else torch.zeros(B)
    out = {
        "reward_mean": float(scores.mean()), "reward_std": float(scores.std()) if B > 1 else 0.0,
        "return_mean": float(A.masked_sum(exp.token_rewards, maskf, -1).mean()),
        "kl": stats.pop("kl_loss") if kl_cfg.mode == "loss" else float(kl_seq.mean()),
        "logprobs_diff": float(diff_seq.mean()), "kl_coef": kl_cfg.coef,
        "response_length_mean": float(resp_len.mean()), "response_length_max": float(resp_len.max()),
        "total_length_mean": float((resp_len + prompt_len).mean()),
        "truncated_rate": float(exp.truncated.float().mean()),
        "advantage_abs_mean": float(A.masked_mean(exp.advantages.abs(), maskf)),
        "reward_error_rate": sum(1 for e in scored.errors if e) / B,
        "generated_tokens": float(resp_len.sum()),
        "peak_memory_mb": peak_memory_mb(device),
        **stats,
    }
    if n > 1:
        g = scores.reshape(-1, n)
        out["group_reward_std"] = float(g.std(dim=1).mean())
        out["zero_std_group_frac"] = float((g.std(dim=1) == 0).float().mean())
    for name in source_names:
        out[f"reward/{name}"] = float(np.mean([s[name] for s in scored.per_source]))
    for key, vals in scored.extra.items():
        finite = [v for v in vals if v == v]
        if finite:
            out[f"reward/{key}"] = float(np.mean(finite))
    return out


def watched_samples(exp: Experience, n: int) -> dict:
    """The step's truncated samples and the samples of its zero-variance groups, by index (an alert's link)."""
    out = {"truncated": torch.nonzero(exp.truncated).flatten().tolist()}
    if n > 1:
        groups = exp.rewards.reshape(-1, n)
        flat = torch.nonzero(groups.std(dim=1) == 0).flatten().tolist()
        out["zero_variance"] = [g * n + j for g in flat for j in range(n)]
    return out
