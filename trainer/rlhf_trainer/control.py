"""Stop and save requests: stdin lines, signals and request files set flags that the training loop checks
between steps.

Request files let any process ask a live run for a checkpoint (another window, `rlhf save RUN`), not only the
one holding its stdin: it writes `<run>/control/<name>.json` ({"type": "save"} or {"type": "stop"}), renamed
into place so it is never read half-written. Rank 0 polls the folder, applies each request once and deletes
it; under torchrun the trainer broadcasts the flags to the other ranks as for stdin.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from .distributed import env_rank

CONTROL_DIR = "control"
POLL_S = 0.5


class Control:
    def __init__(self):
        self.stop = threading.Event()
        self.save = threading.Event()
        self.reason = ""
        self._closed = threading.Event()  # set: the request folder is no longer polled

    def request_stop(self, reason: str):
        if self.stop.is_set() and reason.startswith("signal"):
            raise KeyboardInterrupt  # a second signal: the user insists
        self.reason = reason
        self.stop.set()

    def install(self, read_stdin: bool = True, run_dir: str | Path | None = None):
        # a Ray Train worker runs the trainer off the main thread, where Python takes no signal handlers:
        # its stop comes through the job's driver (ray_entry.py)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda s, _f: self.request_stop(f"signal {signal.Signals(s).name}"))
        # under torchrun only rank 0 reads the launcher's control lines; the trainer broadcasts its flags
        if env_rank() != 0:
            return
        if read_stdin and sys.stdin is not None and not sys.stdin.isatty():
            threading.Thread(target=self._read_stdin, daemon=True).start()
        if run_dir is not None:
            self.folder = Path(run_dir) / CONTROL_DIR
            self.folder.mkdir(parents=True, exist_ok=True)
            threading.Thread(target=self._watch_folder, daemon=True).start()

    def close(self):
        """Stops polling the request folder (the run has ended: a request arriving now is left for its writer to see)."""
        self._closed.set()

    def apply(self, msg):
        """A `stop` or `save` request (a stdin line or a request file); anything else is ignored."""
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "stop":
            self.request_stop("stop requested")
        elif kind == "save":
            self.save.set()

    def _read_stdin(self):
        for line in sys.stdin:
            try:
                self.apply(json.loads(line))
            except json.JSONDecodeError:
                continue

    def poll_folder(self):
        """Applies the request files there are, oldest name first, deleting each once applied."""
        for f in sorted(self.folder.glob("*.json")):
            try:
                msg = json.loads(f.read_text())
            except (OSError, ValueError):
                msg = None  # not JSON: dropped below, it can never be applied
            if msg is not None:
                self.apply(msg)
            f.unlink(missing_ok=True)

    def _watch_folder(self):
        while not self._closed.wait(POLL_S):
            try:
                self.poll_folder()
            except OSError:
                pass  # the folder went away (the run folder deleted): nothing to apply
