"""Reward-model training as a run (config kind: reward_model): it learns a learnable preference, its run
folder is a run's (events by the schema, status, checkpoints that resume exactly), it ends with a
save_pretrained folder a reward source loads; OpenRLHF's and TRL's pair formats load; bad input is one line
before training."""

import json
import random
import subprocess

import jsonschema
import pytest
import torch
import yaml
from safetensors.torch import load_file

from rlhf_trainer.config import load_schema
from rlhf_trainer.reward_model import sequence_text
from rlhf_trainer.runfolder import complete_checkpoints
from rlhf_trainer.runconfig import RMDataConfig
from rlhf_trainer.train_rm import bradley_terry_loss, read_pairs
from conftest import PY, ROOT, read_events, run_trainer

DATA = RMDataConfig(train="", eval=None, eval_share=0.1, prompt_key="prompt", chosen_key="chosen", rejected_key="rejected",
                    margin_key="margin", max_length=512, max_samples=10**6)


def save_tiny_lm(folder):
    from transformers import LlamaConfig, LlamaForCausalLM
    from rlhf_trainer.bootstrap import build_tokenizer
    tok = build_tokenizer()
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                                 bos_token_id=1, eos_token_id=2, pad_token_id=0)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def synthetic_pairs(path, n, seed):
    """The rater prefers an answer with a question mark somewhere inside it; the digits are noise, and both
    answers are four characters ending in a digit (the last token alone does not tell them apart)."""
    rng = random.Random(seed)

    def answer(mark: bool) -> str:
        chars = [str(rng.randint(0, 9)) for _ in range(4)]
        if mark:
            chars[rng.randint(0, 2)] = "?"
        return "".join(chars)

    with open(path, "w") as f:
        for _ in range(n):
            a, b = rng.randint(0, 49), rng.randint(0, 49)
            f.write(json.dumps({"prompt": f"{a}+{b}=", "chosen": answer(True), "rejected": answer(False)}) + "\n")
    return path


def rm_config(tmp_path, **train):
    base = save_tiny_lm(tmp_path / "base")
    cfg = {"kind": "reward_model", "name": "rm", "device": "cpu",
           "model": {"base": str(base)},
           "data": {"train": str(synthetic_pairs(tmp_path / "prefs.jsonl", 640, 0)),
                    "eval": str(synthetic_pairs(tmp_path / "held-out.jsonl", 100, 1)), "max_length": 16},
           "train": {"batch_size": 16, "micro_batch_size": 8, "lr": 0.003, "warmup_ratio": 0.0, **train},
           "eval": {"every_steps": 20}, "checkpoint": {"every_steps": 20}}
    path = tmp_path / "rm.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_train_rm_learns_a_preference_and_its_run_folder_is_a_run(tmp_path):
    config = rm_config(tmp_path, max_steps=40)
    r = run_trainer(config, tmp_path / "run", "--no-stdin")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "run" / "reward_model"
    assert f"reward model: {out}" in r.stdout.splitlines()[-1]
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "completed" and status["reward_model"] == str(out) and status["kind"] == "reward_model"
    events = read_events(tmp_path / "run")
    validator = jsonschema.Draft7Validator(load_schema("events.schema.json"))
    assert [e["type"] for e in events if list(validator.iter_errors(e))] == []
    assert {"run_started", "progress", "metrics", "eval", "checkpoint", "log", "run_finished"} <= {e["type"] for e in events}
    last = [e for e in events if e["type"] == "metrics"][-1]["values"]
    assert last["eval_rm_accuracy"] >= 0.9, last
    evals = [e["values"]["eval_rm_accuracy"] for e in events if e["type"] == "eval"]
    assert evals[0] < 0.9 <= evals[-1], evals  # learnt here, not there from the start
    assert any(e["type"] == "log" and e["message"] == f"reward model: {out}" for e in events)

    # the output is what a reward source loads (and transformers: one label)
    from rlhf_trainer.rewards import RewardHub, RewardItem
    from rlhf_trainer.runconfig import RewardConfig, RewardSourceConfig
    hub = RewardHub(RewardConfig(fallback=0.0, timeout_s=60, rules=(), rule_time_budget_ms=1000,
                                 sources=(RewardSourceConfig(name="rm", weight=1.0, reward_model=str(out)),)))
    s = hub.score([RewardItem(prompt="3+4=", response="7?12"), RewardItem(prompt="3+4=", response="7312")]).total
    hub.close()
    assert s[0] > s[1]

    # a resume from step 20 ends with the same weights as the uninterrupted run
    first = complete_checkpoints(tmp_path / "run")[0]
    assert first.name == "step-000020"
    r = run_trainer(config, tmp_path / "resumed", "--no-stdin", "--resume", str(first))
    assert r.returncode == 0, r.stderr
    a = load_file(str(tmp_path / "run" / "checkpoints" / "step-000040" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "checkpoints" / "step-000040" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_openrlhf_and_trl_pair_formats_load(tmp_path):
    from rlhf_trainer.bootstrap import build_tokenizer
    rows = [
        {"prompt": "1+1=", "chosen": "2", "rejected": "3"},  # rlhf labels export, TRL explicit prompt
        {"chosen": "1+1=2", "rejected": "1+1=3"},  # TRL implicit prompt
        {"prompt": [{"role": "user", "content": "1+1="}], "chosen": [{"role": "assistant", "content": "2"}],
         "rejected": [{"role": "assistant", "content": "3"}]},  # TRL conversational
        {"chosen": [{"role": "user", "content": "1+1="}, {"role": "assistant", "content": "2"}],
         "rejected": [{"role": "user", "content": "1+1="}, {"role": "assistant", "content": "3"}], "margin": 0.5},  # OpenRLHF
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs, _ = read_pairs(str(path), DATA)
    tok = build_tokenizer()
    texts = [(sequence_text(tok, p.prompt, p.chosen), sequence_text(tok, p.prompt, p.rejected)) for p in pairs]
    assert texts == [("1+1=2", "1+1=3")] * 4
    assert [p.margin for p in pairs] == [0.0, 0.0, 0.0, 0.5]
    assert bradley_terry_loss(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([0.0])).item() == \
        pytest.approx(-torch.nn.functional.logsigmoid(torch.tensor(1.0)).item())


@pytest.mark.parametrize("row, field", [
    ({"prompt": "1+1=", "chosen": "2"}, "data.rejected_key"),
    ({"prompt": "1+1=", "rejected": "2", "chosen": ""}, "data.chosen_key"),
])
def test_a_pair_with_a_missing_field_is_one_line_before_training(tmp_path, row, field):
    config = rm_config(tmp_path)
    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text(prefs.read_text() + json.dumps(row) + "\n")
    r = subprocess.run([PY, "-m", "rlhf_trainer", "run", "--config", str(config), "--run-dir", str(tmp_path / "run"),
                        "--no-stdin"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert f"prefs.jsonl:641: {field}: " in lines[0], lines[0]
    assert not (tmp_path / "run").exists()  # nothing started


def test_a_base_with_two_labels_is_one_line_at_validate(tmp_path):
    from test_reward_model import save_tiny_classifier
    config = rm_config(tmp_path)
    cfg = yaml.safe_load(config.read_text())
    cfg["model"]["base"] = str(save_tiny_classifier(tmp_path / "two", num_labels=2))
    config.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([PY, "-m", "rlhf_trainer", "validate", str(config)], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert ": model.base: " in lines[0] and "2 labels" in lines[0], lines[0]
