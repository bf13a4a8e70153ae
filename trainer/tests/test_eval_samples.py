"""eval_samples.jsonl as the real trainer writes it: every eval's k sampled responses and the greedy one per
eval prompt, each with its eval-set line, valid against schemas/eval-sample.schema.json (which refers to
sample.schema.json's fields), and scored as the eval event reports."""

import json

import jsonschema
import pytest
from referencing import Registry, Resource

from rlhf_trainer.config import load_schema
from conftest import EXAMPLE, example_config, read_events, run_trainer, write_config

EVAL = EXAMPLE / "data" / "eval.jsonl"
PROMPTS, K = 3, 2


def validator() -> jsonschema.Draft7Validator:
    """The eval schema with sample.schema.json resolvable by its $id (no network)."""
    sample = load_schema("sample.schema.json")
    registry = Registry().with_resource(sample["$id"], Resource.from_contents(sample))
    return jsonschema.Draft7Validator(load_schema("eval-sample.schema.json"), registry=registry)


@pytest.fixture(scope="module")
def run(tmp_path_factory, example_model):
    tmp = tmp_path_factory.mktemp("eval_samples")
    cfg = example_config(**{"train.max_steps": 2, "eval.every_steps": 1, "eval.k": K, "eval.greedy": True,
                            "eval.max_prompts": PROMPTS})
    cfg["data"]["eval_prompts"] = str(EVAL)
    run_dir = tmp / "run"
    r = run_trainer(write_config(tmp, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    return run_dir


def test_every_eval_records_its_sampled_and_greedy_responses_with_their_eval_set_lines(run):
    lines = (run / "eval_samples.jsonl").read_text().splitlines()
    samples = [json.loads(line) for line in lines]
    check = validator()
    for s in samples:
        check.validate(s)
    evals = [e["step"] for e in read_events(run) if e["type"] == "eval"]
    assert evals[0] == 0 and sorted(set(evals)) == sorted({s["step"] for s in samples})
    dataset = EVAL.read_text().splitlines()
    per_eval = PROMPTS * K + PROMPTS
    assert len(samples) == per_eval * len(evals)
    for step in evals:
        rows = [s for s in samples if s["step"] == step]
        assert [s["index"] for s in rows] == list(range(per_eval))
        assert [s["greedy"] for s in rows] == [False] * (PROMPTS * K) + [True] * PROMPTS
        for s in rows:  # the recorded line holds this very prompt and label
            assert s["source"]["file"] == str(EVAL)
            row = json.loads(dataset[s["source"]["line"] - 1])
            assert row["prompt"] == s["prompt"] and row["answer"] == s["label"]
        assert len({s["source"]["line"] for s in rows}) == PROMPTS
        for s in rows:  # a prompt's sampled and greedy responses share its group and line
            assert rows[s["group"] * K]["source"] == s["source"]


def test_the_recorded_rewards_are_the_ones_the_eval_event_reports(run):
    samples = [json.loads(line) for line in (run / "eval_samples.jsonl").read_text().splitlines()]
    for e in (e for e in read_events(run) if e["type"] == "eval"):
        rows = [s for s in samples if s["step"] == e["step"]]
        sampled = [s["reward"] for s in rows if not s["greedy"]]
        greedy = [s["reward"] for s in rows if s["greedy"]]
        assert sum(sampled) / len(sampled) == pytest.approx(e["values"]["eval_reward_mean"])
        assert sum(greedy) / len(greedy) == pytest.approx(e["values"]["eval_greedy_reward_mean"])


def test_a_run_without_an_eval_set_writes_no_eval_samples_file(tmp_path, example_model):
    cfg = example_config(**{"train.max_steps": 1})
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (run_dir / "samples.jsonl").exists() and not (run_dir / "eval_samples.jsonl").exists()
