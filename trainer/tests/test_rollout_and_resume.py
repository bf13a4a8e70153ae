"""Rollouts come from the distribution the loss assumes, long prompts keep their end, and a resume with a
changed config applies or refuses each key (never half-applies it)."""

import json
import math
import shutil

import pytest
import torch

from rlhf_trainer.config import load_config
from rlhf_trainer.rollout import generation_config, logits_processors, own_generation_defaults
from rlhf_trainer.runfolder import RunFolder
from rlhf_trainer.trainer import Trainer
from conftest import EXAMPLE, example_config, metrics, read_events, run_trainer, validate_here, write_config


def _trainer(tmp_path, **overrides) -> Trainer:
    cfg = load_config(write_config(tmp_path, example_config(**overrides)))
    t = Trainer(cfg, RunFolder(tmp_path / "run"))
    t.setup()
    return t


def test_default_rollout_samples_from_the_full_softmax(tmp_path, example_model):
    t = _trainer(tmp_path)
    try:
        # the default config (temperature 1, no top_p/top_k): generate() applies no processor at all
        assert logits_processors(t.policy, generation_config(t.rc.rollout, t.tokenizer)) == []
        # with a vocabulary wider than transformers' default top-k of 50, nothing is masked out
        from transformers import LlamaConfig, LlamaForCausalLM
        torch.manual_seed(0)
        wide = LlamaForCausalLM(LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                                            bos_token_id=1, eos_token_id=2, pad_token_id=0))
        wide.generation_config.top_k = 20  # a model's own generation_config.json must not leak into rollouts
        t.policy = wide
        ids = torch.tensor([[1, 5, 6, 7]])
        with own_generation_defaults(wide):
            out = wide.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                generation_config=generation_config(t.rc.rollout, t.tokenizer),
                                output_scores=True, output_logits=True, return_dict_in_generate=True)
        for scores, logits in zip(out.scores, out.logits):
            assert torch.isfinite(scores).all()  # top-k would set all but k logits to -inf
            torch.testing.assert_close(scores, logits)
    finally:
        t.close()


@pytest.mark.parametrize("overrides,expected", [
    ({"rollout.temperature": 0.7}, ["TemperatureLogitsWarper"]),
    ({"rollout.top_k": 5}, ["TopKLogitsWarper"]),
    ({"rollout.top_p": 0.9}, ["TopPLogitsWarper"]),
])
def test_only_the_configured_sampling_parameters_apply(tmp_path, example_model, overrides, expected):
    t = _trainer(tmp_path, **overrides)
    try:
        assert logits_processors(t.policy, generation_config(t.rc.rollout, t.tokenizer)) == expected
    finally:
        t.close()


def test_truncating_sampler_and_long_prompts_are_warned_and_prompts_keep_their_end(tmp_path, example_model):
    cfg = example_config(**{"train.max_steps": 1, "rollout.top_p": 0.9, "data.max_prompt_tokens": 3})
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    events = read_events(run_dir)
    sampling = events[0]["sampling"]
    assert (sampling["temperature"], sampling["top_p"], sampling["top_k"]) == (1.0, 0.9, 0)
    warnings = [e["message"] for e in events if e["type"] == "log" and e["level"] == "warning"]
    assert any("rollout.top_p 0.9 sample from a truncated distribution" in w and "reinforce_pp" in w for w in warnings)
    n = sum(1 for line in open(EXAMPLE / "data" / "train.jsonl") if line.strip())
    assert any(w.startswith(f"{n} of {n} training prompts are longer than data.max_prompt_tokens 3") for w in warnings)
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    # 3 tokens = <bos> + the last 2 characters: the "=" next to the response survives
    assert samples and all(len(s["prompt"]) == 2 and s["prompt"].endswith("=") for s in samples), \
        [s["prompt"] for s in samples]


# ---- resume with a changed config ---------------------------------------------------------------

@pytest.fixture(scope="module")
def base_run(tmp_path_factory, example_model):
    """A 3-step run with its checkpoint at step 3 (lr 2e-4, kl.coef 0.001, betas 0.9/0.95)."""
    tmp = tmp_path_factory.mktemp("base")
    shutil.copy(EXAMPLE / "data" / "train.jsonl", tmp / "train.jsonl")
    cfg = example_config(**{"train.max_steps": 3, "data.prompts": str(tmp / "train.jsonl")})
    run_dir = tmp / "run"
    r = run_trainer(write_config(tmp, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    return cfg, run_dir / "checkpoints" / "step-000003"


def _validate_resume(tmp_path, cfg, ckpt):
    """`validate --resume` in this process (validate_here: no interpreter start per call)."""
    return validate_here("--config", write_config(tmp_path, cfg), "--resume", ckpt)


@pytest.mark.parametrize("key,value,old", [
    ("seed", 43, "42"), ("rollout.batch_size", 64, "128"), ("train.batch_size", 128, "64"),
    ("algorithm.estimator", "ppo", '"reinforce_pp"'), ("train.max_epochs", 2, "1"),
])
def test_resume_refuses_a_change_it_cannot_apply(tmp_path, base_run, key, value, old):
    cfg, ckpt = base_run
    changed = json.loads(json.dumps(cfg))
    node = changed
    *parents, leaf = key.split(".")
    for k in parents:
        node = node.setdefault(k, {})
    node[leaf] = value
    r = _validate_resume(tmp_path, changed, ckpt)
    assert r.returncode == 2, (r.stdout, r.stderr)
    line = r.stderr.strip()
    assert f"{key}: changed from {old} to {json.dumps(value)} since checkpoint step-000003" in line, line
    assert "config.yaml:" in line and f"set it back to {old}" in line
    # `run` refuses the same way, before creating the run folder
    run_dir = tmp_path / "resumed"
    r = run_trainer(write_config(tmp_path, changed), run_dir, "--resume", str(ckpt))
    assert r.returncode == 2 and key in r.stderr and not run_dir.exists()


def test_resume_refuses_other_prompts_but_not_a_moved_file(tmp_path, base_run):
    cfg, ckpt = base_run
    moved = tmp_path / "moved.jsonl"
    shutil.copy(cfg["data"]["prompts"], moved)
    ok = _validate_resume(tmp_path, {**cfg, "data": {**cfg["data"], "prompts": str(moved)}}, ckpt)
    assert ok.returncode == 0, ok.stderr
    lines = moved.read_text().splitlines(True)
    moved.write_text("".join(lines[1:] + lines[:1]))
    r = _validate_resume(tmp_path, {**cfg, "data": {**cfg["data"], "prompts": str(moved)}}, ckpt)
    assert r.returncode == 2 and "data.prompts: the prompt list differs from the one checkpoint step-000003" in r.stderr


def test_resume_applies_lr_betas_kl_coef_and_max_steps(tmp_path, base_run):
    cfg, ckpt = base_run
    changed = json.loads(json.dumps(cfg))
    changed["train"].update(lr=1e-4, adam_betas=[0.8, 0.9], max_steps=8)
    changed["algorithm"]["kl"]["coef"] = 0.005
    run_dir = tmp_path / "resumed"
    r = run_trainer(write_config(tmp_path, changed), run_dir, "--resume", str(ckpt))
    assert r.returncode == 0, r.stderr[-3000:]
    m = metrics(run_dir)
    assert sorted(m) == [4, 5, 6, 7, 8]
    # 2 optimizer steps per global step (128 samples / 64); cosine over 8 x 2 with ceil(0.03 x 16) = 1 warmup step
    def lr_after(opt_steps):
        progress = (opt_steps - 1) / (16 - 1)
        return 1e-4 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
    for step in (4, 8):
        assert m[step]["lr"] == pytest.approx(lr_after(step * 2), rel=1e-9), step
        assert m[step]["kl_coef"] == 0.005
    state = torch.load(run_dir / "checkpoints" / "step-000008" / "trainer_state.pt", weights_only=True)
    assert state["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.9)
    assert state["lr_schedule"] == "cosine_with_min_lr"
    warnings = [e["message"] for e in read_events(run_dir) if e["type"] == "log" and e["level"] == "warning"]
    for key in ("train.lr changed from 0.0002 to 0.0001", "train.max_steps changed from 3 to 8",
                "algorithm.kl.coef changed from 0.001 to 0.005", "train.adam_betas changed from [0.9, 0.95] to [0.8, 0.9]"):
        assert any(key in w and "applied" in w for w in warnings), (key, warnings)


def test_checkpoint_from_before_the_transformers_schedule_resumes_on_its_own_schedule(tmp_path, base_run):
    """A trainer_state.pt without lr_schedule was written with the old warmup; resuming it keeps that schedule
    (the checkpoint's scheduler state restores into it) instead of switching schedules mid-run."""
    cfg, ckpt = base_run
    old = tmp_path / "old" / "checkpoints" / ckpt.name
    shutil.copytree(ckpt, old)
    state = torch.load(old / "trainer_state.pt", weights_only=True)
    del state["lr_schedule"]
    assert "kl_coef" not in state  # algorithm.kl.coef is the one value; older versions also stored it here
    state["kl_coef"] = 0.5  # as they did (never read: the config's kl.coef holds)
    torch.save(state, old / "trainer_state.pt")
    changed = json.loads(json.dumps(cfg))
    changed["train"].update(max_steps=4, warmup_ratio=0.5)  # 4 x 2 optimizer steps: warmup 4, step 4 ends at 8
    run_dir = tmp_path / "resumed"
    r = run_trainer(write_config(tmp_path, changed), run_dir, "--resume", str(old))
    assert r.returncode == 0, r.stderr[-3000:]
    resumed = torch.load(run_dir / "checkpoints" / "step-000004" / "trainer_state.pt", weights_only=True)
    assert resumed["lr_schedule"] == "legacy_cosine"
    assert resumed["scheduler"]["last_epoch"] == 8 and "kl_coef" not in resumed
    assert metrics(run_dir)[4]["lr"] == pytest.approx(2e-4 * 0.1)
    assert metrics(run_dir)[4]["kl_coef"] == cfg["algorithm"]["kl"]["coef"]


@pytest.mark.parametrize("damage", ["truncated", "not-utf8", "no-config"])
def test_a_damaged_resume_json_is_one_clear_line(tmp_path, base_run, damage):
    cfg, ckpt = base_run
    copy = tmp_path / "checkpoints" / ckpt.name
    shutil.copytree(ckpt, copy)
    text = (copy / "resume.json").read_bytes()
    (copy / "resume.json").write_bytes({"truncated": text[: len(text) // 2], "not-utf8": b"\xff\xfe" + text,
                                        "no-config": b'{"prompts_digest": null}'}[damage])
    for r in (_validate_resume(tmp_path, cfg, copy),
              run_trainer(write_config(tmp_path, cfg), tmp_path / "resumed", "--resume", str(copy))):
        assert r.returncode == 2, (r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
        assert f"--resume {copy}: its resume.json is damaged (" in lines[0], lines[0]
        assert "resume from another checkpoint" in lines[0], lines[0]
