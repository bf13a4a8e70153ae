"""The batch arithmetic (issue #22): config.py batch_problems gives the problems of the shared fixture, which
src/core/batches.ts is tested on too (test/unit/batches.test.ts), so the editor's Quick Fixes and the trainer's
messages agree; the rollout rule is named while the train batch is wrong."""

import json
from pathlib import Path

from conftest import example_config, validate_here, write_config
from rlhf_trainer.config import batch_problems

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "batch_rules.json").read_text())


def test_batch_problems_match_the_shared_fixture():
    assert len(FIXTURE["cases"]) >= 10
    for case in FIXTURE["cases"]:
        s = case["sizes"]
        got = batch_problems(s["rolloutBatch"], s["samplesPerPrompt"], s["trainBatch"], s["microBatch"], s["maxEpochs"])
        assert [{"field": ".".join(path), "message": msg} for path, msg in got] == case["problems"], s


def test_validate_names_the_rollout_rule_while_the_train_batch_is_wrong(tmp_path, example_model):
    cfg = example_config(**{"rollout.batch_size": 96, "train.batch_size": 50, "train.micro_batch_size": 8})
    r = validate_here("--config", write_config(tmp_path, cfg))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if "train.batch_size" in line]
    assert len(lines) == 1, r.stderr
    assert "batch_size 50 is not a multiple of micro_batch_size 8, nor does it divide a rollout batch of 96 samples" in lines[0]
    assert lines[0].endswith("; set train.batch_size to 48"), lines[0]
