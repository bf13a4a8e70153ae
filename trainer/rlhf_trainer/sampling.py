"""Rollout sampling that depends on (seed, step, global sample index) only.

A library sampler draws every row from one global generator, so a sample depends on the batch it was
generated in: with N ranks each generating 1/N of the batch, the samples would change with N. Here the
noise is one uniform per row, a counter-based hash of (the sample's key, its position), computed for the
whole batch in one pass of elementwise integer ops (no generator, no per-sample loop), and the token is
drawn by inverting the cumulative softmax at it: an exact draw from softmax(z). The same
pass records log pi(token) under the full softmax at the temperature (pi_old when the policy has not
changed since generation, see Trainer.reuse_generation_logprobs) and the entropy of the raw logits.
"""

from __future__ import annotations

import torch

_MIX = (1 << 61) - 1  # a Mersenne prime: seeds for neighbouring samples land far apart
_M32 = 0xFFFFFFFF


def sample_seed(seed: int, step: int, index: int) -> int:
    """The noise key of global sample `index` of global step `step`."""
    return ((seed * 1_000_003 + step) * 998_244_353 + index * 1_000_000_007 + 12345) % _MIX


def _fmix32(h: torch.Tensor) -> torch.Tensor:
    """murmur3's 32-bit finaliser on int64 tensors holding values in [0, 2^32): every bit of the input
    reaches every bit of the output. Products wrap in int64; only their low 32 bits are kept."""
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & _M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def uniform_noise(keys: torch.Tensor, position: int) -> torch.Tensor:
    """[B] float64 uniform in (0, 1) with 53 random bits; row b is a function of (keys[b], position) alone."""
    k = keys.to(torch.int64)
    h1 = _fmix32(((k & _M32) ^ _fmix32((k >> 32) & _M32)) ^ ((position * 0x9E3779B1) & _M32))
    h2 = _fmix32(h1 ^ 0x68E31DA4)
    bits = (h1 << 21) | (h2 >> 11)  # 32 + 21 bits
    return (bits.double() + 0.5) * (1.0 / (1 << 53))


def make_warpers(top_k: int | None, top_p: float) -> list:
    """The warpers generate(do_sample=True) would apply after the temperature, in its order."""
    from transformers import TopKLogitsWarper, TopPLogitsWarper
    return ([TopKLogitsWarper(top_k)] if top_k else []) + ([TopPLogitsWarper(top_p)] if top_p < 1 else [])


def draw(logits: torch.Tensor, keys: torch.Tensor | None, position: int, temperature: float, warpers: list):
    """One decode position for a batch: (token [B], log pi(token) at the temperature [B], raw entropy [B]).
    keys None: greedy (argmax of the raw logits), log-probs still at the temperature.

    A sampled token is the inverse CDF of the warped softmax at one counter-based uniform per row: the first
    token whose cumulative probability (float64, in vocabulary order) exceeds u * total. An exact draw from
    that distribution, for the cost of one softmax and one cumulative sum over the vocabulary."""
    z = logits.float()
    from .algorithms import entropy_from_log_probs
    raw = torch.log_softmax(z, dim=-1)
    p_raw = raw.exp()
    entropy = entropy_from_log_probs(raw, p_raw)  # H of the raw logits, from the softmax computed once here
    scaled = z / temperature if temperature != 1.0 else z  # as algorithms.log_probs_from_logits scales them
    logp_all = torch.log_softmax(scaled, dim=-1) if temperature != 1.0 else raw
    if keys is None:
        token = z.argmax(-1)
    else:
        warped = scaled
        for warp in warpers:
            warped = warp(None, warped)
        probs = torch.softmax(warped, dim=-1) if warpers or temperature != 1.0 else p_raw
        cdf = probs.double().cumsum(-1)
        u = uniform_noise(keys, position) * cdf[:, -1]
        token = torch.searchsorted(cdf, u[:, None], right=True).squeeze(-1).clamp_(max=z.shape[-1] - 1)
    logp = logp_all.gather(-1, token[:, None]).squeeze(-1)
    return token, logp, entropy


class CounterSampler:
    """A logits processor for greedy generate() (the hf engine): draws each row's token with draw(), records
    its log-prob and the raw entropy, and leaves generate() a distribution that is all on that token."""

    def __init__(self, seeds: list[int] | None, device: torch.device, temperature: float, top_k: int | None,
                 top_p: float):
        self.keys = None if seeds is None else torch.tensor(seeds, dtype=torch.int64, device=device)
        self.temperature = temperature
        self.warpers = make_warpers(top_k, top_p)
        self.logprobs: list[torch.Tensor] = []  # one [B] tensor per generated position
        self.entropy: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        token, logp, ent = draw(scores, self.keys, len(self.logprobs), self.temperature, self.warpers)
        self.logprobs.append(logp)
        self.entropy.append(ent)
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(-1, token[:, None], 0.0)


def stack_positions(steps: list[torch.Tensor], rows: int, width: int) -> torch.Tensor:
    """[rows, width] from one [rows] tensor per generated position (positions past the last are 0)."""
    t = torch.stack(steps, dim=1) if steps else torch.zeros(rows, 0)
    return t[:, :width] if t.shape[1] >= width else torch.nn.functional.pad(t, (0, width - t.shape[1]))
