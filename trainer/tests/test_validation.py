"""Every config and data mistake fails `validate` (what the extension and CLI run before a start) with
exit 2 and one line naming the file, the line and the field, before any model weights load."""

import json
import shutil
import subprocess

import pytest
import yaml

from conftest import EXAMPLE, PY, ROOT, example_config, validate_here, write_config

WORKER = ROOT / "dist" / "reward-worker.js"


def validate(config, *extra):
    return validate_here("--config", config, *extra)


def line_of(path, section, key):
    """1-based line of `key:` inside the top-level `section:` of a YAML file (None section: top level)."""
    lines = path.read_text().splitlines()
    start = 0 if section is None else next(i for i, text in enumerate(lines) if text == f"{section}:") + 1
    needle = key if key.startswith("- ") else f"{key}:"
    return next(i for i, text in enumerate(lines[start:], start + 1) if text.strip().startswith(needle))


def write_prompts(tmp_path, text, name="train.jsonl"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


GOOD = "".join(json.dumps({"prompt": f"{i}+1=", "answer": str(i + 1)}) + "\n" for i in range(8))


def data_case(text, **over):
    return lambda tmp_path: {"data.prompts": write_prompts(tmp_path, text), "rollout.batch_size": 4,
                             "train.batch_size": 4, "train.micro_batch_size": 4, **over}


CASES = {
    # name: (overrides(tmp_path) -> dict, where the line points: (file 'data'|'config', section, key / data line), needle)
    "malformed-jsonl-line": (data_case(GOOD + '{"prompt": "1+1=", \n' + GOOD), ("data", 9, None), "not valid JSON"),
    "empty-file": (data_case("\n\n"), ("config", "data", "prompts"), "has no prompts (the file is empty)"),
    "missing-prompt-key": (data_case("".join(GOOD.splitlines(True)[:2]) + '{"question": "2+2=", "answer": "4"}\n' + GOOD),
                           ("data", 3, None), "data.prompt_key: no field 'prompt' (fields: answer, question)"),
    "non-object-row": (data_case(GOOD + "[1, 2]\n"), ("data", 9, None), "the line is a JSON list, not an object"),
    "fewer-prompts-than-a-rollout-batch": (data_case(GOOD, **{"rollout.batch_size": 16}), ("config", "rollout", "batch_size"),
                                           "has 8 prompts, fewer than one rollout batch of 16"),
    "label-key-in-no-row": (data_case(GOOD, **{"data.label_key": "solution"}), ("config", "data", "label_key"),
                            "no row of"),
    "adam-betas-out-of-range": (lambda t: {"train.adam_betas": [0.9, 1.5]}, ("config", "train", "- 1.5"),
                                "train.adam_betas[1]: must be < 1 (got 1.5)"),
    "input-template-other-placeholder": (lambda t: {"data.input_template": "Q: {question} A: {}"},
                                         ("config", "data", "input_template"), "needs exactly one {} where the prompt goes"),
    "input-template-no-placeholder": (lambda t: {"data.input_template": "Solve:"},
                                      ("config", "data", "input_template"), "it has 0 placeholder(s)"),
    "seed-out-of-range": (lambda t: {"seed": -1}, ("config", None, "seed"), "seed: must be >= 0 (got -1)"),
    "seed-too-large": (lambda t: {"seed": 2**40}, ("config", None, "seed"), "seed: must be <= 4294967295"),
    "eps-clip-high-negative": (lambda t: {"algorithm.eps_clip_high": -0.1}, ("config", "algorithm", "eps_clip_high"),
                               "algorithm.eps_clip_high: must be > 0 (got -0.1)"),
    "relative-model-path-missing": (lambda t: {"model.policy": "models/my-policy", "model.create_if_missing": None}, ("config", "model", "policy"),
                                    "is not a model in the local Hugging Face cache"),
    "reward-function-missing": (lambda t: {"reward.sources": [{"name": "c", "function": str(EXAMPLE / "reward.py") + ":score"}]},
                                ("config", "reward", "function"), "defines no function 'score'"),
    "max-new-tokens-beyond-positions": (lambda t: {"rollout.max_new_tokens": 60}, ("config", "rollout", "max_new_tokens"),
                                        "beyond the model's 64 positions (max_position_embeddings"),
    "rollout-smaller-than-train-batch": (lambda t: {"rollout.batch_size": 16}, ("config", "train", "batch_size"),
                                         "a rollout batch holds 16 samples (rollout.batch_size 16 x n_samples_per_prompt 1), "
                                         "not a multiple of train.batch_size 64"),
    "rollout-not-a-multiple": (lambda t: {"rollout.batch_size": 96}, ("config", "train", "batch_size"),
                               "would train on 64 and skip 32; set rollout.batch_size to 128"),
}


@pytest.mark.parametrize("name", CASES)
def test_mistake_fails_validate_with_file_line_and_field(tmp_path, example_model, name):
    overrides, (kind, section, key), needle = CASES[name][0](tmp_path), *CASES[name][1:]
    cfg = example_config(**overrides)
    config = write_config(tmp_path, cfg)
    r = validate(config)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert needle in lines[0], lines[0]
    if kind == "data":
        assert f"{cfg['data']['prompts']}:{section}: " in lines[0], lines[0]
    else:
        assert f"{config}:{line_of(config, section, key)}: " in lines[0], lines[0]


def _rules_config(tmp_path, rule):
    cfg = example_config()
    cfg["reward"] = {"rules": [{"name": "correct", "kind": "answer_match", "extract": "full"}, rule]}
    return write_config(tmp_path, cfg)


@pytest.mark.skipif(not WORKER.is_file() or not shutil.which("node"), reason="needs `npm run build` (dist/reward-worker.js) and node")
@pytest.mark.parametrize("rule,needle", [
    ({"kind": "regex", "pattern": "(unclosed"}, "invalid pattern"),
    ({"kind": "answer_match", "extract": {"regex": "[a-"}}, "invalid extract.regex"),
    ({"kind": "module", "path": "rewards/missing.reward.ts"}, "missing.reward.ts not found"),
])
def test_bad_rule_fails_validate_at_its_line(tmp_path, rule, needle):
    config = _rules_config(tmp_path, rule)
    r = validate(config)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    text = config.read_text().splitlines()
    rule_line = [i for i, line in enumerate(text, 1) if line.lstrip().startswith("- ")][-1]
    assert f"{config}:{rule_line}: reward.rules[1]: " in lines[0], lines[0]


def test_run_with_a_data_mistake_exits_2_before_creating_the_run(tmp_path, example_model):
    cfg = example_config(**data_case(GOOD + "not json\n")(tmp_path))
    run_dir = tmp_path / "run"
    r = subprocess.run([PY, "-m", "rlhf_trainer", "run", "--config", str(write_config(tmp_path, cfg)), "--run-dir",
                        str(run_dir)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2 and "train.jsonl:9: not valid JSON" in r.stderr, r.stderr
    assert not run_dir.exists()


def test_relative_model_path_resolves_against_the_config_file(tmp_path, example_model):
    shutil.copytree(example_model, tmp_path / "models" / "policy")
    cfg = example_config(**{"model.policy": "models/policy"})
    other = tmp_path / "elsewhere"
    other.mkdir()
    r = subprocess.run([PY, "-m", "rlhf_trainer", "validate", "--config", str(write_config(tmp_path, cfg))],
                       capture_output=True, text=True, cwd=other, timeout=300,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "trainer")})
    assert r.returncode == 0, r.stderr


def test_valid_example_still_validates():
    r = validate(EXAMPLE / "config.yaml")
    assert r.returncode == 0, r.stderr
    assert "ok (reinforce_pp" in r.stdout
    yaml.safe_load((EXAMPLE / "config.yaml").read_text())


MULTI = {
    # several independent mistakes in one config: validate reports every one, each at its own line
    "grpo-batches-clip-kl-positions-reward": (
        lambda t: {"algorithm.estimator": "grpo", "algorithm.dual_clip": 0.5, "algorithm.kl.mode": "loss",
                   "rollout.max_new_tokens": 60, "train.micro_batch_size": 48,
                   "reward.sources": [{"name": "c", "function": str(EXAMPLE / "reward.py") + ":score"}]},
        [(("rollout", "n_samples_per_prompt"), "estimator 'grpo' compares samples of the same prompt"),
         (("train", "batch_size"), "batch_size 64 is not a multiple of micro_batch_size 48"),
         (("algorithm", "dual_clip"), "dual_clip must be greater than 1"),
         (("algorithm", "kl", "estimator"), "algorithm.kl.estimator: k1 as a loss has no useful gradient"),
         (("reward", "function"), "defines no function 'score'"),
         (("rollout", "max_new_tokens"), "beyond the model's 64 positions")]),
    "schema-mistakes-together": (
        lambda t: {"seed": -1, "algorithm.eps_clip_high": -0.1, "train.adam_betas": [0.9, 1.5]},
        [(("seed",), "seed: must be >= 0"),
         (("algorithm", "eps_clip_high"), "algorithm.eps_clip_high: must be > 0"),
         (("train", "- 1.5"), "train.adam_betas[1]: must be < 1")]),
    "data-and-config-mistakes": (
        data_case(GOOD + "not json\n", **{"train.micro_batch_size": 3, "algorithm.reward_clip": [1, -1]}),
        [(("train", "batch_size"), "batch_size 4 is not a multiple of micro_batch_size 3"),
         (("algorithm", "reward_clip"), "reward_clip must be [low, high] with low < high"),
         ("data:9", "not valid JSON")]),
}


def nested_line(path, keys):
    """1-based line of the last of `keys`, each looked for after the line of the one before."""
    lines, at = path.read_text().splitlines(), 0
    for key in keys:
        needle = key if key.startswith("- ") else f"{key}:"
        at = next(i for i, text in enumerate(lines[at:], at + 1) if text.strip().startswith(needle))
    return at


@pytest.mark.parametrize("name", MULTI)
def test_every_mistake_of_a_config_is_reported_at_its_line(tmp_path, example_model, name):
    overrides, expected = MULTI[name][0](tmp_path), MULTI[name][1]
    cfg = example_config(**overrides)
    config = write_config(tmp_path, cfg)
    r = validate(config)
    assert r.returncode == 2 and "Traceback" not in r.stderr, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == len(expected), r.stderr
    for where, needle in expected:
        prefix = f"{cfg['data']['prompts']}:{where[5:]}: " if where == "data:9" else f"{config}:{nested_line(config, where)}: "
        assert any(line.startswith(f"config error: {prefix}") and needle in line for line in lines), (prefix, needle, r.stderr)


def test_a_tokenizer_with_neither_pad_nor_eos_fails_validate_before_any_model_loads(tmp_path, example_model):
    model = tmp_path / "model"
    model.mkdir()
    for f in example_model.iterdir():
        if f.name != "model.safetensors":  # no weights: validate must not need them
            shutil.copy(f, model / f.name)
    tok = json.loads((model / "tokenizer_config.json").read_text())
    del tok["eos_token"], tok["pad_token"]
    (model / "tokenizer_config.json").write_text(json.dumps(tok))
    config = write_config(tmp_path, example_config(**{"model.policy": str(model), "model.create_if_missing": None}))
    r = validate(config)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"{config}:{line_of(config, 'model', 'policy')}: model.policy:" in lines[0], lines[0]
    assert "has neither a pad token nor an eos token" in lines[0], lines[0]


@pytest.mark.parametrize("prompt,new,positions,expected", [
    # issue #22: a preset's 1024 new tokens for a 64-position model; the old message also said "max_prompt_tokens to 1"
    (7, 1024, 64, "lower rollout.max_new_tokens to 57"),
    (7, 60, 64, "lower rollout.max_new_tokens to 57 or lower data.max_prompt_tokens to 4"),
    (40, 30, 64, "lower rollout.max_new_tokens to 24 or lower data.max_prompt_tokens to 34"),
    # the prompt alone fills the positions: a shorter cap that keeps half of it
    (100, 10, 64, "lower data.max_prompt_tokens to 54"),
    # neither alone works: both, half of the positions for the prompt
    (1024, 1024, 64, "set data.max_prompt_tokens to 32 and set rollout.max_new_tokens to 32"),
    (10, 1024, 8, "set data.max_prompt_tokens to 4 and set rollout.max_new_tokens to 4"),
])
def test_length_fixes_propose_a_split_that_works(prompt, new, positions, expected):
    from rlhf_trainer.preflight import length_fixes
    got = length_fixes(prompt, new, positions)
    assert got == expected
    for fix in got.split(" or "):  # every fix offered fits the positions (each alone, or the pair together)
        p = int(fix.split("max_prompt_tokens to ")[1].split()[0]) if "max_prompt_tokens" in fix else prompt
        n = int(fix.rsplit("max_new_tokens to ", 1)[1]) if "max_new_tokens" in fix else new
        assert min(p, prompt) + n <= positions and p >= 1 and n >= 1, fix
        assert "max_prompt_tokens to 1 " not in fix + " "


def test_preset_length_for_the_example_model_suggests_fewer_new_tokens(tmp_path, example_model):
    cfg = example_config(**{"rollout.max_new_tokens": 1024, "data.max_prompt_tokens": 1024})
    r = validate(write_config(tmp_path, cfg))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "beyond the model's 64 positions" in r.stderr and "lower rollout.max_new_tokens to " in r.stderr, r.stderr
    assert "max_prompt_tokens to" not in r.stderr, r.stderr


def test_facts_are_what_the_prompt_length_check_reads(tmp_path, example_model):
    """`validate --facts` (the editor keeps them per model folder and checks prompt lengths as you type,
    src/core/quickCheck.ts): the model's positions and the longest prompt's tokens before the cap; the length
    check fails exactly where those facts say it must."""
    config = write_config(tmp_path, example_config(**{"data.max_prompt_tokens": 1024}))
    r = validate(config, "--facts", "--no-estimates")
    assert r.returncode == 0, r.stderr
    facts = json.loads(next(line for line in r.stdout.splitlines() if line.startswith("facts: "))[len("facts: "):])
    assert facts["positions"] == 64 and facts["positions_key"] == "max_position_embeddings"
    assert 0 < facts["longest_prompt"] < 64
    fits = facts["positions"] - facts["longest_prompt"]
    assert validate(write_config(tmp_path, example_config(**{"rollout.max_new_tokens": fits}))).returncode == 0
    over = validate(write_config(tmp_path, example_config(**{"rollout.max_new_tokens": fits + 1})))
    assert over.returncode == 2 and "rollout.max_new_tokens" in over.stderr
    assert "facts: " not in validate(config).stdout  # only when asked
