"""samples.jsonl as the real trainer writes it: every sample of a step when asked, its group and dataset
line, per-token data (with entropy) on every recorded sample, the contract in schemas/sample.schema.json."""

import json
import math

import jsonschema
import pytest

from rlhf_trainer.config import load_schema
from conftest import EXAMPLE, example_config, read_events, run_trainer, write_config

TRAIN = EXAMPLE / "data" / "train.jsonl"
PER_TOKEN = ("tokens", "logprobs", "ref_logprobs", "kl", "advantages", "entropy")
# 8 prompts x 4 samples = 32 a step; train.batch_size 32: one optimizer step a rollout, so pi_old (and its
# entropy) comes from the generation pass; train.batch_size 16 makes the trainer recompute it in a forward
GROUPED = {"rollout.batch_size": 8, "rollout.n_samples_per_prompt": 4, "train.batch_size": 32,
           "train.micro_batch_size": 8, "logging.samples_per_step": None}


def read_samples(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def train(tmp_path, name, **overrides):
    cfg = example_config(**{"train.max_steps": 2, **GROUPED, **overrides})
    run_dir = tmp_path / name
    r = run_trainer(write_config(tmp_path, cfg, f"{name}.yaml"), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory, example_model):
    tmp = tmp_path_factory.mktemp("samples")
    return {"generation": train(tmp, "generation"), "recomputed": train(tmp, "recomputed", **{"train.batch_size": 16})}


def test_every_sample_of_every_step_is_recorded_with_its_group_and_dataset_line(runs):
    samples = read_samples(runs["generation"])
    assert [(s["step"], s["index"]) for s in samples] == [(step, i) for step in (1, 2) for i in range(32)]
    dataset = TRAIN.read_text().splitlines()
    schema = load_schema("sample.schema.json")
    for s in samples:
        jsonschema.validate(s, schema)
        assert (s["group"], s["sample_in_group"]) == divmod(s["index"], 4)
        assert s["source"]["file"] == str(TRAIN)
        row = json.loads(dataset[s["source"]["line"] - 1])  # the 1-based line holds this very prompt
        assert row["prompt"] == s["prompt"] and row["answer"] == s["label"]
        for key in PER_TOKEN:
            assert len(s[key]) == s["response_length"], key
        assert all(math.isfinite(h) and h >= 0 for h in s["entropy"])
    for step in (1, 2):  # the 4 samples of a group share a prompt; the 8 groups are 8 different lines
        groups = {}
        for s in samples:
            if s["step"] == step:
                groups.setdefault(s["group"], set()).add(s["source"]["line"])
        assert len(groups) == 8 and all(len(lines) == 1 for lines in groups.values())
        assert len({next(iter(lines)) for lines in groups.values()}) == 8


def test_entropy_from_the_generation_pass_equals_the_recomputing_forwards(runs):
    """Step 1 samples the same tokens from the same policy either way: the entropy the rollout recorded
    (one optimizer step a rollout) and the one the experience forward computed (two) must agree."""
    a = [s for s in read_samples(runs["generation"]) if s["step"] == 1]
    b = [s for s in read_samples(runs["recomputed"]) if s["step"] == 1]
    assert [s["tokens"] for s in a] == [s["tokens"] for s in b]
    flat = [(x, y) for s, t in zip(a, b) for x, y in zip(s["entropy"], t["entropy"])]
    assert len(flat) > 32 and max(x for x, _ in flat) > 0.1  # real distributions, not zeros
    assert max(abs(x - y) for x, y in flat) < 2e-3


def test_the_samples_event_is_light_and_valid(runs):
    schema = load_schema("events.schema.json")
    events = [e for e in read_events(runs["generation"]) if e["type"] == "samples"]
    assert [e["step"] for e in events] == [1, 2]
    for e in events:
        jsonschema.validate(e, schema)
        assert len(e["items"]) == 16 and not any(k in item for item in e["items"] for k in PER_TOKEN)
        assert {"group", "sample_in_group", "source"} <= set(e["items"][0])


def test_two_ranks_record_every_rank_s_samples_as_one_process_does(tmp_path, runs):
    """Under torchrun rank 0 writes the samples of both ranks, in global order, with the same groups and lines."""
    from test_distributed import run_ranks
    cfg = example_config(**{"train.max_steps": 2, **GROUPED})
    run_dir = tmp_path / "two"
    run_ranks(2, write_config(tmp_path, cfg), run_dir)
    one, two = read_samples(runs["generation"]), read_samples(run_dir)
    key = ("step", "index", "group", "sample_in_group", "source", "prompt", "tokens", "reward")
    assert [[s[k] for k in key] for s in two] == [[s[k] for k in key] for s in one]
    assert max(abs(x - y) for a, b in zip(one, two) for x, y in zip(a["entropy"], b["entropy"])) < 2e-3


def test_default_records_six_a_step_and_an_old_token_details_share_loads_with_a_warning(tmp_path, example_model):
    cfg = example_config(**{"train.max_steps": 1, "rollout.batch_size": 16, "train.batch_size": 16,
                            "train.micro_batch_size": 16})
    del cfg["logging"]["samples_per_step"]  # the schema's default
    cfg["logging"]["token_details_share"] = 0.25
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    samples = read_samples(run_dir)
    assert len(samples) == 6 and all(all(k in s for k in PER_TOKEN) for s in samples)
    log = (run_dir / "trainer.log").read_text()
    assert "logging.token_details_share 0.25 is deprecated and ignored" in log
