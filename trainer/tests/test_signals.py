"""signals.py: length hacking and eval divergence alerts, once per stretch where they hold."""

import time

import jsonschema
import pytest

from rlhf_trainer.config import load_schema
from rlhf_trainer.runconfig import SignalsConfig
from rlhf_trainer.signals import SignalWatch

CFG = SignalsConfig(enabled=True, window=10, min_length_growth=0.2, max_reward_gain=0.02, min_eval_drop=0.02)


def feed(watch, steps, reward, length):
    """Steps (step, reward(step), length(step)) into the watch; the alerts they raised, in order."""
    return [a for s in steps for a in watch.on_step(s, reward(s), length(s))]


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
