"""`validate` estimates memory per device from the model's config.json (no weights) and time per step from
the newest run of the same model; both are `estimate:` lines on stdout, never problems."""

import json
import re
import statistics
import subprocess

from conftest import PY, ROOT, example_config, metrics, run_trainer, validate_here, write_config


def validate(config, runs_dir):
    return validate_here("--config", config, "--runs-dir", runs_dir)


def estimates(r) -> dict[str, str]:
    assert r.returncode == 0, r.stderr
    return {m.group(1): m.group(2) for m in re.finditer(r"^estimate: (memory per device|time per step) ~ (.*)$", r.stdout, re.M)}


def llama_parameters(c: dict) -> int:
    """The parameter count of a Llama from its config.json, written out (tied embeddings: one matrix)."""
    h, heads, kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or h // heads
    attn = h * heads * hd + 2 * h * kv * hd + heads * hd * h
    mlp = 3 * h * c["intermediate_size"]
    layer = attn + mlp + 2 * h
    embed = c["vocab_size"] * h * (1 if c["tie_word_embeddings"] else 2)
    return embed + c["num_hidden_layers"] * layer + h


def test_memory_estimate_of_the_embedded_example_is_the_stated_formula(tmp_path, example_model):
    conf = json.loads((example_model / "config.json").read_text())
    assert conf["model_type"] == "llama"
    cfg = example_config()  # reinforce_pp with a KL reference, train micro-batch 64, CPU: fp32 activations
    r = validate(write_config(tmp_path, cfg), tmp_path / "no-runs")
    line = estimates(r)["memory per device"]
    params = llama_parameters(conf)
    # the character tokenizer: <bos> and one token per character
    longest_prompt = 1 + max(len(json.loads(x)["prompt"]) for x in open(cfg["data"]["prompts"]))
    tokens = longest_prompt + cfg["rollout"]["max_new_tokens"]
    logits = min(cfg["train"]["micro_batch_size"] * cfg["rollout"]["max_new_tokens"] * conf["vocab_size"] * 4, 256 * 2**20) * 3
    expected = (params * 16 + params * 4 + logits
                + cfg["train"]["micro_batch_size"] * tokens * conf["hidden_size"] * conf["num_hidden_layers"] * 17 * 4)
    assert f"{params:,} parameters" in line, line
    assert line.startswith(f"{expected / 2**20:.3g} MiB ("), (line, expected)
    # the critic of PPO is counted as a second trained model, with its activations
    ppo = example_config(**{"algorithm.estimator": "ppo"})
    line = estimates(validate(write_config(tmp_path, ppo, "ppo.yaml"), tmp_path / "no-runs"))["memory per device"]
    critic = (params + conf["hidden_size"] + 1) * 16
    acts = 2 * ppo["train"]["micro_batch_size"] * tokens * conf["hidden_size"] * conf["num_hidden_layers"] * 17 * 4
    assert line.startswith(f"{(params * 16 + params * 4 + critic + acts + logits) / 2**20:.3g} MiB ("), line
    # a token budget sets the activations of a pass, whatever micro_batch_size says
    budget = example_config(**{"train.micro_batch_tokens": 1000})
    line = estimates(validate(write_config(tmp_path, budget, "budget.yaml"), tmp_path / "no-runs"))["memory per device"]
    assert "activations 1000 tokens per micro-batch" in line, line


def test_time_estimate_comes_from_the_last_run_of_the_same_model(tmp_path, example_model):
    runs = tmp_path / "runs"
    cfg = example_config(**{"train.max_steps": 2, "rollout.batch_size": 16, "train.batch_size": 16, "train.micro_batch_size": 16})
    config = write_config(tmp_path, cfg)
    assert "time per step" not in estimates(validate(config, runs))  # no run yet

    r = run_trainer(config, runs / "first")
    assert r.returncode == 0, r.stderr
    step_s = [v["step_s"] for v in metrics(runs / "first").values()]
    line = estimates(validate(config, runs))["time per step"]
    assert line == f"{statistics.median(step_s):.3g} s (median of {len(step_s)} steps of run first, same model)", line

    # twice the samples per step: scaled from the run's
    bigger = write_config(tmp_path, {**cfg, "rollout": {**cfg["rollout"], "batch_size": 32}}, "bigger.yaml")
    line = estimates(validate(bigger, runs))["time per step"]
    assert line.startswith(f"{statistics.median(step_s) * 2:.3g} s (") and "scaled from its 16 to 32 samples" in line, line

    # another model has no earlier run
    other = tmp_path / "other-model"
    other.symlink_to(example_model, target_is_directory=True)
    assert "time per step" not in estimates(validate(write_config(tmp_path, {**cfg, "model": {**cfg["model"], "policy": str(other)}},
                                                                 "other.yaml"), runs))


def test_the_check_before_a_start_makes_no_estimates(tmp_path, example_model):
    """--no-estimates (what Start Training and rlhf train pass): the same verdict, no estimate lines."""
    config = write_config(tmp_path, example_config())
    r = subprocess.run([PY, "-m", "rlhf_trainer", "validate", "--config", str(config), "--no-estimates"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ok (" in r.stdout and "estimate:" not in r.stdout, r.stdout
    assert "memory per device" in estimates(validate(config, tmp_path / "no-runs"))
