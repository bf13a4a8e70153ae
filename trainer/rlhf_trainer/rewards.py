"""Reward sources behind one interface.

* ``function``: ``file.py:fn`` with OpenRLHF's batch signature ``fn(queries, prompts, labels, **kw)``.
* ``worker``: a process speaking schemas/reward-worker.schema.json (JSON lines over stdio).
* ``http``: OpenRLHF's remote reward JSON (POST {query, prompts, labels} -> {rewards, ...}).

A source that fails for one sample records the error on that sample and the configured fallback
is used; a source that fails for the whole batch is retried per sample before giving up on it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runconfig import RewardConfig


@dataclass
class RewardItem:
    prompt: str
    response: str
    label: Any = None
    query: str = ""  # prompt + response as decoded with special tokens (OpenRLHF's "queries")
    metadata: dict = field(default_factory=dict)


@dataclass
class SourceResult:
    rewards: list[float | None]          # None = failed for that sample
    errors: list[str | None]
    extra: dict[str, list[float]] = field(default_factory=dict)


def _as_floats(values, n: int) -> tuple[list[float | None], list[str | None]]:
    if hasattr(values, "tolist"):
        values = values.tolist()
    values = list(values)
    if len(values) != n:
        raise ValueError(f"returned {len(values)} rewards for {n} samples")
    out, errs = [], []
    for v in values:
        try:
            f = float(v) if v is not None else None
        except (TypeError, ValueError):
            f = None
        if f is None or not math.isfinite(f):
            out.append(None)
            errs.append(f"reward is not a finite number: {v!r}")
        else:
            out.append(f)
            errs.append(None)
    return out, errs


class FunctionSource:
    def __init__(self, name: str, spec: str):
        self.name = name
        file, fn = spec.rsplit(":", 1)
        mod_name = f"rlhf_reward_{abs(hash(file))}"
        module_spec = importlib.util.spec_from_file_location(mod_name, file)
        if module_spec is None or module_spec.loader is None:
            raise ValueError(f"cannot import reward file {file}")
        module = importlib.util.module_from_spec(module_spec)
        sys.path.insert(0, str(Path(file).parent))
        try:
            module_spec.loader.exec_module(module)
        finally:
            sys.path.pop(0)
        if not hasattr(module, fn):
            raise ValueError(f"{file} has no function '{fn}'")
        self.fn = getattr(module, fn)

    def _call(self, items: list[RewardItem]) -> SourceResult:
        out = self.fn([i.query for i in items], [i.prompt for i in items], [i.label for i in items],
                      responses=[i.response for i in items])
        extra = {}
        if isinstance(out, dict):
            extra = {k: [float(x) for x in (v.tolist() if hasattr(v, "tolist") else v)]
                     for k, v in (out.get("extra_logs") or {}).items()}
            out = out["rewards"]
        rewards, errors = _as_floats(out, len(items))
        return SourceResult(rewards, errors, extra)

    def score(self, items: list[RewardItem]) -> SourceResult:
        try:
            return self._call(items)
        except Exception as batch_error:  # localise the failure to the samples that cause it
            rewards, errors = [], []
            for item in items:
                try:
                    r = self._call([item])
                    rewards.append(r.rewards[0])
                    errors.append(r.errors[0])
                except Exception as e:
                    rewards.append(None)
                    errors.append(f"{type(e).__name__}: {e}")
            if all(r is None for r in rewards) and len(items) > 1:
                errors = [f"{type(batch_error).__name__}: {batch_error}"] * len(items)
            return SourceResult(rewards, errors)

    def close(self):
        pass


class WorkerSource:
    """A long-lived worker process; one request in flight at a time."""

    def __init__(self, name: str, command: list[str], options: dict, timeout_s: float, cwd: str | None = None):
        self.name, self.command, self.options, self.timeout_s, self.cwd = name, command, options, timeout_s, cwd
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.next_id = 0
        self.stderr_tail: list[str] = []
        self._start()

    def _start(self):
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1, cwd=self.cwd)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._pump_err, args=(self.proc.stderr,), daemon=True).start()
        try:
            self._send({"v": 1, "type": "init", "options": self.options})
            msg = self._receive(lambda m: m.get("type") in ("ready", "error"), self.timeout_s)
            if msg.get("type") != "ready":
                raise RuntimeError(f"reward worker {self.name} failed to start: {msg.get('message')}")
        except BaseException:
            self.close()  # a worker that failed its init must not outlive the error (no one would end it)
            raise

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line)
        q.put(None)

    def _pump_err(self, stream):
        for line in stream:
            self.stderr_tail = (self.stderr_tail + [line.rstrip()])[-20:]

    def _send(self, msg: dict):
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def _receive(self, want, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"reward worker {self.name} did not answer within {timeout:g}s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                tail = "; ".join(self.stderr_tail[-3:])
                raise RuntimeError(f"reward worker {self.name} exited (code {self.proc.poll()}): {tail}")
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue  # stray output is not protocol
            if isinstance(msg, dict) and want(msg):
                return msg

    def score(self, items: list[RewardItem]) -> SourceResult:
        self.next_id += 1
        rid = self.next_id
        try:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            self._send({"v": 1, "type": "score", "id": rid, "items": [
                {"prompt": i.prompt, "response": i.response, "label": i.label, "metadata": i.metadata} for i in items]})
            msg = self._receive(lambda m: m.get("id") == rid, self.timeout_s)
        except Exception as e:
            self.close()  # a hung or dead worker is restarted on the next batch
            return SourceResult([None] * len(items), [f"{type(e).__name__}: {e}"] * len(items))
        if msg.get("type") == "error":
            return SourceResult([None] * len(items), [msg.get("message", "worker error")] * len(items))
        rewards, errors = _as_floats(msg.get("rewards", []), len(items))
        for k, e in enumerate(msg.get("errors") or []):
            if e:
                rewards[k], errors[k] = None, e
        extra: dict[str, list[float]] = {}
        for k, b in enumerate(msg.get("breakdown") or []):
            for rule, v in (b or {}).items():
                extra.setdefault(rule, [math.nan] * len(items))[k] = float(v)
        return SourceResult(rewards, errors, extra)

    def close(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except Exception:
                self.proc.kill()
                self.proc.wait()  # reaped, so it is gone from the process table when close() returns
        self.proc = None


class HttpSource:
    def __init__(self, name: str, url: str, token_env: str | None, retries: int, timeout_s: float):
        self.name, self.url, self.retries, self.timeout_s = name, url, retries, timeout_s
        self.token = os.environ.get(token_env) if token_env else None

    def score(self, items: list[RewardItem]) -> SourceResult:
        body = json.dumps({"query": [i.query for i in items], "prompts": [i.prompt for i in items],
                           "labels": [i.label for i in items]}).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        last = None
        for attempt in range(self.retries + 1):
            try:
                req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    out = json.loads(resp.read())
                rewards, errors = _as_floats(out["rewards"], len(items))
                extra = {k: [float(x) for x in v] for k, v in (out.get("extra_logs") or {}).items()}
                return SourceResult(rewards, errors, extra)
            except Exception as e:
                last = e
                if attempt < self.retries:
                    time.sleep(min(1.0 * (attempt + 1), 5.0))
        return SourceResult([None] * len(items), [f"HTTP reward {self.url} failed: {last}"] * len(items))

    def close(self):
        pass


def rule_engine_command() -> tuple[str, str]:
    """Node and the TypeScript rule engine's worker script (dist/reward-worker.js) that evaluate reward.rules."""
    import shutil
    node = os.environ.get("RLHF_NODE") or shutil.which("node") or "node"
    worker = os.environ.get("RLHF_REWARD_WORKER") or str(Path(__file__).resolve().parents[2] / "dist" / "reward-worker.js")
    return node, worker


def rule_worker(reward: RewardConfig, base_dir: str | None) -> WorkerSource:
    """The rule engine with reward.rules compiled (its init fails on a bad regex or module)."""
    options = {"rules": list(reward.rules), "base_dir": base_dir, "time_budget_ms": reward.rule_time_budget_ms}
    return WorkerSource("rules", list(rule_engine_command()), options, float(reward.timeout_s), cwd=base_dir)


@dataclass
class Scored:
    total: list[float]
    per_source: list[dict[str, float]]
    errors: list[dict[str, str]]
    extra: dict[str, list[float]]


def merge_scored(parts: list[Scored]) -> Scored:
    """The ranks' reward results as one, in rank order (an extra a rank lacks counts as NaN there)."""
    keys = {k for p in parts for k in p.extra}
    return Scored(total=[x for p in parts for x in p.total], per_source=[x for p in parts for x in p.per_source],
                  errors=[x for p in parts for x in p.errors],
                  extra={k: [x for p in parts for x in p.extra.get(k, [float("nan")] * len(p.total))] for k in keys})


class RewardHub:
    def __init__(self, reward: RewardConfig, base_dir: str | None = None, trust_remote_code: bool = False, device=None):
        """reward: the config's reward section; base_dir: where the config's relative paths start (the worker
        sources' and the rule engine's working folder); device: where reward-model sources run (the training
        device; default CPU); trust_remote_code: model.trust_remote_code, for reward-model sources."""
        self.fallback = float(reward.fallback)
        self.sources: list[tuple[Any, float]] = []
        timeout = float(reward.timeout_s)
        for s in reward.sources:
            if s.function is not None:
                src = FunctionSource(s.name, s.function)
            elif s.reward_model is not None:
                import torch
                from .reward_model import RewardModelSource
                src = RewardModelSource(s.name, s.reward_model, device or torch.device("cpu"),
                                        s.batch_size or 16, bool(s.normalize), trust_remote_code)
            elif s.worker is not None:
                src = WorkerSource(s.name, list(s.worker.command), dict(s.worker.options or {}), timeout, cwd=base_dir)
            else:
                src = HttpSource(s.name, s.http.url, s.http.token_env, s.http.retries, timeout)
            self.sources.append((src, float(s.weight)))
        if reward.rules:
            self.sources.append((rule_worker(reward, base_dir), 1.0))

    def score(self, items: list[RewardItem], on_source=None) -> Scored:
        """Every source on every item; `on_source(name, k, count)` before source k is called (progress)."""
        n = len(items)
        total = [0.0] * n
        per_source: list[dict[str, float]] = [{} for _ in range(n)]
        errors: list[dict[str, str]] = [{} for _ in range(n)]
        extra: dict[str, list[float]] = {}
        for k, (src, weight) in enumerate(self.sources):
            if on_source is not None:
                on_source(src.name, k, len(self.sources))
            res = src.score(items) if n else SourceResult([], [])
            for k in range(n):
                value = res.rewards[k]
                if value is None:
                    value = self.fallback
                    errors[k][src.name] = res.errors[k] or "failed"
                per_source[k][src.name] = value
                total[k] += weight * value
            for key, vals in res.extra.items():
                extra[f"{src.name}/{key}"] = vals
        return Scored(total, per_source, errors, extra)

    def close(self):
        for src, _ in self.sources:
            src.close()
