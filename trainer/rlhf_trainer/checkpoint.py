"""Checkpoint folders that are always whole, and a trainer state that loads without pickle.

A checkpoint is written to ``checkpoints/.tmp-step-N``, every file and the folder are fsynced, a
``COMPLETE`` marker is written last, and the folder is renamed to ``step-N``. Removing one (pruning,
or overwriting a step saved twice) first renames it to ``.tmp-del-…``: a rename is atomic, so a
kill at any point leaves either a whole ``step-N`` or a ``.tmp-*`` folder, and every ``.tmp-*``
folder is deleted when a trainer next opens the run folder.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
from pathlib import Path

import numpy as np
import torch

from .names import COMPLETE  # noqa: E402, F401  (re-exported: checkpoint.COMPLETE)

STATE_FILE = "trainer_state.pt"
KEEP = "KEEP"  # written by the user (Checkpoints view: Keep): such a checkpoint is never pruned
TMP_PREFIX = ".tmp-"


_crash_hits: dict[str, int] = {}


def crash_point(name: str):
    """Test hook: RLHF_TEST_CRASH_AT=name (or name:N, the Nth time it is reached) makes the trainer
    SIGKILL itself there, so tests see exactly what a kill at that point leaves behind."""
    want, _, nth = os.environ.get("RLHF_TEST_CRASH_AT", "").partition(":")
    if want != name:
        return
    _crash_hits[name] = _crash_hits.get(name, 0) + 1
    if _crash_hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_path(path: Path):
    """fsync a file or a folder (a folder's fsync makes the names in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path):
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fsync_path(Path(dirpath) / name)
        fsync_path(Path(dirpath))


def remove_stale(checkpoints: Path):
    """Deletes the .tmp-* folders a killed trainer left behind (half-written or half-deleted)."""
    for p in checkpoints.glob(TMP_PREFIX + "*"):
        shutil.rmtree(p, ignore_errors=True)


def _discard(folder: Path):
    """Atomically takes a checkpoint out of the listing, then deletes it."""
    trash = folder.with_name(f"{TMP_PREFIX}del-{folder.name}-{os.getpid()}")
    os.replace(folder, trash)
    fsync_path(folder.parent)
    crash_point("prune")
    shutil.rmtree(trash, ignore_errors=True)


def begin(checkpoints: Path, step: int) -> Path:
    tmp = checkpoints / f"{TMP_PREFIX}step-{step:06d}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def commit(tmp: Path, final: Path) -> Path:
    """Makes a fully written tmp folder the checkpoint `final`, durably and atomically."""
    (tmp / COMPLETE).write_text(final.name)
    fsync_tree(tmp)
    crash_point("checkpoint_commit")
    if final.exists():
        _discard(final)
    os.replace(tmp, final)
    fsync_path(final.parent)
    return final


def complete(checkpoints: Path) -> list[Path]:
    """Complete checkpoints, oldest first (half-written ones have no COMPLETE marker)."""
    return sorted(p for p in checkpoints.glob("step-*") if (p / COMPLETE).exists())


def prune(checkpoints: Path, keep_last: int):
    """Removes all but the newest keep_last checkpoints; kept ones (KEEP marker) are neither removed
    nor counted, so keeping one never costs a periodic checkpoint its place."""
    for p in [c for c in complete(checkpoints) if not (c / KEEP).exists()][:-keep_last]:
        _discard(p)


# ---- trainer state without pickle --------------------------------------------------------------
# torch.load(weights_only=True) accepts tensors and plain containers of str/int/float/bool/None, so
# the RNG states are stored as tensors and lists instead of numpy arrays and Python tuples.

def rng_state() -> dict:
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(),
             "python": {"version": version, "internal": list(internal), "gauss_next": gauss},
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict):
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(state: dict, folder: Path):
    # through a Python file object, so that a full disk surfaces as OSError ENOSPC in the exception
    # chain rather than only as torch's "unexpected pos" from its C++ writer
    with open(folder / STATE_FILE, "wb") as f:
        torch.save(state, f)
    crash_point("checkpoint_write")


def load_state(folder: Path) -> dict:
    if not (folder / STATE_FILE).is_file() or not (folder / COMPLETE).is_file():
        raise ValueError(f"{folder} is not a complete checkpoint (no {STATE_FILE} or {COMPLETE} marker)")
    return torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)


# ---- what trainer_state.pt holds ---------------------------------------------------------------

def consolidated(dist, policy, optimizer, critic=None, critic_opt=None) -> dict:
    """With fsdp2 (sharded weights and optimizer state): the whole states one process would hold, under
    the keys model / optimizer / critic / critic_optimizer. A collective: every rank calls it, rank 0 gets
    the tensors. {} when nothing is sharded: the writer then reads the objects themselves, as before."""
    if not dist.sharded:
        return {}
    # keep_vars: tied parameters stay one object, so they stay one tensor (save_pretrained drops the tied key)
    out = {"model": dist.full_state(policy.state_dict(keep_vars=True)),
           "optimizer": dist.full_state(optimizer.state_dict())}
    if critic is not None:
        out["critic"] = dist.full_state(critic.state_dict(keep_vars=True))
        out["critic_optimizer"] = dist.full_state(critic_opt.state_dict())
    return out


def training_state(step: int, samples_seen: int, steps_per_episode: int, rollout_batch_size: int, optimizer,
                   scheduler, lr_schedule: str, critic=None, critic_opt=None, whole: dict | None = None,
                   **extra) -> dict:
    """Everything a resume needs beyond the weights: optimizer and LR schedule, RNG, step and data position
    (`whole`: consolidated()'s states, used instead of the objects' own; `extra`: reference_path,
    version, recorded as they are)."""
    whole = whole or {}

    def own(key, obj):
        return whole[key] if key in whole else obj.state_dict()

    state = {"step": step, "samples_seen": samples_seen, "optimizer": own("optimizer", optimizer),
             "scheduler": scheduler.state_dict(), "lr_schedule": lr_schedule, "rng": rng_state(),
             "episode": step // steps_per_episode, "data_position": step % steps_per_episode,
             "consumed_prompts": step * rollout_batch_size, **extra}
    if critic is not None:
        state["critic"] = own("critic", critic)
        state["critic_optimizer"] = own("critic_optimizer", critic_opt)
    return state


def restore_training_state(state: dict, optimizer, scheduler, critic=None, critic_opt=None,
                           dist=None) -> tuple[int, int]:
    """Loads optimizer, scheduler and critic state in place; returns (step, samples_seen). The RNG is
    restored separately (set_rng_state), as the last thing before training. `dist` (fsdp2): the whole
    states of any checkpoint are cut to this rank's shards first."""
    shard_module = dist.shard_module_state if dist else (lambda _m, s: s)
    shard_optimizer = dist.shard_optimizer_state if dist else (lambda _o, s: s)
    optimizer.load_state_dict(shard_optimizer(optimizer, state["optimizer"]))
    scheduler.load_state_dict(state["scheduler"])
    if critic is not None and "critic" in state:
        critic.load_state_dict(shard_module(critic, state["critic"]))
        critic_opt.load_state_dict(shard_optimizer(critic_opt, state["critic_optimizer"]))
    return state["step"], state["samples_seen"]
