"""Stop and save requests: stdin lines and signals set flags that the training loop checks between steps."""

from __future__ import annotations

import json
import signal
import sys
import threading

from .distributed import env_rank


class Control:
    def __init__(self):
        self.stop = threading.Event()
        self.save = threading.Event()
        self.reason = ""

    def request_stop(self, reason: str):
        if self.stop.is_set() and reason.startswith("signal"):
            raise KeyboardInterrupt  # a second signal: the user insists
        self.reason = reason
        self.stop.set()

    def install(self, read_stdin: bool = True):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda s, _f: self.request_stop(f"signal {signal.Signals(s).name}"))
        # under torchrun only rank 0 reads the launcher's control lines; the trainer broadcasts its flags
        if read_stdin and env_rank() == 0 and sys.stdin is not None and not sys.stdin.isatty():
            threading.Thread(target=self._read_stdin, daemon=True).start()

    def _read_stdin(self):
        for line in sys.stdin:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = msg.get("type") if isinstance(msg, dict) else None
            if kind == "stop":
                self.request_stop("stop requested")
            elif kind == "save":
                self.save.set()
