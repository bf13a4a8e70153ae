"""N training processes under torchrun: the process group, which rank does what, and the few collectives.

How the work is split (the same answer for any N, so a run's numbers do not depend on N):

* rollout: each rank takes a contiguous 1/N of the step's prompts (whole prompt groups) and generates,
  scores and computes log-probs, values and advantages for them; sampling is seeded per global sample
  (sampling.py), so rank r draws exactly what one process would draw for those samples;
* REINFORCE++'s whitening all-reduces its sums and token counts (algorithms.whiten_global's `reduce`);
* the finished experience (token ids, masks and a few floats per token) is all-gathered, so every rank
  sees the global batch: each optimizer mini-batch is the same global set of samples for any N and each
  rank runs forward/backward on its 1/N of it; losses are divided by the global token (or sequence)
  count, and DDP's gradient mean is turned back into that sum;
* rank 0 alone writes the run folder (events, status, samples, checkpoints) and reads stdin; its
  stop/save flags are broadcast once per step.

Launch (one machine, N processes; --standalone picks a free local rendezvous port):

    python -m torch.distributed.run --standalone --nproc-per-node N -m rlhf_trainer run --config C --run-dir D

Several machines: the same command on each, with --standalone replaced by torchrun's rendezvous flags
--nnodes M --node-rank I --rdzv-backend c10d --rdzv-endpoint HOST:PORT --rdzv-id RUN_NAME; the model,
prompts, config and any --resume checkpoint must be at the same paths on every machine; the run folder
fills on rank 0's machine (the other ranks write nothing there but their own trainer.log).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


def env_rank() -> int:
    """This process's rank as torchrun sets it (0 when not launched by torchrun)."""
    return int(os.environ.get("RANK", "0"))


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    comm_device: torch.device | None = None  # where collective tensors live (CUDA for NCCL)

    @classmethod
    def from_env(cls) -> Dist:
        return cls(env_rank(), env_world_size(), int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """Rank r of a node uses GPU r (LOCAL_RANK); on CPU every rank shares the CPU."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.enabled else device

    def init(self, device: torch.device):
        """gloo on CPU, NCCL on GPU; the rendezvous comes from torchrun's environment (MASTER_ADDR/PORT)."""
        if not self.enabled or dist.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        self.comm_device = device

    def close(self):
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()

    # ---- sharding ------------------------------------------------------------------------------
    def check_divisible(self, what: str, value: int):
        if value % self.world_size:
            raise ValueError(f"{what} {value} is not a multiple of the {self.world_size} training processes; "
                             f"set it to a multiple of {self.world_size} or start {self._fits(value)} processes")

    def _fits(self, value: int) -> str:
        fits = [n for n in range(1, self.world_size) if value % n == 0]
        return f"{fits[-1]}" if fits else "1"

    def shard(self, items: list) -> tuple[list, int]:
        """This rank's contiguous share of `items` and the global index of its first item."""
        per = len(items) // self.world_size
        return items[self.rank * per:(self.rank + 1) * per], self.rank * per

    # ---- collectives (identities with one process) --------------------------------------------
    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        """The sum of `t` over ranks (a new tensor; `t` is left alone)."""
        if not self.enabled:
            return t
        out = t.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def all_max(self, value: int) -> int:
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.long, device=self.comm_device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return int(t)

    def gather_rows(self, t: torch.Tensor | None) -> torch.Tensor | None:
        """Concatenates every rank's rows in rank order (every rank must pass the same shape)."""
        if t is None or not self.enabled:
            return t
        parts = [torch.empty_like(t) for _ in range(self.world_size)]
        dist.all_gather(parts, t.contiguous())
        return torch.cat(parts)

    def gather_objects(self, obj) -> list:
        """Every rank's `obj` (picklable), in rank order."""
        if not self.enabled:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast_flags(self, *flags: bool) -> list[bool]:
        """Rank 0's flags on every rank (stop and save requests reach rank 0 only)."""
        if not self.enabled:
            return list(flags)
        t = torch.tensor([int(f) for f in flags], dtype=torch.long, device=self.comm_device)
        dist.broadcast(t, src=0)
        return [bool(x) for x in t.tolist()]

    def barrier(self):
        if self.enabled:
            dist.barrier()

    # ---- models --------------------------------------------------------------------------------
    def wrap(self, model: torch.nn.Module, strategy: str, find_unused: bool = False) -> torch.nn.Module:
        """The module the training forward/backward goes through; the raw module stays what generates,
        computes no-grad log-probs and is saved."""
        if not self.enabled:
            return model
        if strategy != "ddp":
            raise ValueError(f"train.strategy: {strategy} is not available in this version; set train.strategy: ddp")
        from torch.nn.parallel import DistributedDataParallel
        ids = [self.local_rank] if next(model.parameters()).device.type == "cuda" else None
        # buffers (rotary tables) are computed, not learned: nothing to sync before every forward
        return DistributedDataParallel(model, device_ids=ids, forward_sync_buffers=False,
                                       find_unused_parameters=find_unused)

    def accumulating(self, *wrapped: torch.nn.Module, sync: bool):
        """Skips DDP's gradient all-reduce on every micro-batch but the last of an optimizer step."""
        stack = contextlib.ExitStack()
        if self.enabled and not sync:
            for m in wrapped:
                if hasattr(m, "no_sync"):
                    stack.enter_context(m.no_sync())
        return stack


def pad_columns(t: torch.Tensor | None, left: int, right: int, value=0) -> torch.Tensor | None:
    """`t` with `left` columns of `value` before and `right` after (to a common width before a gather)."""
    if t is None or (left == 0 and right == 0):
        return t
    return torch.nn.functional.pad(t, (left, right), value=value)
