"""Reward sources: Python function, stdio worker (schemas/reward-worker.schema.json), OpenRLHF HTTP."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import jsonschema
import pytest

from rlhf_trainer.config import load_schema
from rlhf_trainer.rewards import RewardHub, RewardItem
from conftest import EXAMPLE, example_config, metrics, run_trainer, write_config

WORKER = r'''
import json, sys, time
log = open(sys.argv[1], "a")
for line in sys.stdin:
    msg = json.loads(line); log.write(line); log.flush()
    if msg["type"] == "init":
        out = {"v": 1, "type": "ready", "rules": ["exact"]}
    else:
        rewards, errors, breakdown = [], [], []
        for it in msg["items"]:
            if it["response"] == "hang": time.sleep(30)
            if it["response"] == "boom":
                rewards.append(None); errors.append("rule exact threw: boom"); breakdown.append({})
            else:
                v = 1.0 if it["response"].strip() == str(it["label"]) else 0.0
                rewards.append(v); errors.append(None); breakdown.append({"exact": v})
        out = {"v": 1, "type": "result", "id": msg["id"], "rewards": rewards, "errors": errors, "breakdown": breakdown}
    print("noise that is not protocol")
    print(json.dumps(out), flush=True)
    log.write(json.dumps(out) + "\n"); log.flush()
'''


def items(*responses):
    return [RewardItem(prompt="1+1=", response=r, label="2", query="1+1=" + r) for r in responses]


def hub(tmp_path, source, fallback=-1.0, timeout=5):
    cfg = example_config(**{"reward.fallback": fallback, "reward.timeout_s": timeout})
    cfg["reward"]["sources"] = [source]
    from rlhf_trainer.config import resolve_config
    from rlhf_trainer.runconfig import RunConfig
    resolved = resolve_config(cfg, tmp_path, check_files=False)
    return RewardHub(RunConfig.from_dict(resolved).reward, resolved["_base_dir"])


def test_function_failing_on_one_sample_gets_fallback_and_error(tmp_path):
    f = tmp_path / "r.py"
    f.write_text("def fn(queries, prompts, labels, **kw):\n"
                 "    out = []\n"
                 "    for q in queries:\n"
                 "        if q.endswith('x'): raise ValueError('cannot parse ' + q)\n"
                 "        out.append(1.0 if q.endswith('2') else float('nan') if q.endswith('n') else 0.0)\n"
                 "    return {'rewards': out, 'extra_logs': {'len': [len(q) for q in queries]}}\n")
    h = hub(tmp_path, {"name": "fn", "function": f"{f}:fn"})
    res = h.score(items("2", "x", "3", "n"))
    assert res.total == [1.0, -1.0, 0.0, -1.0]
    assert "cannot parse 1+1=x" in res.errors[1]["fn"]
    assert "finite" in res.errors[3]["fn"]
    assert res.errors[0] == {} and res.errors[2] == {}


def test_worker_protocol_messages_match_the_schema(tmp_path):
    w = tmp_path / "worker.py"
    w.write_text(WORKER)
    log = tmp_path / "wire.jsonl"
    h = hub(tmp_path, {"name": "rules", "worker": {"command": [sys.executable, str(w), str(log)]}}, timeout=3)
    res = h.score(items("2", "boom", "5"))
    assert res.total == [1.0, -1.0, 0.0]
    assert res.errors[1]["rules"] == "rule exact threw: boom"
    assert res.extra["rules/exact"][0] == 1.0
    # a hung worker: recorded timeout for the batch, restarted for the next one
    res = h.score(items("hang"))
    assert res.total == [-1.0] and "did not answer" in res.errors[0]["rules"]
    assert h.score(items("2")).total == [1.0]
    h.close()
    schema = load_schema("reward-worker.schema.json")
    wire = [json.loads(line) for line in log.read_text().splitlines()]
    assert {m["type"] for m in wire} == {"init", "ready", "score", "result"}
    for m in wire:
        jsonschema.validate(m, schema)


class _Handler(BaseHTTPRequestHandler):
    calls = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.calls.append((self.headers.get("Authorization"), body))
        if self.path == "/flaky" and len(_Handler.calls) % 2 == 1:
            self.send_response(503)
            self.end_headers()
            return
        rewards = [1.0 if q.endswith(str(lab)) else 0.0 for q, lab in zip(body["query"], body["labels"])]
        data = json.dumps({"rewards": rewards, "scores": rewards, "extra_logs": {"dummy": rewards}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    srv = HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _Handler.calls.clear()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_http_openrlhf_remote_reward(tmp_path, server, monkeypatch):
    monkeypatch.setenv("RM_TOKEN", "s3cret")
    h = hub(tmp_path, {"name": "rm", "http": {"url": server + "/flaky", "token_env": "RM_TOKEN", "retries": 2}})
    res = h.score(items("2", "7"))
    assert res.total == [1.0, 0.0]
    auth, body = _Handler.calls[-1]
    assert auth == "Bearer s3cret"
    assert body == {"query": ["1+1=2", "1+1=7"], "prompts": ["1+1=", "1+1="], "labels": ["2", "2"]}
    down = hub(tmp_path, {"name": "rm", "http": {"url": "http://127.0.0.1:9/x", "retries": 0}})
    res = down.score(items("2"))
    assert res.total == [-1.0] and "failed" in res.errors[0]["rm"]


def test_training_through_the_worker_with_weighted_sources(tmp_path, example_model):
    w = tmp_path / "worker.py"
    w.write_text(WORKER)
    cfg = example_config(**{"train.max_steps": 2})
    cfg["reward"]["sources"] = [
        {"name": "worker", "worker": {"command": [sys.executable, str(w), str(tmp_path / "wire.jsonl")]}, "weight": 0.5},
        {"name": "fn", "function": str(EXAMPLE / "reward.py") + ":reward_func", "weight": 0.5},
    ]
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-2000:]
    m = metrics(run_dir)[1]
    assert m["reward/worker"] == pytest.approx(m["reward/fn"])
    assert m["reward_mean"] == pytest.approx(m["reward/fn"])
    sample = json.loads((run_dir / "samples.jsonl").read_text().splitlines()[0])
    assert set(sample["rewards"]) == {"worker", "fn"}


SILENT_WORKER = r'''
import json, sys, time
open(sys.argv[1], "w").write(str(__import__("os").getpid()))
if sys.argv[2] == "error":
    sys.stdin.readline()
    print(json.dumps({"v": 1, "type": "error", "message": "bad options"}), flush=True)
time.sleep(120)  # never ready, and deaf to its stdin closing
'''


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("mode", ["timeout", "error"])
def test_worker_that_fails_its_init_is_ended_at_once(tmp_path, mode):
    from rlhf_trainer.rewards import WorkerSource
    w = tmp_path / "worker.py"
    w.write_text(SILENT_WORKER)
    pid_file = tmp_path / "pid"
    with pytest.raises((TimeoutError, RuntimeError), match="did not answer" if mode == "timeout" else "bad options"):
        WorkerSource("silent", [sys.executable, str(w), str(pid_file), mode], {}, timeout_s=4)
    assert not _alive(int(pid_file.read_text()))
