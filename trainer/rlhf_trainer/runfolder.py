"""The run folder: the one contract every reader (extension, CLI, tests) relies on.

events.jsonl and samples.jsonl are append-only and flushed per line; status.json is replaced
atomically; checkpoints are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

PROTOCOL_VERSION = 1


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
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunFolder:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "checkpoints").mkdir(exist_ok=True)
        self._events = open(self.path / "events.jsonl", "a", buffering=1)
        self._samples = open(self.path / "samples.jsonl", "a", buffering=1)
        self.status: dict[str, Any] = {"state": "starting", "pid": os.getpid(), "step": 0, "total_steps": None,
                                       "updated": time.time(), "error": None, "last_checkpoint": None,
                                       "reward_mean": None}

    # events -----------------------------------------------------------------------------------
    def emit(self, type_: str, **fields):
        event = {"v": PROTOCOL_VERSION, "type": type_, "time": round(time.time(), 3), **_clean(fields)}
        self._events.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._events.flush()
        return event

    def log(self, message: str, level: str = "info"):
        self.emit("log", level=level, message=message)

    def progress(self, phase: str, done: float, total: float, **extra):
        self.emit("progress", phase=phase, done=done, total=total, **extra)

    def write_samples(self, step: int, items: list[dict]):
        for item in items:
            self._samples.write(json.dumps(_clean({"step": step, **item}), separators=(",", ":")) + "\n")
        self._samples.flush()

    # status -----------------------------------------------------------------------------------
    def set_status(self, **fields):
        self.status.update(fields)
        self.status["updated"] = time.time()
        atomic_write_text(self.path / "status.json", json.dumps(_clean(self.status), indent=1))

    def write_config(self, cfg: dict):
        public = {k: v for k, v in cfg.items() if not k.startswith("_")}
        atomic_write_text(self.path / "config.yaml", yaml.safe_dump(public, sort_keys=False))

    # checkpoints ------------------------------------------------------------------------------
    def checkpoint_dir(self, step: int) -> Path:
        return self.path / "checkpoints" / f"step-{step:06d}"

    def begin_checkpoint(self, step: int) -> Path:
        tmp = self.path / "checkpoints" / f".tmp-step-{step:06d}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        return tmp

    def commit_checkpoint(self, tmp: Path, step: int) -> Path:
        final = self.checkpoint_dir(step)
        (tmp / "COMPLETE").write_text(str(step))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        return final

    def prune_checkpoints(self, keep_last: int):
        for p in complete_checkpoints(self.path)[:-keep_last]:
            shutil.rmtree(p, ignore_errors=True)

    def close(self):
        self._events.close()
        self._samples.close()


def complete_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """A run's complete checkpoints, oldest first (half-written ones have no COMPLETE marker)."""
    return sorted(p for p in (Path(run_dir) / "checkpoints").glob("step-*") if (p / "COMPLETE").exists())


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of a run."""
    done = complete_checkpoints(run_dir)
    return done[-1] if done else None
