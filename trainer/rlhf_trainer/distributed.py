"""N training processes under torchrun: the process group, which rank does what, and the few collectives.

How the work is split (the same answer for any N, so a run's numbers do not depend on N):

* rollout: each rank takes a contiguous 1/N of the step's prompts (whole prompt groups) and generates,
  scores and computes log-probs, values and advantages for them; sampling is seeded per global sample
  (sampling.py), so rank r draws exactly what one process would draw for those samples;
* REINFORCE++'s whitening all-reduces its sums and token counts (algorithms.whiten_global's `reduce`);
* the finished experience (token ids, masks and a few floats per token) is all-gathered, so every rank
  sees the global batch: each optimizer mini-batch is the same global set of samples for any N and each
  rank runs forward/backward on its 1/N of it; losses are divided by the global token (or sequence)
  count, and the gradient mean of DDP (all-reduce) or FSDP2 (reduce-scatter) is turned back into that sum;
* rank 0 alone writes the run folder (events, status, samples, checkpoints) and reads stdin; its
  stop/save flags are broadcast once per step.

The two strategies (train.strategy):

* ddp: every rank holds the whole policy (and critic) and its optimizer state; gradients are all-reduced.
* fsdp2: the policy and the critic are sharded in place with torch's fully_shard, one unit per transformer
  block (the model's `_no_split_modules` classes) plus the root: each rank holds 1/N of every parameter,
  gradient and optimizer state. A training forward all-gathers a block's parameters before it runs and frees
  them after. Generation, the no-grad log-prob passes and evaluation run inside `gathered`: every rank
  all-gathers the full parameters once, then forwards need no collective, so ranks may generate different
  lengths and rank 0 may evaluate alone. The reference model is never trained: it stays whole (unsharded)
  on every rank. Checkpoints are consolidated (`full_state`: every rank takes part, rank 0 writes the files
  one process writes), and a checkpoint of any strategy and N is cut back to shards on load (`shard_*`).
  Mixed precision is the trainer's own bf16 autocast on CUDA, the same for every strategy: parameters,
  gathers and gradient reductions stay fp32.

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
from torch.distributed.tensor import DTensor


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
    strategy: str = "ddp"  # train.strategy, set by wrap()
    _gathered: int = 0  # depth of nested `gathered` blocks (only the outermost gathers and reshards)

    @classmethod
    def from_env(cls) -> Dist:
        return cls(env_rank(), env_world_size(), int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def sharded(self) -> bool:
        """Whether models and optimizer state are sharded over the ranks (fsdp2 with several processes)."""
        return self.enabled and self.strategy == "fsdp2"

    def device(self, device: torch.device) -> torch.device:
        """Rank r of a node uses GPU r (LOCAL_RANK); on CPU every rank shares the CPU."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.enabled else device

    def init(self, device: torch.device):
        """gloo on CPU, NCCL on GPU; the rendezvous comes from torchrun's environment (MASTER_ADDR/PORT). A process
        group that exists already (Ray Train's, set up before the trainer runs) is used as it is."""
        if not self.enabled:
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if not dist.is_initialized():
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
        """The module the training forward/backward goes through. ddp: a DistributedDataParallel around the
        raw module, which stays what generates, computes no-grad log-probs and is saved. fsdp2: the model
        itself, sharded in place (its optimizer must be created after this: the parameters become DTensors)."""
        if not self.enabled:
            return model
        self.strategy = strategy
        if strategy == "fsdp2":
            return fully_shard_blocks(model)
        from torch.nn.parallel import DistributedDataParallel
        ids = [self.local_rank] if next(model.parameters()).device.type == "cuda" else None
        # buffers (rotary tables) are computed, not learned: nothing to sync before every forward
        return DistributedDataParallel(model, device_ids=ids, forward_sync_buffers=False,
                                       find_unused_parameters=find_unused)

    def accumulating(self, *wrapped: torch.nn.Module, sync: bool):
        """Skips DDP's gradient all-reduce on every micro-batch but the last of an optimizer step. FSDP2
        reduce-scatters every micro-batch's gradients (skipping it would keep whole gradients on every rank)."""
        stack = contextlib.ExitStack()
        if self.enabled and not sync:
            for m in wrapped:
                if hasattr(m, "no_sync"):
                    stack.enter_context(m.no_sync())
        return stack

    @contextlib.contextmanager
    def gathered(self, *models: torch.nn.Module | None):
        """Full parameters of sharded `models` on every rank while the block runs: each unit is all-gathered
        once on entry (a collective: every rank must enter) and kept after forwards, so forwards inside need no
        collective (ranks may run different numbers of them); resharded on exit. Re-entrant; a no-op for ddp
        and one process."""
        from torch.distributed.fsdp import FSDPModule
        roots = [m for m in models if isinstance(m, FSDPModule)] if self.sharded and not self._gathered else []
        units = [u for root in roots for u in root.modules() if isinstance(u, FSDPModule)]
        for u in units:
            u.unshard()
            u.set_reshard_after_forward(False, recurse=False)
        self._gathered += 1
        try:
            yield
        finally:
            self._gathered -= 1
            for u in units:
                u.reshard()
                # FSDP2's defaults: blocks free their parameters after forward, the root keeps them for backward
                u.set_reshard_after_forward(u not in roots, recurse=False)

    def clip_grad_norm(self, params, max_norm: float) -> torch.Tensor:
        """clip_grad_norm_ that returns the global norm as a plain tensor, the same on every rank (with
        sharded gradients torch returns it as a DTensor)."""
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        return norm.full_tensor() if isinstance(norm, DTensor) else norm

    # ---- consolidated state (checkpoints) --------------------------------------------------------
    def full_state(self, state):
        """`state` (a state_dict, nested) with every sharded tensor gathered whole, as one process holds it.
        A collective with fsdp2: every rank calls it, tensor by tensor; rank 0 gets CPU copies, the others
        None. A tensor shared under two keys (tied embeddings) stays one tensor. Identity when not sharded."""
        if not self.sharded:
            return state
        done: dict[int, torch.Tensor] = {}

        def whole(t):
            if isinstance(t, DTensor):
                if id(t) not in done:  # every rank skips the same repeats: the gathers stay matched
                    whole_t = t.full_tensor()
                    done[id(t)] = whole_t.detach().cpu() if self.is_main else None
                return done[id(t)]
            return t.detach().cpu() if isinstance(t, torch.Tensor) else t

        out = map_tensors(state, whole)
        return out if self.is_main else None

    def shard_module_state(self, module: torch.nn.Module, full: dict) -> dict:
        """A whole state_dict (a checkpoint's) cut to `module`'s shards, for module.load_state_dict. Every rank
        holds the whole tensors, so each cuts its own shard without communication."""
        if not self.sharded:
            return full
        own = module.state_dict(keep_vars=True)
        return {k: shard_as(v, own.get(k)) for k, v in full.items()}

    def shard_optimizer_state(self, optimizer: torch.optim.Optimizer, full: dict) -> dict:
        """A whole optimizer state_dict cut to the shards of the optimizer's (DTensor) parameters, for
        optimizer.load_state_dict (which would otherwise keep whole moments next to sharded parameters)."""
        if not self.sharded:
            return full
        params = [p for g in optimizer.param_groups for p in g["params"]]
        def moment(k, v, p):  # per-element state (Adam's moments) is sharded like its parameter; "step" is not
            return shard_as(v, p) if k != "step" and isinstance(v, torch.Tensor) and v.shape == p.shape else v
        state = {i: {k: moment(k, v, params[i]) for k, v in s.items()} for i, s in full["state"].items()}
        return {**full, "state": state}


def fully_shard_blocks(model: torch.nn.Module) -> torch.nn.Module:
    """fully_shard on every transformer block (the classes transformers names in `_no_split_modules`, as
    accelerate's FSDP wrapping does), then on the root for what is left (embeddings, final norm, heads). The
    model object stays the same, so generate() and save_pretrained() still find it."""
    from torch.distributed.fsdp import fully_shard
    names = {n for m in model.modules() for n in (getattr(m, "_no_split_modules", None) or [])}
    blocks = [m for m in model.modules() if type(m).__name__ in names]
    for block in blocks:
        fully_shard(block)
    fully_shard(model)
    return model


def shard_as(value, like):
    """`value` (a whole tensor) as a DTensor sharded like `like`; unchanged when `like` is not a DTensor."""
    if not isinstance(like, DTensor) or not isinstance(value, torch.Tensor):
        return value
    from torch.distributed.tensor import distribute_tensor
    # src_data_rank None: every rank cuts its shard from its own copy (they are the same), no scatter
    return distribute_tensor(value.to(like.device, like.dtype), like.device_mesh, like.placements, src_data_rank=None)


def map_tensors(obj, fn):
    """`obj` (nested dicts, lists and tuples) with fn applied to every tensor, in a fixed (insertion) order."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_tensors(v, fn) for v in obj)
    return obj


def pad_columns(t: torch.Tensor | None, left: int, right: int, value=0) -> torch.Tensor | None:
    """`t` with `left` columns of `value` before and `right` after (to a common width before a gather)."""
    if t is None or (left == 0 and right == 0):
        return t
    return torch.nn.functional.pad(t, (left, right), value=value)
