"""A bad config exits 2 before any model loads, with one line naming file, line, field and fix."""

import subprocess
import sys

import pytest

from rlhf_trainer.config import ConfigError, load_config
from conftest import ROOT, example_config, validate_here, write_config

PY = sys.executable


def validate(path):
    return validate_here("--config", path)


def test_example_config_is_valid_and_defaults_come_from_schema():
    cfg = load_config(ROOT / "examples" / "arithmetic" / "config.yaml")
    assert cfg["algorithm"]["eps_clip"] == 0.2          # schema default
    assert cfg["train"]["adam_betas"] == [0.9, 0.95]
    assert cfg["model"]["policy"].endswith("examples/arithmetic/model")
    assert cfg["reward"]["rule_time_budget_ms"] == 1000
    assert cfg["reward"]["rules"][0]["kind"] == "answer_match"


def test_reward_source_defaults_inside_array_items(tmp_path):
    cfg = load_config(write_config(tmp_path, example_config()))
    assert cfg["reward"]["sources"][0]["weight"] == 1.0


def test_unknown_key_names_file_line_and_allowed_keys(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text((ROOT / "examples/arithmetic/config.yaml").read_text().replace("  max_steps: 200", "  max_stepz: 200"))
    r = validate(p)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    line_no = next(i for i, text in enumerate(p.read_text().splitlines(), 1) if "max_stepz" in text)
    assert f"c.yaml:{line_no}: train.max_stepz: unknown key 'max_stepz'" in lines[0]
    assert "max_steps" in lines[0]


@pytest.mark.parametrize("override,needle", [
    ({"rollout.batch_size": "many"}, "rollout.batch_size: expected integer"),
    ({"algorithm.estimator": "grpo"}, "needs n_samples_per_prompt >= 2"),
    ({"algorithm.estimator": "reinforce_pp_baseline", "rollout.n_samples_per_prompt": 1}, "use estimator reinforce_pp"),
    ({"data.prompts": "nope.jsonl"}, "data.prompts: prompt file"),
    ({"algorithm.kl.mode": "loss"}, "use k2"),
    ({"algorithm.estimator": "ppo2"}, "use one of reinforce_pp"),
    ({"train.micro_batch_size": 128}, "exceeds train.batch_size"),
    ({"algorithm.dual_clip": 0.5}, "dual_clip must be greater than 1"),
])
def test_bad_values_fail_with_one_clear_line(tmp_path, override, needle):
    p = write_config(tmp_path, example_config(**override))
    r = validate(p)
    assert r.returncode == 2, r.stdout
    assert needle in r.stderr
    assert str(p) in r.stderr
    assert "Traceback" not in r.stderr


def test_run_with_bad_config_exits_before_loading_anything(tmp_path):
    p = write_config(tmp_path, example_config(**{"algorithm.estimator": "rloo"}))
    r = subprocess.run([PY, "-m", "rlhf_trainer", "run", "--config", str(p), "--run-dir", str(tmp_path / "run")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert not (tmp_path / "run").exists()


def test_yaml_syntax_error_reports_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  policy: x\n data: [\n")
    with pytest.raises(ConfigError, match=r"c.yaml:\d+: YAML syntax error"):
        load_config(p)


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/config.yaml")


def test_rules_without_the_rule_engine_say_how_to_build_it(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text((ROOT / "examples/arithmetic/config.yaml").read_text())
    import shutil
    shutil.copytree(ROOT / "examples/arithmetic/data", tmp_path / "data")
    r = subprocess.run([PY, "-m", "rlhf_trainer", "validate", "--config", str(p)], capture_output=True, text=True,
                       cwd=ROOT, env={**__import__("os").environ, "RLHF_REWARD_WORKER": "/nowhere/reward-worker.js"})
    assert r.returncode == 2
    assert "reward.rules: reward.rules are evaluated by the rule engine /nowhere/reward-worker.js" in r.stderr
    assert "npm run build" in r.stderr
