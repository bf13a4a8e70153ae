"""A run folder as lines of text, for a run whose folder the user's machine cannot read (a Ray job).

Rank 0 tails its run folder and turns every change into a line:

    @@rlhf1 A FILE OFFSET BASE64    the bytes appended to an append-only file (events.jsonl, samples.jsonl,
                                    eval_samples.jsonl) at byte OFFSET
    @@rlhf1 W FILE BASE64           the whole new content of a replaced file (status.json, config.yaml,
                                    heartbeat.json)
    @@rlhf1 END                     the job has printed everything (its driver's last line)

The lines reach the job's log; the user's side (src/core/launch/rayMirror.ts) writes the bytes at their offsets
into a local run folder, so a line read twice (after a reload re-reads the log) changes nothing. Appends come
before the status of the same pass, so a mirrored `completed` status never precedes its last events.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from pathlib import Path

TAG = "@@rlhf1"
END_LINE = f"{TAG} END"
APPENDED = ("events.jsonl", "samples.jsonl", "eval_samples.jsonl")
REPLACED = ("config.yaml", "status.json", "heartbeat.json")
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
