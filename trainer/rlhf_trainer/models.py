"""The models a policy run trains with: device, policy (plain or LoRA), KL reference, ppo critic,
optimizers and the LR schedule, and small facts about them (dropout, peak memory, device name).

Nothing here reads the run folder or the event stream; the trainer decides when each is built.
"""

from __future__ import annotations

import math
import resource
import sys
from dataclasses import dataclass

import torch

from .runconfig import RunConfig
from .update import mixed_precision

LR_SCHEDULE = "cosine_with_min_lr"  # transformers' schedule, as OpenRLHF uses it
LEGACY_LR_SCHEDULE = "legacy_cosine"  # checkpoints written before LR_SCHEDULE keep theirs when resumed


def pick_device(device: str) -> torch.device:
    """The config's `device` (auto, cuda or cpu) as a torch device."""
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was requested but torch sees no CUDA device; set device: auto or cpu")
    return torch.device("cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu")


class Critic(torch.nn.Module):
    """Value model for the ppo baseline: the policy's backbone with a scalar head."""

    def __init__(self, causal_lm):
        super().__init__()
        self.lm = causal_lm
        self.head = torch.nn.Linear(causal_lm.config.hidden_size, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, ids, attn, prompt_len: int, autocast: bool):
        pos = (attn.cumsum(-1) - 1).clamp(min=0)
        with mixed_precision(autocast):
            # the backbone's last hidden state (after the final norm), without the LM head's vocab logits
            h = self.lm.base_model(input_ids=ids, attention_mask=attn, position_ids=pos).last_hidden_state
        return self.head(h[:, prompt_len - 1: -1].float()).squeeze(-1)


@dataclass
class Models:
    policy: torch.nn.Module
    ref: object | None            # None when kl.coef is 0; a ReferenceView (LoRA's base) or a frozen copy
    critic: Critic | None         # ppo only


def load_models(rc: RunConfig, load_from: str, reference_path: str, device: torch.device, on_reference=None) -> Models:
    """The policy from `load_from` (the model folder or a checkpoint), the KL reference from `reference_path`
    (with LoRA and no model.reference: the policy with its adapters off, no copy) and the ppo critic."""
    from transformers import AutoModelForCausalLM

    from .lora import ReferenceView, load_policy
    mcfg = rc.model
    kw = {"trust_remote_code": mcfg.trust_remote_code}
    policy = load_policy(load_from, mcfg.policy, mcfg.lora, **kw).to(device)
    if mcfg.gradient_checkpointing and device.type == "cuda":
        policy.gradient_checkpointing_enable()
    policy.config.use_cache = True
    if on_reference is not None:
        on_reference()
    ref = None
    if rc.algorithm.kl.coef > 0 and mcfg.lora and not mcfg.reference:
        ref = ReferenceView(policy)  # the initial policy is the base: the adapters off, no copy
    elif rc.algorithm.kl.coef > 0:
        ref = AutoModelForCausalLM.from_pretrained(reference_path, dtype=torch.float32, **kw).to(device)
        ref.eval().requires_grad_(False)
    critic = None
    if rc.algorithm.estimator == "ppo":
        critic = Critic(AutoModelForCausalLM.from_pretrained(mcfg.policy, dtype=torch.float32, **kw)).to(device)
    return Models(policy, ref, critic)


def make_optimizers(rc: RunConfig, policy, critic, fused: bool):
    """(policy AdamW, critic AdamW or None); fused on CUDA: one kernel for all parameters."""
    tr = rc.train
    opt = torch.optim.AdamW(policy.parameters(), lr=tr.lr, betas=tuple(tr.adam_betas), eps=1e-8,
                            weight_decay=tr.weight_decay, fused=fused)
    critic_opt = torch.optim.AdamW(critic.parameters(), lr=tr.critic_lr, betas=(0.9, 0.95)) if critic is not None else None
    return opt, critic_opt


def make_scheduler(optimizer, total: int, warmup_ratio: float, min_ratio: float, kind: str = LR_SCHEDULE):
    """Linear warmup over ceil(total x warmup_ratio) optimizer steps (OpenRLHF's
    math.ceil(max_steps * lr_warmup_ratio)), then cosine down to lr x min_ratio at `total`."""
    warm = math.ceil(warmup_ratio * total)
    if kind == LEGACY_LR_SCHEDULE:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, legacy_lr_lambda(total, warm, min_ratio))
    from transformers import get_cosine_with_min_lr_schedule_with_warmup
    return get_cosine_with_min_lr_schedule_with_warmup(optimizer, warm, total, min_lr_rate=min_ratio)


def legacy_lr_lambda(total: int, warm: int, min_ratio: float):
    """The schedule before LR_SCHEDULE: its warmup ran one step ahead (lr x 1/warm at the first step)."""
    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min((step - warm) / max(1, total - warm), 1.0)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return f


def apply_optimizer_config(rc: RunConfig, optimizer, scheduler, critic_opt, fused: bool):
    """After restoring optimizer and scheduler state, the config's hyperparameters hold (a changed
    lr, betas, weight decay or schedule length is applied, never kept from the checkpoint)."""
    tr = rc.train
    groups = optimizer.param_groups
    for g in groups:
        g.update(betas=tuple(tr.adam_betas), weight_decay=tr.weight_decay, initial_lr=tr.lr, fused=fused)
    scheduler.base_lrs = [tr.lr] * len(groups)
    for g, base, lam in zip(groups, scheduler.base_lrs, scheduler.lr_lambdas):
        g["lr"] = base * lam(scheduler.last_epoch)  # the lr of the next optimizer step, on the current schedule
    scheduler._last_lr = [g["lr"] for g in groups]
    if critic_opt is not None:
        for g in critic_opt.param_groups:
            g["lr"] = tr.critic_lr


def has_dropout(model) -> bool:
    """Whether the model's config turns on any dropout (then train-mode log-probs differ from eval-mode ones)."""
    return any(isinstance(v, float) and v > 0 and ("dropout" in k or "pdrop" in k)
               for k, v in model.config.to_dict().items())


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu ({torch.get_num_threads()} threads)"


def versions() -> dict:
    import transformers

    from . import __version__
    return {"rlhf_trainer": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": sys.version.split()[0]}
