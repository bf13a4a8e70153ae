"""A run folder as lines of text, for a run whose folder the user's machine cannot read (a Ray job).

Rank 0 tails its run folder and turns every change into a line:

    @@rlhf1 A FILE OFFSET BASE64    the bytes appended to an append-only file (events.jsonl, samples.jsonl,
                                    eval_samples.jsonl) at byte OFFSET
    @@rlhf1 W FILE BASE64           the whole new content of a replaced file (status.json, config.yaml,
                                    heartbeat.json)
    @@rlhf1 END                     the job has printed everything (its driver's last line)

`python -m rlhf_trainer.ray_mirror CHECKPOINT` is the entrypoint of a download job (`rlhf download`): the
checkpoint's files as `A checkpoints/step-N/FILE OFFSET BASE64` lines, COMPLETE last, then END.

The lines reach the job's log; the user's side (src/core/launch/rayMirror.ts) writes the bytes at their offsets
into a local run folder, so a line read twice (after a reload re-reads the log) changes nothing. Appends come
before the status of the same pass, so a mirrored `completed` status never precedes its last events.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from pathlib import Path

from .names import (CHECKPOINTS_DIR, COMPLETE, CONFIG_FILE, EVAL_SAMPLES_FILE, EVENTS_FILE, HEARTBEAT_FILE, SAMPLES_FILE,
                    STATUS_FILE)

TAG = "@@rlhf1"
END_LINE = f"{TAG} END"
APPENDED = (EVENTS_FILE, SAMPLES_FILE, EVAL_SAMPLES_FILE)
REPLACED = (CONFIG_FILE, STATUS_FILE, HEARTBEAT_FILE)
CHUNK = 48 * 1024  # raw bytes a line (64 KiB of base64): far below any log line limit
POLL_S = 0.25


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class MirrorTail:
    """Polls `run_dir` and hands each pass's new lines to `send` (in order; `send` may block)."""

    def __init__(self, run_dir: Path, send: Callable[[list[str]], None]):
        self.run_dir = Path(run_dir)
        self.send = send
        self.offsets = dict.fromkeys(APPENDED, 0)
        self.replaced: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def changes(self) -> list[str]:
        lines = []
        for name in APPENDED:
            try:
                with open(self.run_dir / name, "rb") as f:
                    f.seek(self.offsets[name])
                    data = f.read()
            except FileNotFoundError:
                continue
            for i in range(0, len(data), CHUNK):
                lines.append(f"{TAG} A {name} {self.offsets[name] + i} {_b64(data[i:i + CHUNK])}")
            self.offsets[name] += len(data)
        for name in REPLACED:
            try:
                data = (self.run_dir / name).read_bytes()
            except FileNotFoundError:
                continue
            if data and self.replaced.get(name) != data:
                self.replaced[name] = data
                lines.append(f"{TAG} W {name} {_b64(data)}")
        return lines

    def flush(self):
        lines = self.changes()
        if lines:
            self.send(lines)

    def _loop(self):
        while not self._stop.wait(POLL_S):
            try:
                self.flush()
            except Exception as e:  # the channel is gone (the driver ended): nothing left to send to
                print(f"run folder mirror stopped: {type(e).__name__}: {e}", flush=True)
                return

    def start(self):
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self):
        """Stops polling and sends what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()


def send_folder(folder: Path, as_name: str, write=print):
    """Every file of `folder` as `A AS_NAME/REL 0.. BASE64` lines (COMPLETE last, so a reader that stops early never
    has a folder that looks whole), then END: a checkpoint fetched through a job's log (`rlhf download`)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == COMPLETE)
    for p in files:
        rel = f"{as_name}/{p.relative_to(folder).as_posix()}"
        with open(p, "rb") as f:
            offset = 0
            while chunk := f.read(CHUNK):
                write(f"{TAG} A {rel} {offset} {_b64(chunk)}")
                offset += len(chunk)
        if offset == 0:
            write(f"{TAG} A {rel} 0 -")  # an empty file
    write(END_LINE)


if __name__ == "__main__":  # python -m rlhf_trainer.ray_mirror CHECKPOINT_DIR: a download job's entrypoint
    import sys

    src = Path(sys.argv[1])
    if not (src / COMPLETE).is_file():
        print(f"error: {src} is not a complete checkpoint on this node (no COMPLETE marker); is the storage path "
              "shared with the head node?", file=sys.stderr)
        sys.exit(2)
    send_folder(src, f"{CHECKPOINTS_DIR}/{src.name}")
