"""Stop and save requests: stdin lines, signals and request files set flags that the training loop checks
between steps.

Request files let any process ask a live run for a checkpoint (another window, `rlhf save RUN`), not only the
one holding its stdin: it writes `<run>/control/<name>.json` ({"type": "save"} or {"type": "stop"}), renamed
into place so it is never read half-written. Rank 0 polls the folder, applies each request once and deletes
it; under torchrun the trainer broadcasts the flags to the other ranks as for stdin. Only regular files are
read (lstat, then an O_NONBLOCK | O_NOFOLLOW open): a FIFO, a folder or a link named `*.json` is skipped with a
warning on stderr (trainer.log) and never blocks the requests after it; a file over MAX_REQUEST_BYTES is
removed unread, with a warning.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import threading
from pathlib import Path

from .distributed import env_rank

CONTROL_DIR = "control"
POLL_S = 0.5
MAX_REQUEST_BYTES = 64 * 1024  # a request is a line of JSON; anything larger is not one


class Control:
    def __init__(self):
        self.stop = threading.Event()
        self.save = threading.Event()
        self.reason = ""
        self._closed = threading.Event()  # set: the request folder is no longer polled
        self._warned: set[str] = set()  # names skipped with a warning already (once each, not every poll)

    def request_stop(self, reason: str):
        if self.stop.is_set() and reason.startswith("signal"):
            raise KeyboardInterrupt  # a second signal: the user insists
        self.reason = reason
        self.stop.set()

    def install(self, read_stdin: bool = True, run_dir: str | Path | None = None, stop_on_eof: bool = False):
        # a Ray Train worker runs the trainer off the main thread, where Python takes no signal handlers:
        # its stop comes through the job's driver (ray_entry.py)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda s, _f: self.request_stop(f"signal {signal.Signals(s).name}"))
        # under torchrun only rank 0 reads the launcher's control lines; the trainer broadcasts its flags
        if env_rank() != 0:
            return
        if read_stdin and sys.stdin is not None and not sys.stdin.isatty():
            threading.Thread(target=self._read_stdin, args=(stop_on_eof,), daemon=True).start()
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

    def _read_stdin(self, stop_on_eof: bool):
        for line in sys.stdin:
            try:
                self.apply(json.loads(line))
            except json.JSONDecodeError:
                continue
        if stop_on_eof:  # the process holding the other end ended (killed, or exited without stopping us)
            self.request_stop("stdin closed: the process that started this trainer ended")

    def poll_folder(self):
        """Applies the request files there are, oldest name first, deleting each once applied."""
        for f in sorted(self.folder.glob("*.json")):
            try:
                msg = self._read_request(f)
            except OSError:
                continue  # gone meanwhile, or unreadable: the next poll sees it again
            if msg is not None:
                self.apply(msg)

    def _warn(self, f: Path, why: str):
        if f.name not in self._warned:
            self._warned.add(f.name)
            print(f"warning: {f}: {why}", file=sys.stderr, flush=True)

    def _read_request(self, f: Path):
        """The JSON of request file f, removed once read; None for what is not a request (skipped or removed)."""
        st = os.lstat(f)
        if not stat.S_ISREG(st.st_mode):
            self._warn(f, "not a regular file (a folder, FIFO, link or device); skipped: only request files "
                          "written by rlhf save or the extension are read")
            return None
        if st.st_size > MAX_REQUEST_BYTES:
            self._warn(f, f"{st.st_size} bytes, over the {MAX_REQUEST_BYTES}-byte limit of a request; removed unread")
            f.unlink(missing_ok=True)
            return None
        fd = os.open(f, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the lstat and the open
                return None
            data = os.read(fd, MAX_REQUEST_BYTES + 1)
        finally:
            os.close(fd)
        f.unlink(missing_ok=True)
        try:
            return json.loads(data) if len(data) <= MAX_REQUEST_BYTES else None
        except ValueError:
            return None  # not JSON: it can never be applied

    def _watch_folder(self):
        while not self._closed.wait(POLL_S):
            try:
                self.poll_folder()
            except OSError:
                pass  # the folder went away (the run folder deleted): nothing to apply
