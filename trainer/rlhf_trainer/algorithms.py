"""The math of REINFORCE++ and its sibling estimators, as pure torch functions.

Read top to bottom next to the paper (Hu et al., arXiv 2501.03262 v9) and OpenRLHF's reference
implementation (HEAD semantics; the estimator table is in the README). Conventions:

* Arrays are response-only, shape [B, T], right-padded; ``mask`` is 1 on real response tokens.
* Log-prob arrays hold 0 on padded positions.
* Samples of one prompt are consecutive (``n`` per group).
* Everything numeric that the reference computes in float32 is computed in float32 here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

ESTIMATORS = ("reinforce_pp", "reinforce_pp_baseline", "rloo", "grpo", "dr_grpo", "ppo")
GROUPED_ESTIMATORS = ("reinforce_pp_baseline", "rloo", "grpo", "dr_grpo")
WHITENED_ESTIMATORS = ("reinforce_pp", "reinforce_pp_baseline", "ppo")
KL_CLAMP = 10.0
LOG_RATIO_CLAMP = 20.0
VARIANCE_FLOOR = 1e-8
GRPO_STD_EPS = 1e-9


# --------------------------------------------------------------------------------------------
# Masked reductions
# --------------------------------------------------------------------------------------------

def masked_sum(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    return (x * mask).sum() if dim is None else (x * mask).sum(dim=dim)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Token mean over real tokens (over the whole tensor, or per row with dim=-1)."""
    return masked_sum(x, mask, dim) / mask.sum(dim=dim).clamp(min=1)


# --------------------------------------------------------------------------------------------
# Log-probs and entropy from logits
# --------------------------------------------------------------------------------------------

def log_probs_from_logits(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log pi(a_t) with logits divided by the sampling temperature (logits[b, t] predicts tokens[b, t])."""
    scaled = logits.float() / temperature if temperature != 1.0 else logits.float()
    logp = torch.log_softmax(scaled, dim=-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def entropy_from_log_probs(logp: torch.Tensor, probs: torch.Tensor | None = None) -> torch.Tensor:
    """H_t = -sum pi log pi from log pi (log_softmax of the raw logits; `probs`: its exp, when the caller has
    it); a masked token (log pi = -inf) adds 0."""
    return -((logp.exp() if probs is None else probs) * logp).nansum(dim=-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """H_t = logsumexp(z) - sum softmax(z) * z, on the raw logits (before temperature)."""
    z = logits.float()
    return torch.logsumexp(z, dim=-1) - (torch.softmax(z, dim=-1) * z).sum(dim=-1)


# --------------------------------------------------------------------------------------------
# KL estimators (Schulman's k1/k2/k3), d = log pi - log pi_ref, clamped to [-10, 10]
# --------------------------------------------------------------------------------------------

def kl_k1(d: torch.Tensor) -> torch.Tensor:
    return d


def kl_k2(d: torch.Tensor) -> torch.Tensor:
    return d.pow(2) / 2


def kl_k3(d: torch.Tensor) -> torch.Tensor:
    return torch.exp(-d) - 1 + d


_KL = {"k1": kl_k1, "k2": kl_k2, "k3": kl_k3}


def approx_kl(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str = "k1",
              mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-token KL estimate of pi vs pi_ref, float32, clamped, zero on padding."""
    d = logprobs.float() - ref_logprobs.float()
    kl = _KL[estimator](d).clamp(-KL_CLAMP, KL_CLAMP)
    return kl * mask if mask is not None else kl


# --------------------------------------------------------------------------------------------
# Scalar reward shaping per prompt group (before the reward clip, before the KL is added)
# --------------------------------------------------------------------------------------------

def shape_group_scores(scores: torch.Tensor, n: int, estimator: str) -> torch.Tensor:
    """Group baselines: REINFORCE++-baseline / Dr.GRPO (r - mean), RLOO (leave-one-out), GRPO (z-score, ddof 1)."""
    if estimator not in GROUPED_ESTIMATORS:
        return scores
    r = scores.float().reshape(-1, n)
    if estimator in ("reinforce_pp_baseline", "dr_grpo"):
        shaped = r - r.mean(dim=1, keepdim=True)
    elif estimator == "rloo":
        shaped = r - (r.sum(dim=1, keepdim=True) - r) / (n - 1)
    else:  # grpo
        shaped = (r - r.mean(dim=1, keepdim=True)) / (r.std(dim=1, keepdim=True) + GRPO_STD_EPS)
    return shaped.reshape(-1)


# --------------------------------------------------------------------------------------------
# Token rewards, returns (paper Eq. 4) and global normalisation (Eq. 5 / 7)
# --------------------------------------------------------------------------------------------

def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last real token of each row (0 for an empty row)."""
    idx = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return (idx * (mask > 0)).max(dim=1).values


def token_rewards(scores: torch.Tensor, kl: torch.Tensor, beta: float, mask: torch.Tensor) -> torch.Tensor:
    """r[i, t] = -beta * KL[i, t] on every token, plus the (clipped) scalar on the last real token."""
    beta = max(beta, 0.0)
    rewards = -beta * kl * mask
    rows = torch.arange(mask.shape[0], device=mask.device)
    rewards[rows, last_token_index(mask)] += scores.to(rewards.dtype)
    return rewards


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """G[i, t] = r[i, t] * m[i, t] + gamma * G[i, t+1], right to left over the padded row."""
    returns = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0], dtype=rewards.dtype, device=rewards.device)
    for t in reversed(range(rewards.shape[1])):
        running = rewards[:, t] * mask[:, t] + gamma * running
        returns[:, t] = running
    return returns


Reduce = Callable[[torch.Tensor], torch.Tensor]


def _local(t: torch.Tensor) -> torch.Tensor:
    return t  # one process holds the whole batch


@dataclass
class Normalization:
    mean: float
    var: float
    rstd: float
    num_tokens: float


def whiten_global(advantages: torch.Tensor, mask: torch.Tensor, std_norm: bool = True,
                  reduce: Reduce | None = None) -> tuple[torch.Tensor, Normalization]:
    """(A - mu) / sqrt(max(var, 1e-8)) over all real tokens of the rollout batch; var is ddof 0.

    With the batch split over processes, `reduce` sums a tensor over them (an all-reduce): the token
    count, the sum and the squared deviations are global, so mu and var are the whole batch's."""
    a = advantages.float()
    total = reduce or _local
    n = total(mask.sum())
    mean = total((a * mask).sum()) / n
    var = total((((a - mean) ** 2) * mask).sum()) / n
    rstd = torch.rsqrt(var.clamp(min=VARIANCE_FLOOR)) if std_norm else torch.ones_like(var)
    return (a - mean) * rstd, Normalization(float(mean), float(var), float(rstd), float(n))


def gae_advantages(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor,
                   gamma: float = 1.0, lambd: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's generalised advantage estimate with a critic; returns (advantages, value targets)."""
    values = values * mask
    rewards = rewards * mask
    adv = torch.zeros_like(rewards)
    last = torch.zeros(rewards.shape[0], dtype=rewards.dtype, device=rewards.device)
    T = rewards.shape[1]
    for t in reversed(range(T)):
        next_v = values[:, t + 1] if t + 1 < T else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_v - values[:, t]
        last = delta + gamma * lambd * last
        adv[:, t] = last
    return adv, adv + values


@dataclass
class Advantages:
    advantages: torch.Tensor      # [B, T], zero on padding
    returns: torch.Tensor         # [B, T] reward-to-go (value targets for ppo)
    token_rewards: torch.Tensor   # [B, T]
    kl: torch.Tensor              # [B, T] KL that went into the reward (0 with kl.mode = loss)
    shaped_scores: torch.Tensor   # [B]
    clipped_scores: torch.Tensor  # [B]
    gamma: float
    normalization: Normalization | None


def compute_advantages(
    estimator: str,
    scores: torch.Tensor,
    old_logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor | None,
    mask: torch.Tensor,
    *,
    n_samples_per_prompt: int = 1,
    kl_coef: float = 0.01,
    kl_estimator: str = "k1",
    kl_in_reward: bool = True,
    gamma: float = 1.0,
    lambd: float = 0.95,
    reward_clip: tuple[float, float] = (-10.0, 10.0),
    std_norm: bool = True,
    values: torch.Tensor | None = None,
    reduce: Reduce | None = None,
) -> Advantages:
    """One rollout batch, end to end: shaping -> clip -> token rewards -> returns -> whitening.
    `reduce`: see whiten_global (the batch split over processes; grouped shaping needs no exchange, a
    prompt's samples are never split)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; one of {ESTIMATORS}")
    mask = mask.float()
    if estimator in GROUPED_ESTIMATORS:
        gamma = 1.0  # grouped baselines are defined for undiscounted returns
    if kl_in_reward and kl_coef > 0 and ref_logprobs is not None:
        kl = approx_kl(old_logprobs, ref_logprobs, kl_estimator, mask)
    else:
        kl = torch.zeros_like(mask)
    shaped = shape_group_scores(scores.float(), n_samples_per_prompt, estimator)
    clipped = shaped.clamp(reward_clip[0], reward_clip[1])
    rewards = token_rewards(clipped, kl, kl_coef, mask)
    if estimator == "ppo":
        if values is None:
            raise ValueError("ppo needs critic values")
        adv, returns = gae_advantages(rewards, values.float(), mask, gamma, lambd)
    else:
        returns = discounted_returns(rewards, mask, gamma)
        adv = returns.clone()
    norm = None
    if estimator in WHITENED_ESTIMATORS:
        adv, norm = whiten_global(adv, mask, std_norm, reduce)
    return Advantages(adv * mask, returns, rewards, kl, shaped, clipped, gamma, norm)


# --------------------------------------------------------------------------------------------
# PPO-clip surrogate (paper Eq. 2 / 9) and loss aggregation
# --------------------------------------------------------------------------------------------

def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    eps_low: float = 0.2,
    eps_high: float | None = None,
    dual_clip: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token loss -min(rho*A, clip(rho, 1-eps_low, 1+eps_high)*A) and the 'clip binds' mask.

    rho = exp(clamp(log pi - log pi_old, -20, 20)). With dual_clip c > 1, tokens with A < 0 use
    -max(min(s1, s2), c*A).
    """
    eps_high = eps_low if eps_high is None else eps_high
    ratio = torch.exp((logprobs - old_logprobs).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    s1 = ratio * advantages
    s2 = ratio.clamp(1 - eps_low, 1 + eps_high) * advantages
    surrogate = torch.min(s1, s2)
    if dual_clip is not None:
        if dual_clip <= 1:
            raise ValueError("dual_clip must be > 1")
        surrogate = torch.where(advantages < 0, torch.max(surrogate, dual_clip * advantages), surrogate)
    return -surrogate, (s2 < s1)


def aggregate_token_mean(per_token: torch.Tensor, mask: torch.Tensor, num_tokens: float | torch.Tensor) -> torch.Tensor:
    """Sum over this micro-batch's real tokens divided by the token count of the whole optimizer step."""
    return masked_sum(per_token, mask) / num_tokens


def aggregate_sequence_mean(per_token: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """v0.5-style aggregation: mean over sequences of each sequence's token mean (paper reproduction)."""
    return masked_mean(per_token, mask, dim=-1).mean()


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip: float = 0.2) -> torch.Tensor:
    """Clipped critic loss 0.5 * max((V - R)^2, (clip(V) - R)^2), per token."""
    clipped = old_values + (values - old_values).clamp(-clip, clip)
    return 0.5 * torch.max((values - returns) ** 2, (clipped - returns) ** 2)
