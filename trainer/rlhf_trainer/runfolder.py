"""The run folder: the one contract every reader (extension, CLI, tests) relies on.

events.jsonl, samples.jsonl and eval_samples.jsonl are append-only and flushed per line; status.json is replaced
atomically; checkpoints are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from . import checkpoint
from .distributed import env_rank
from .names import (CHECKPOINTS_DIR, CONFIG_FILE, EVAL_SAMPLES_FILE, EVENTS_FILE, HEARTBEAT_FILE, SAMPLES_FILE,  # noqa: F401
                    SPACE_RESERVE_FILE, STATUS_FILE, TRAINER_LOCK_FILE)

PROTOCOL_VERSION = 1
HEARTBEAT_S = 5.0  # heartbeat.json is rewritten this often while the run lives (src/core/launch/target.ts reads it)


def launch_job(existing: dict | None) -> dict | None:
    """status.json's `job`: where this trainer runs. The launcher writes it before a remote job starts (the
    scheduler's job id); it is kept. Otherwise it comes from the environment: Slurm's job id, or torchrun's
    ranks on this machine; None for one plain local process."""
    slurm_id = os.environ.get("SLURM_JOB_ID")
    if existing and isinstance(existing.get("job"), dict):
        job = dict(existing["job"])
        if job.get("id") is None and job.get("target") == "slurm" and slurm_id:
            job["id"] = slurm_id  # the job started before sbatch's answer reached the launcher
        return job
    if slurm_id:
        return {"target": "slurm", "id": slurm_id, "nodes": int(os.environ.get("SLURM_NNODES", "1")),
                "procs_per_node": int(os.environ.get("LOCAL_WORLD_SIZE", "1"))}
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return {"target": "torchrun", "id": None, "nodes": int(os.environ.get("GROUP_WORLD_SIZE", "1")),
                "procs_per_node": int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))}
    return None


def read_status(run_dir: str | os.PathLike) -> dict | None:
    """A run folder's status.json, or None when it has none (or it cannot be read)."""
    try:
        status = json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def _clean(value: Any) -> Any:
    """JSON has no NaN/Infinity: they become null so every line stays valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def atomic_write_text(path: Path, text: str):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        checkpoint.crash_point("status_write")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno != errno.ENOSPC or not path.exists():
            raise
        # disk full: a second file does not fit, but the old one's blocks can be reused in place,
        # so the final state (failed, with the ENOSPC error) still reaches the readers
        with open(path, "r+") as f:
            f.truncate(0)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


# bytes held in RUN/.space-reserve while a trainer writes the folder, released to record a failure on a full disk
SPACE_RESERVE = 256 * 1024


class RunFolderTaken(Exception):
    """Another live trainer holds the run folder's lock: two trainers never write one folder."""


class RunFolder:
    def __init__(self, path: str | os.PathLike, writer: bool | None = None):
        """`writer`: whether this process writes the folder; by default rank 0 of a torchrun launch (or the
        only process). The other ranks' events, samples and status are dropped: one writer per file."""
        self.path = Path(path)
        self.checkpoints = self.path / CHECKPOINTS_DIR
        self.writer = env_rank() == 0 if writer is None else writer
        self._eval_samples = None  # opened by the first eval: a run without an eval set has no such file
        self.status: dict[str, Any] = {"state": "starting", "pid": os.getpid(), "step": 0, "total_steps": None,
                                       "updated": time.time(), "error": None, "last_checkpoint": None,
                                       "reward_mean": None}
        job = launch_job(read_status(self.path))
        if job is not None:
            self.status["job"] = job
        self._beating = threading.Event()
        self._emitting = threading.Lock()  # the stall watchdog and the webhook's warning emit from their threads
        self.on_progress = None  # called with each progress event's fields (the trainer's stall watchdog)
        self.path.mkdir(parents=True, exist_ok=True)  # every rank: its launcher may log into the folder
        if not self.writer:
            self._events = self._samples = open(os.devnull, "w")
            return
        # the folder is this trainer's alone while it lives: a second trainer started on it is refused before
        # it writes anything (the lock goes with the process, SIGKILL included, so a later start may reuse it)
        self._lock = os.open(self.path / TRAINER_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise RunFolderTaken(f"{self.path}: another trainer is writing this run folder; a run needs a folder "
                                 "of its own (rlhf train and Start Training make a new one)") from None
        self.checkpoints.mkdir(exist_ok=True)
        checkpoint.remove_stale(self.checkpoints)
        for stale in self.path.glob(".*.tmp-*"):  # a status/config write a kill interrupted
            stale.unlink(missing_ok=True)
        self._events = open(self.path / EVENTS_FILE, "a", buffering=1)
        self._samples = open(self.path / SAMPLES_FILE, "a", buffering=1)
        self._reserve_space()

    # a full disk ----------------------------------------------------------------------------------
    def _reserve_space(self):
        """Holds SPACE_RESERVE bytes in the folder while the trainer lives: when the disk fills up (another
        process, a log, a dataset cache), releasing them leaves room to record the failure (status.json, the
        run_finished event, the traceback in trainer.log), so the run reads `failed: ENOSPC`, not `unknown`."""
        try:
            with open(self.path / SPACE_RESERVE_FILE, "wb") as f:
                f.write(b"\0" * SPACE_RESERVE)
                f.flush()
                os.fsync(f.fileno())
        except OSError:  # already full: nothing to hold; the failure is recorded as far as the disk allows
            self.release_space()

    def release_space(self):
        (self.path / SPACE_RESERVE_FILE).unlink(missing_ok=True)

    # events -----------------------------------------------------------------------------------
    def emit(self, type_: str, **fields):
        event = {"v": PROTOCOL_VERSION, "type": type_, "time": round(time.time(), 3), **_clean(fields)}
        with self._emitting:
            self._events.write(json.dumps(event, separators=(",", ":")) + "\n")
            self._events.flush()
        return event

    def log(self, message: str, level: str = "info"):
        self.emit("log", level=level, message=message)

    def progress(self, phase: str, done: float, total: float, **extra):
        self.emit("progress", phase=phase, done=done, total=total, **extra)
        if self.on_progress is not None:
            self.on_progress(phase, done, total, extra.get("step"), extra.get("message"))

    def write_samples(self, step: int, items: list[dict]):
        self._append_samples(self._samples, step, items)

    def write_eval_samples(self, step: int, items: list[dict]):
        """An eval's responses (schemas/eval-sample.schema.json): step 0 is the eval before training."""
        if self._eval_samples is None:
            self._eval_samples = open(self.path / EVAL_SAMPLES_FILE if self.writer else os.devnull, "a", buffering=1)
        self._append_samples(self._eval_samples, step, items)

    @staticmethod
    def _append_samples(f, step: int, items: list[dict]):
        for item in items:
            f.write(json.dumps(_clean({"step": step, **item}), separators=(",", ":")) + "\n")
        f.flush()

    # status -----------------------------------------------------------------------------------
    def set_status(self, **fields):
        self.status.update(fields)
        self.status["updated"] = time.time()
        if self.writer:
            atomic_write_text(self.path / STATUS_FILE, json.dumps(_clean(self.status), indent=1))

    def write_config(self, cfg: dict):
        public = {k: v for k, v in cfg.items() if not k.startswith("_")}
        if self.writer:
            atomic_write_text(self.path / CONFIG_FILE, yaml.safe_dump(public, sort_keys=False))

    # heartbeat --------------------------------------------------------------------------------
    def beat(self):
        """heartbeat.json: {time, host, pid, job_id}; how a launcher on another machine knows this trainer lives."""
        if self.writer:
            job = self.status.get("job") or {}
            atomic_write_text(self.path / HEARTBEAT_FILE, json.dumps(
                {"time": time.time(), "host": socket.gethostname(), "pid": os.getpid(), "job_id": job.get("id")}))

    def start_heartbeat(self, every_s: float = HEARTBEAT_S):
        """Rewrites heartbeat.json every `every_s` seconds from a daemon thread until close() (rank 0 only)."""
        if not self.writer:
            return

        def loop():
            while True:
                try:
                    self.beat()
                except OSError:
                    pass  # a full disk: the trainer reports that itself
                if self._beating.wait(every_s):
                    return
        threading.Thread(target=loop, daemon=True, name="heartbeat").start()

    # checkpoints ------------------------------------------------------------------------------
    def checkpoint_dir(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:06d}"

    def begin_checkpoint(self, step: int) -> Path:
        return checkpoint.begin(self.checkpoints, step)

    def commit_checkpoint(self, tmp: Path, step: int) -> Path:
        return checkpoint.commit(tmp, self.checkpoint_dir(step))

    def prune_checkpoints(self, keep_last: int):
        checkpoint.prune(self.checkpoints, keep_last)

    def remove_partial_checkpoints(self):
        """Frees what a failed checkpoint write holds, and the space reserve (on a full disk, the space to
        report the failure)."""
        if self.writer:
            self.release_space()
            checkpoint.remove_stale(self.checkpoints)

    def close(self):
        self._beating.set()
        if self.writer:
            self.release_space()
        self._events.close()
        self._samples.close()
        if self._eval_samples is not None:
            self._eval_samples.close()


def complete_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """A run's complete checkpoints, oldest first (half-written ones have no COMPLETE marker)."""
    return checkpoint.complete(Path(run_dir) / CHECKPOINTS_DIR)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of a run."""
    done = complete_checkpoints(run_dir)
    return done[-1] if done else None
