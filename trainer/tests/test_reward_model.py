"""A reward model as a reward source (reward.sources[i].reward_model): it scores what transformers scores,
batched, through the chat template when there is one, normalised on request; a model that is not a one-label
sequence classifier is one line before training."""

import subprocess

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

from rlhf_trainer.rewards import RewardHub, RewardItem
from rlhf_trainer.runconfig import RewardConfig, RewardSourceConfig
from rlhf_trainer.reward_model import RunningMoments, sequence_text
from conftest import PY, ROOT, example_config, write_config


def save_tiny_classifier(folder, num_labels=1, seed=0):
    """A tiny Llama sequence classifier with the embedded character tokenizer, built from a config."""
    from rlhf_trainer.bootstrap import build_tokenizer
    tok = build_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64, num_labels=num_labels,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = LlamaForSequenceClassification(config)
    torch.nn.init.normal_(model.score.weight, std=1.0)  # scores far apart enough to compare
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_rm(tmp_path_factory):
    return save_tiny_classifier(tmp_path_factory.mktemp("rm") / "rm")


def test_a_reward_model_source_scores_what_transformers_scores(tiny_rm):
    reward = RewardConfig(fallback=0.0, timeout_s=60, rules=(), rule_time_budget_ms=1000, sources=(
        RewardSourceConfig(name="rm", weight=1.0, reward_model=str(tiny_rm), batch_size=3),))
    items = [RewardItem(prompt=p, response=r) for p, r in
             [("12+7=", "19"), ("3+45=", "48??"), ("1+1=", "2?"), ("40+2=", "42"), ("9+9=", "1")]]
    hub = RewardHub(reward)
    try:
        scored = hub.score(items)
    finally:
        hub.close()
    tok = AutoTokenizer.from_pretrained(tiny_rm)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_rm).eval()
    with torch.no_grad():
        direct = [model(**tok(i.prompt + i.response, return_tensors="pt")).logits[0, 0].item() for i in items]
    got = [s["rm"] for s in scored.per_source]
    assert got == pytest.approx(direct, abs=1e-5)
    assert scored.total == pytest.approx(direct, abs=1e-5)
    assert len(set(round(x, 4) for x in direct)) > 1  # the comparison is not between constants


def test_chat_messages_go_through_the_template_and_normalising_keeps_running_moments(tiny_rm):
    tok = AutoTokenizer.from_pretrained(tiny_rm)
    assert sequence_text(tok, "12+7=", "19") == "12+7=19"
    messages = [{"role": "user", "content": "12+7="}]
    assert sequence_text(tok, messages, "19") == "12+7=19"  # no template: the contents, concatenated
    tok.chat_template = "{% for m in messages %}{{ m['role'][0] }}:{{ m['content'] }} {% endfor %}"
    assert sequence_text(tok, messages, "19") == "u:12+7= a:19 "
    moments = RunningMoments()
    moments.update([1.0, 2.0, 3.0])
    moments.update([4.0])
    values = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert moments.mean == pytest.approx(values.mean().item())
    assert moments.std == pytest.approx(values.std(unbiased=False).item())


@pytest.mark.parametrize("labels, words", [(2, "has 2 labels; a reward model has exactly one"),
                                           (None, "is not a sequence-classification model")])
def test_a_reward_model_that_is_not_one_label_is_one_line_before_training(tmp_path, example_model, labels, words):
    rm = save_tiny_classifier(tmp_path / "rm", num_labels=labels) if labels else example_model
    cfg = example_config()
    cfg["reward"] = {"sources": [{"name": "rm", "reward_model": str(rm)}]}
    config = write_config(tmp_path, cfg)
    r = subprocess.run([PY, "-m", "rlhf_trainer", "validate", str(config), "--no-estimates"], capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert ": reward.sources[0].reward_model: " in lines[0] and words in lines[0], lines[0]
