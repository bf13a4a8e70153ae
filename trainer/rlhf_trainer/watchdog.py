"""The watchdogs' threads: the stall detector (a hung step cannot report itself) and the alert webhook.

Watchdog: the trainer touches it on every bit of progress (a progress event, a decoded token, a reward
source's answer, a micro-batch); a daemon thread asks signals.StallWatch every second whether the last
touch is too old, and raises what it says through RunWatch.raise_alerts.

Webhook: signals.notify.webhook_env names an environment variable holding a Slack or Discord incoming-webhook
URL; each alert is POSTed there as {"text": ..., "content": ...} (Slack reads text, Discord content) from a
background thread, a few seconds' timeout each. A failing POST is logged once as a warning, without the URL,
and never stops training.

RunWatch: what the trainer holds of all this (signals.SignalWatch, the Watchdog, the Webhook), one object.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import urllib.request
from typing import Callable

from .signals import Progress, StallWatch

POST_TIMEOUT_S = 5.0
MAX_TEXT = 1900  # Discord refuses content over 2000 characters


class Watchdog:
    def __init__(self, stall: StallWatch, raise_alerts: Callable[[list[dict]], None], every_s: float = 1.0):
        self.stall, self.raise_alerts, self.every_s = stall, raise_alerts, every_s
        self.last: Progress | None = None
        self.step = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def touch(self, phase: str | None = None, done: float | None = None, total: float | None = None,
              step: int | None = None, message: str | None = None):
        """Progress: anything left out keeps the last touch's value (a decoded token moves only the time)."""
        with self._lock:
            last = self.last
            self.step = step if step is not None else self.step
            self.last = Progress(
                phase=phase or (last.phase if last else "load"),
                done=done if done is not None else (last.done if last and (phase is None or phase == last.phase) else 0),
                total=total if total is not None else (last.total if last and (phase is None or phase == last.phase) else 0),
                step=self.step, at=time.monotonic(), message=message)

    def step_done(self, step: int, seconds: float):
        with self._lock:
            self.step = step
            self.stall.step_done(seconds)

    def check(self, now: float | None = None) -> list[dict]:
        with self._lock:
            return self.stall.check(time.monotonic() if now is None else now, self.last)

    def start(self):
        if self._thread is None:
            self.touch()
            self._thread = threading.Thread(target=self._loop, daemon=True, name="stall-watchdog")
            self._thread.start()

    def _loop(self):
        while not self._stop.wait(self.every_s):
            try:
                alerts = self.check()
                if alerts:
                    self.raise_alerts(alerts)
            except Exception as e:  # a watchdog never takes the run down
                print(f"[warning] stall watchdog: {type(e).__name__}: {e}", flush=True)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def webhook_payload(alert: dict, run_name: str) -> dict:
    """Slack reads `text`, Discord `content`: both carry the same line."""
    steps = alert.get("steps") or [alert.get("step"), alert.get("step")]
    where = f"step {steps[1]}" if steps[0] == steps[1] else f"steps {steps[0]}-{steps[1]}"
    text = f"RLHF Studio alert, run {run_name}: {alert['kind']} at {where}: {alert['message']}"
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - 1] + "…"
    return {"text": text, "content": text}


class Webhook:
    """POSTs alerts to one URL from a daemon thread; close() waits a little for the ones still queued."""

    def __init__(self, url: str, env_name: str, run_name: str, warn: Callable[[str], None],
                 timeout_s: float = POST_TIMEOUT_S):
        self._url, self.env_name, self.run_name, self.warn, self.timeout_s = url, env_name, run_name, warn, timeout_s
        self.warned = False
        self.sent = 0
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="alert-webhook")
        self._thread.start()

    @classmethod
    def from_env(cls, env_name: str | None, run_name: str, warn: Callable[[str], None]) -> Webhook | None:
        """The webhook whose URL the variable `env_name` holds; None (with a warning) when it holds none."""
        if not env_name:
            return None
        url = os.environ.get(env_name, "").strip()
        if not url:
            warn(f"signals.notify.webhook_env: the environment variable {env_name} is not set (or empty) in the "
                 "trainer's environment, so alerts are not posted; export it where the trainer starts")
            return None
        if not url.startswith(("https://", "http://")):
            warn(f"signals.notify.webhook_env: the environment variable {env_name} does not hold an http(s) URL, "
                 "so alerts are not posted")
            return None
        return cls(url, env_name, run_name, warn)

    def post(self, alert: dict):
        self._queue.put(webhook_payload(alert, self.run_name))

    def _loop(self):
        while True:
            payload = self._queue.get()
            if payload is None:
                return
            try:
                req = urllib.request.Request(self._url, data=json.dumps(payload).encode(), method="POST", headers={
                    "Content-Type": "application/json", "User-Agent": "rlhf-studio-trainer"})
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    resp.read()
                self.sent += 1
            except Exception as e:  # logged once; training goes on
                if not self.warned:
                    self.warned = True
                    detail = f"{type(e).__name__}: {e}".replace(self._url, f"${self.env_name}")
                    self.warn(f"signals.notify: posting an alert to the webhook in ${self.env_name} failed ({detail}); "
                              "training goes on, later failures are not logged")

    def close(self, wait_s: float = POST_TIMEOUT_S + 1):
        self._queue.put(None)
        self._thread.join(timeout=wait_s)


ROLLOUT_PROGRESS_EVERY_S = 2.0  # a training rollout's progress event (samples finished) at most this often


class RunWatch:
    """A run's watch: signals.py's SignalWatch over each step and eval, the stall Watchdog (rank 0 only) and
    the alert webhook. Alerts become an alert event each (the dashboard's banner, VS Code's notification), a
    warning in the log, and a POST to signals.notify's webhook."""

    def __init__(self, rc, run, dist, log: Callable[[str, str], None]):
        from .algorithms import GROUPED_ESTIMATORS
        from .signals import SignalWatch
        sig = rc.signals
        self.rc, self.run, self.dist, self.log = rc, run, dist, log
        self.signals = SignalWatch(sig, grouped=rc.algorithm.estimator in GROUPED_ESTIMATORS) if sig.enabled else None
        # rank 0 only: the stall watchdog's thread (started by start) and the alert webhook (opened by open)
        self.watchdog = Watchdog(StallWatch(sig), self.raise_alerts) if sig.enabled and sig.stall_factor and dist.is_main else None
        self.webhook: Webhook | None = None
        self.extra: dict = {}  # the last step's sample indices and non-finite gradient count
        self._rollout_emitted = 0.0

    def open(self):
        """At setup: the webhook, and the run folder's progress events touch the stall watchdog."""
        if self.signals and self.dist.is_main:
            self.webhook = Webhook.from_env(self.rc.signals.notify.webhook_env, self.rc.name,
                                            lambda msg: self.log(msg, "warning"))
        if self.watchdog:
            self.run.on_progress = self.watchdog.touch

    def start(self):
        if self.watchdog:
            self.watchdog.start()

    def raise_alerts(self, alerts: list[dict]):
        """Called by the stall watchdog's thread too."""
        for a in alerts:
            self.run.emit("alert", **a)  # other ranks' run folder writes go nowhere (runfolder.py)
            self.log(f"{a['kind']}: {a['message']}", "warning")
            if self.webhook is not None:
                self.webhook.post(a)

    def step_done(self, step: int, values: dict, has_kl: bool):
        """A finished step's metrics (with self.extra, the step's sample indices) to the watchdogs."""
        from .signals import StepNumbers
        if self.watchdog:
            self.watchdog.step_done(step, values["step_s"])
        if self.signals:
            self.raise_alerts(self.signals.on_step(step, StepNumbers.of(values, self.extra, has_kl)))

    def eval_done(self, step: int, reward_mean: float):
        if self.signals:
            self.raise_alerts(self.signals.on_eval(step, reward_mean))

    def tick(self, phase: str, done: float, total: float, step: int | None = None, message: str | None = None):
        """Progress the stall watchdog sees, without an event (a reward source called, a micro-batch done)."""
        if self.watchdog:
            self.watchdog.touch(phase, done, total, step, message)

    def on_token(self, tokens: int, finished: int | None, batch: int):
        """The rollout engine decoded `tokens` positions, `finished` of its `batch` samples have ended (None:
        not counted): progress for the stall watchdog; in a training rollout also a progress event every 2 s."""
        w = self.watchdog
        last = w.last if w else None
        if last is None:
            return
        max_new = self.rc.rollout.max_new_tokens
        who = "rank 0: " if self.dist.enabled else ""
        if last.phase != "rollout" or finished is None:
            w.touch(message=f"{who}token {tokens} of {max_new}")
            return
        message = f"{who}{finished} of {batch} samples finished, token {tokens} of {max_new}"
        now = time.monotonic()
        if now - self._rollout_emitted >= ROLLOUT_PROGRESS_EVERY_S:
            self._rollout_emitted = now
            self.run.progress("rollout", finished, batch, step=last.step, message=message)
        else:
            w.touch("rollout", finished, batch, last.step, message)

    def close(self):
        if self.watchdog:
            self.watchdog.stop()
        if self.webhook is not None:
            self.webhook.close()  # the alerts still queued get a few seconds
