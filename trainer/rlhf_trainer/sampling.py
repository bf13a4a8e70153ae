"""Rollout sampling that depends on (seed, step, global sample index) only.

generate()'s own sampler draws every row from one global generator, so a sample depends on the batch it
was generated in: with N ranks each generating 1/N of the batch, the samples would change with N.
Here each row has its own generator, and its token is drawn by the Gumbel-max trick: argmax(z - log E)
with E ~ Exp(1) is an exact draw from softmax(z). generate() then runs greedy on a distribution that is
all on the chosen token. The same pass records log pi(token) under the full softmax at the temperature,
which is pi_old when the policy has not changed since generation (see Trainer.pi_old_from_generation).
"""

from __future__ import annotations

import torch

_MIX = (1 << 61) - 1  # a Mersenne prime: seeds for neighbouring samples land far apart


def sample_seed(seed: int, step: int, index: int) -> int:
    """The generator seed of global sample `index` of global step `step`."""
    return ((seed * 1_000_003 + step) * 998_244_353 + index * 1_000_000_007 + 12345) % _MIX


class SeededSampler:
    """A logits processor for greedy generate(): picks each row's token with that row's generator."""

    def __init__(self, seeds: list[int], device: torch.device, temperature: float, top_k: int | None,
                 top_p: float):
        from transformers import TopKLogitsWarper, TopPLogitsWarper
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.temperature = temperature
        # the same warpers, in the same order (after the temperature), as generate(do_sample=True) applies
        self.warpers = ([TopKLogitsWarper(top_k)] if top_k else []) + ([TopPLogitsWarper(top_p)] if top_p < 1 else [])
        self.logprobs: list[torch.Tensor] = []  # one [B] tensor per generated position

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        z = scores.float()
        if self.temperature != 1.0:
            z = z / self.temperature  # as algorithms.log_probs_from_logits scales them
        warped = z
        for warp in self.warpers:
            warped = warp(input_ids, warped)
        vocab = z.shape[-1]
        # one Exp(1) vector per row and position from the row's generator, whatever the batch holds
        noise = torch.stack([torch.empty(vocab, device=z.device).exponential_(generator=g) for g in self.generators])
        token = torch.argmax(warped - noise.log(), dim=-1, keepdim=True)
        self.logprobs.append(torch.log_softmax(z, dim=-1).gather(-1, token).squeeze(-1))
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(-1, token, 0.0)

    def response_logprobs(self, width: int) -> torch.Tensor:
        """[B, width] log pi of the generated tokens (positions past the last generated one are 0)."""
        lp = torch.stack(self.logprobs, dim=1) if self.logprobs else torch.zeros(len(self.generators), 0)
        if lp.shape[1] >= width:
            return lp[:, :width]
        return torch.nn.functional.pad(lp, (0, width - lp.shape[1]))
