"""signals.py: the watchdogs' alerts (length hacking, eval divergence, truncation, zero variance, NaN/inf, entropy
collapse, KL blow-up, stalls), once per stretch where they hold, from crafted numbers; watchdog.py's threads."""

import time

import jsonschema
import pytest

from rlhf_trainer.config import load_schema
from rlhf_trainer.runconfig import SignalsConfig
from rlhf_trainer.signals import SignalWatch, StepNumbers

CFG = SignalsConfig(enabled=True, window=10, min_length_growth=0.2, max_reward_gain=0.02, min_eval_drop=0.02)


def feed(watch, steps, reward, length):
    """Steps (step, reward(step), length(step)) into the watch; the alerts they raised, in order."""
    return [a for s in steps for a in watch.on_step(s, StepNumbers(reward(s), length(s)))]


def test_growing_length_with_a_flat_reward_alerts_once_with_the_window_it_covers():
    w = SignalWatch(CFG)
    alerts = feed(w, range(1, 41), lambda s: 0.5, lambda s: 10 + s)  # +1 token a step, reward stalled
    assert len(alerts) == 1
    a = alerts[0]
    assert a["kind"] == "length_hacking" and a["step"] == 10 and a["steps"] == [1, 10]
    assert "steps 1-10" in a["message"] and "+38% (13.0 -> 18.0 tokens)" in a["message"]


def test_no_alert_while_the_reward_rises_with_the_length_or_the_length_is_flat():
    assert feed(SignalWatch(CFG), range(1, 41), lambda s: 0.01 * s, lambda s: 10 + s) == []
    assert feed(SignalWatch(CFG), range(1, 41), lambda s: 0.5, lambda s: 12.0) == []


def test_a_signal_that_stops_and_starts_again_alerts_again():
    w = SignalWatch(CFG)
    first = feed(w, range(1, 21), lambda s: 0.5, lambda s: 10 + s)
    calm = feed(w, range(21, 41), lambda s: 0.5, lambda s: 30.0)
    again = feed(w, range(41, 61), lambda s: 0.5, lambda s: 30 + 3 * (s - 40))
    assert len(first) == 1 and calm == [] and len(again) == 1
    assert again[0]["steps"][1] > 40


def test_eval_falling_while_train_reward_rises_alerts_between_the_two_evals():
    w = SignalWatch(CFG)
    assert w.on_eval(0, 0.6) == []  # before any train step: nothing to compare
    feed(w, range(1, 11), lambda s: 0.3, lambda s: 5.0)
    assert w.on_eval(10, 0.6) == []
    feed(w, range(11, 21), lambda s: 0.5, lambda s: 5.0)
    alerts = w.on_eval(20, 0.5)
    assert [(a["kind"], a["step"], a["steps"]) for a in alerts] == [("eval_divergence", 20, [10, 20])]
    assert "0.600 -> 0.500" in alerts[0]["message"]
    feed(w, range(21, 31), lambda s: 0.7, lambda s: 5.0)
    assert w.on_eval(30, 0.4) == []  # still holding: no second alert


def test_eval_falling_with_a_flat_train_reward_is_not_divergence():
    w = SignalWatch(CFG)
    feed(w, range(1, 11), lambda s: 0.5, lambda s: 5.0)
    w.on_eval(10, 0.6)
    feed(w, range(11, 21), lambda s: 0.5, lambda s: 5.0)
    assert w.on_eval(20, 0.3) == []


@pytest.mark.parametrize("drop", ["steps", "kind", "message"])
def test_alert_events_follow_the_events_schema(drop):
    w = SignalWatch(CFG)
    alert = feed(w, range(1, 11), lambda s: 0.5, lambda s: 10 + s)[0]
    event = {"v": 1, "type": "alert", "time": time.time(), **alert}
    schema = load_schema("events.schema.json")
    jsonschema.validate(event, schema)
    del event[drop]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(event, schema)


# ---- the training-health watchdogs: crafted numbers, patience 3 --------------------------------------------

def run(watch, rows):
    """rows: {step: StepNumbers kwargs beyond reward/length}; the alerts, in order."""
    return [a for s, kw in rows.items() for a in watch.on_step(s, StepNumbers(0.5, 10.0, **kw))]


def kinds(alerts):
    return [(a["kind"], a["step"], a["steps"]) for a in alerts]


def test_truncation_alerts_after_patience_steps_with_the_truncated_samples_and_the_browser_filter():
    w = SignalWatch(CFG)
    shares = [0.5, 0.96, 1.0, 0.97, 1.0, 0.4, 1.0, 1.0, 1.0]
    alerts = run(w, {s: {"truncated_share": x, "truncated": (0, 2, 5)} for s, x in enumerate(shares, 1)})
    # 2-4 is the first stretch of 3; 5 goes on holding (no second alert); 6 ends it; 7-9 is the next
    assert kinds(alerts) == [("truncation", 4, [2, 4]), ("truncation", 9, [7, 9])]
    assert alerts[0]["samples"] == [0, 2, 5] and alerts[0]["filter"] == {"truncated_only": True}
    assert "97%" in alerts[0]["message"] and "max_new_tokens" in alerts[0]["message"]


def test_truncation_below_the_share_or_turned_off_never_alerts():
    assert run(SignalWatch(CFG), {s: {"truncated_share": 0.94} for s in range(1, 20)}) == []
    off = SignalsConfig(**{**CFG.__dict__, "truncation_share": None})
    assert run(SignalWatch(off), {s: {"truncated_share": 1.0} for s in range(1, 20)}) == []


def test_zero_variance_groups_alert_for_grouped_estimators_only():
    rows = {s: {"zero_variance_share": 0.95, "zero_variance": tuple(range(8))} for s in range(1, 6)}
    alerts = run(SignalWatch(CFG, grouped=True), rows)
    assert kinds(alerts) == [("zero_variance", 3, [1, 3])]
    assert alerts[0]["samples"] == list(range(8)) and "95%" in alerts[0]["message"]
    assert run(SignalWatch(CFG, grouped=False), rows) == []
    assert run(SignalWatch(CFG), {s: {"zero_variance_share": 0.85} for s in range(1, 6)}) == []


def test_a_nan_loss_or_gradient_alerts_at_once_and_says_what_to_do():
    w = SignalWatch(CFG)
    alerts = run(w, {1: {"loss": 0.1, "grad_norm": 1.0}, 2: {"loss": float("nan"), "grad_norm": 1.0},
                     3: {"loss": float("nan"), "grad_norm": float("inf")}, 4: {"loss": 0.1, "grad_norm": 1.0},
                     5: {"loss": 0.1, "grad_norm": 1.0, "nonfinite_grads": 2}})
    assert kinds(alerts) == [("nonfinite", 2, [2, 2]), ("nonfinite", 5, [5, 5])]
    assert alerts[0]["message"].startswith("loss not finite") and "train.lr" in alerts[0]["message"]
    assert "grad_norm" in alerts[1]["message"] and "2 optimizer step(s)" in alerts[1]["message"]
    assert SignalWatch(CFG).on_step(1, StepNumbers(float("nan"), 10.0))[0]["message"].startswith("reward not finite")


def test_entropy_collapse_below_the_floor_or_a_tenth_of_its_early_value():
    floor = run(SignalWatch(CFG), {s: {"entropy": 0.01} for s in range(1, 4)})
    assert kinds(floor) == [("entropy_collapse", 3, [1, 3])]
    # early value: the mean of the first window // 2 = 5 steps (2.0); 0.15 is 7.5% of it, 0.3 is 15%
    w = SignalWatch(CFG)
    ent = [2.0] * 5 + [1.0, 0.3, 0.15, 0.15, 0.15]
    alerts = run(w, {s: {"entropy": x} for s, x in enumerate(ent, 1)})
    assert kinds(alerts) == [("entropy_collapse", 10, [8, 10])]
    assert "8% of its early 2.0000" in alerts[0]["message"]
    assert run(SignalWatch(CFG), {s: {"entropy": 1.5 - 0.05 * s} for s in range(1, 20)}) == []


def test_kl_blowup_above_the_limit_or_grown_tenfold_over_the_window():
    above = run(SignalWatch(CFG), {s: {"kl": 0.1 if s < 4 else 1.2} for s in range(1, 8)})
    assert kinds(above) == [("kl_blowup", 6, [4, 6])]
    # window 10 at step 10: first half 0.01, second half 0.2 (x20): at once (the window smooths), over the window
    grew = run(SignalWatch(CFG), {s: {"kl": 0.01 if s <= 5 else 0.2} for s in range(1, 13)})
    assert kinds(grew) == [("kl_blowup", 10, [1, 10])] and "x20.0" in grew[0]["message"]
    assert run(SignalWatch(CFG), {s: {"kl": 0.01 if s <= 5 else 0.09} for s in range(1, 13)}) == []  # x9
    # from 0 (policy == reference at step 1) there is no base for a factor
    assert run(SignalWatch(CFG), {s: {"kl": 0.0 if s <= 5 else 0.2} for s in range(1, 13)}) == []
    assert run(SignalWatch(CFG), {s: {"kl": None} for s in range(1, 13)}) == []


def test_stall_limit_is_the_factor_times_the_median_step_never_under_the_minimum():
    from rlhf_trainer.signals import Progress, StallWatch
    s = StallWatch(SignalsConfig(**{**CFG.__dict__, "stall_factor": 5.0, "stall_min_s": 10.0}))
    assert s.limit_s() == 10.0  # no step time yet
    for x in (1.0, 4.0, 100.0):
        s.step_done(x)
    assert s.limit_s() == 20.0  # median 4 (one slow step does not move it much)
    last = Progress("rollout", 12, 32, 7, at=1000.0, message="12 of 32 samples finished, token 40 of 64")
    assert s.check(1019.0, last) == []
    alerts = s.check(1021.0, last)
    assert kinds(alerts) == [("stalled", 7, [7, 7])]
    a = alerts[0]
    assert a["progress"] == {"phase": "rollout", "done": 12, "total": 32, "idle_s": 21.0,
                             "message": "12 of 32 samples finished, token 40 of 64"}
    assert "no progress for 21s in phase rollout" in a["message"] and "12 of 32 samples done" in a["message"]
    assert "median step takes 4s" in a["message"]
    assert s.check(1500.0, last) == []  # the same stall: once
    moved = Progress("reward", 0, 32, 7, at=1600.0, message="waiting for reward source judge (1 of 1)")
    assert s.check(1610.0, moved) == []  # it moved on: no stall
    assert [a["progress"]["phase"] for a in s.check(1700.0, moved)] == ["reward"]  # stuck again, elsewhere
    off = StallWatch(SignalsConfig(**{**CFG.__dict__, "stall_factor": None}))
    assert off.check(1e9, last) == []


def test_the_watchdog_thread_alerts_a_hung_phase_once_and_again_after_progress():
    from rlhf_trainer.signals import StallWatch
    from rlhf_trainer.watchdog import Watchdog
    got = []
    dog = Watchdog(StallWatch(SignalsConfig(**{**CFG.__dict__, "stall_min_s": 0.3})), got.extend, every_s=0.05)
    dog.start()
    try:
        dog.touch("reward", 0, 16, 3, "waiting for reward source slow (1 of 1)")
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # still hung: no second alert
        assert [(a["kind"], a["step"], a["progress"]["phase"]) for a in got] == [("stalled", 3, "reward")]
        dog.touch("train", 1, 2, 3)
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [a["progress"]["phase"] for a in got] == ["reward", "train"]
    finally:
        dog.stop()


@pytest.mark.parametrize("kind", ["truncation", "stalled"])
def test_new_alerts_follow_the_events_schema(kind):
    from rlhf_trainer.signals import Progress, StallWatch
    if kind == "truncation":
        alert = run(SignalWatch(CFG), {s: {"truncated_share": 1.0, "truncated": (1, 2)} for s in range(1, 4)})[0]
    else:
        alert = StallWatch(CFG).check(1e6, Progress("train", 1, 4, 2, at=0.0))[0]
    jsonschema.validate({"v": 1, "type": "alert", "time": time.time(), **alert}, load_schema("events.schema.json"))


# ---- the webhook ------------------------------------------------------------------------------------------

def test_a_failing_webhook_is_one_warning_without_its_url_and_posting_never_raises():
    import socket
    from rlhf_trainer.watchdog import Webhook
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/SECRET-TOKEN"
    warnings = []
    hook = Webhook(url, "MY_HOOK", "run-a", warnings.append, timeout_s=2)
    for step in (1, 2, 3):
        hook.post({"kind": "truncation", "step": step, "steps": [step, step], "message": "m"})
    hook.close(wait_s=20)
    assert len(warnings) == 1 and "$MY_HOOK" in warnings[0] and "SECRET-TOKEN" not in warnings[0]
    assert hook.sent == 0


def test_webhook_env_unset_or_not_a_url_warns_and_posts_nothing(monkeypatch):
    from rlhf_trainer.watchdog import Webhook
    warnings = []
    monkeypatch.delenv("RLHF_TEST_HOOK", raising=False)
    assert Webhook.from_env("RLHF_TEST_HOOK", "r", warnings.append) is None
    monkeypatch.setenv("RLHF_TEST_HOOK", "hooks.slack.com/services/SECRET")
    assert Webhook.from_env("RLHF_TEST_HOOK", "r", warnings.append) is None
    assert Webhook.from_env(None, "r", warnings.append) is None
    assert len(warnings) == 2 and "is not set" in warnings[0] and "RLHF_TEST_HOOK" in warnings[1]
    assert all("SECRET" not in w for w in warnings)


def test_webhook_payload_has_slack_text_and_discord_content_within_discords_limit():
    from rlhf_trainer.watchdog import webhook_payload
    p = webhook_payload({"kind": "kl_blowup", "step": 9, "steps": [7, 9], "message": "x" * 5000}, "run-b")
    assert p["text"] == p["content"] and p["text"].startswith("RLHF Studio alert, run run-b: kl_blowup at steps 7-9: ")
    assert len(p["content"]) <= 2000


def test_webhook_env_holding_a_url_is_refused_naming_the_field_without_echoing_it(tmp_path):
    from conftest import example_config, write_config
    from rlhf_trainer.config import ConfigError, load_config
    url = "https://hooks.slack.com/services/T0/B0/SECRET"
    with pytest.raises(ConfigError) as e:
        load_config(write_config(tmp_path, example_config(**{"signals.notify.webhook_env": url})))
    assert "signals.notify.webhook_env: must be the NAME of an environment variable" in str(e.value)
    assert "SECRET" not in str(e.value)


# ---- a real run: every response truncated, a reward call that hangs, alerts POSTed to a local webhook -------

SLOW_REWARD = '''
import time
calls = 0


def reward_func(queries, prompts, labels, **kw):
    global calls
    calls += 1
    if calls == 2:  # step 2's reward hangs for a while
        time.sleep(8)
    return [0.0] * len(queries)
'''


def test_a_real_run_alerts_truncation_and_a_stall_to_events_and_the_webhook_and_never_writes_its_url(tmp_path):
    import http.server
    import json
    import os
    import subprocess
    import threading

    from conftest import PY, ROOT, example_config, write_config

    posted = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            posted.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0SECRET/B0SECRET"
    (tmp_path / "slow.py").write_text(SLOW_REWARD)
    cfg = example_config(**{
        "rollout.max_new_tokens": 1, "rollout.batch_size": 16, "train.batch_size": 16, "train.micro_batch_size": 16,
        "train.max_steps": 4, "signals.stall_min_s": 2, "signals.stall_factor": 1.1,
        "signals.notify": {"webhook_env": "RLHF_TEST_WEBHOOK"},
        "reward": {"fallback": 0.0, "sources": [{"name": "slow", "function": str(tmp_path / "slow.py") + ":reward_func"}]}})
    run_dir = tmp_path / "run"
    try:
        out = subprocess.run([PY, "-m", "rlhf_trainer", "run", "--config", str(write_config(tmp_path, cfg)),
                              "--run-dir", str(run_dir)], capture_output=True, text=True, timeout=600, cwd=ROOT,
                             env={**os.environ, "RLHF_TEST_WEBHOOK": url})
    finally:
        server.shutdown()
    assert out.returncode == 0, out.stderr[-3000:]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    alerts = {e["kind"]: e for e in events if e["type"] == "alert"}
    assert set(alerts) == {"truncation", "stalled"}
    trunc, stall = alerts["truncation"], alerts["stalled"]
    assert (trunc["step"], trunc["steps"], trunc["filter"]) == (3, [1, 3], {"truncated_only": True})
    assert trunc["samples"] == list(range(16))  # every response of step 3
    assert stall["step"] == 2 and stall["progress"]["phase"] == "reward"
    assert "waiting for reward source slow (1 of 1)" in stall["message"]
    schema = load_schema("events.schema.json")
    for e in alerts.values():
        jsonschema.validate(e, schema)
    # the webhook got both, in Slack's and Discord's key, and the run folder never names the URL
    assert sorted(body["text"].split(": ")[1].split(" ")[0] for _, body in posted) == ["stalled", "truncation"]
    assert all(body["text"] == body["content"] and path == "/hooks/T0SECRET/B0SECRET" for path, body in posted)
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert b"SECRET" not in f.read_bytes(), f
    assert "SECRET" not in out.stdout + out.stderr
