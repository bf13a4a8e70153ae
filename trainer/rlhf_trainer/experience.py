"""One rollout batch after scoring, as update(), the metrics and the sample log read it.

Names follow OpenRLHF's Experience. Shapes: B samples (rollout.batch_size x n_samples_per_prompt),
P prompt positions (left-padded), R response positions (right-padded, up to the longest response).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
