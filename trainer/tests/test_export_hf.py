"""Checkpoints as the user manages them: a KEEP marker survives pruning by a real trainer, and an
exported Hugging Face folder is a clean save_pretrained folder that generates what the checkpoint does."""

import subprocess

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlhf_trainer.checkpoint import KEEP
from rlhf_trainer.runfolder import complete_checkpoints
from conftest import PY, ROOT, example_config, run_trainer, write_config


def _greedy(folder, prompts):
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return greedy(AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval(), tok, prompts)


def greedy(model, tok, prompts):
    """Each prompt's greedy continuation (6 tokens) as token ids."""
    out = []
    for p in prompts:
        ids = tok(p, return_tensors="pt")
        with torch.no_grad():
            gen = model.generate(**ids, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
        out.append(gen[0, ids["input_ids"].shape[1]:].tolist())
    return out


def test_keep_marker_survives_pruning_and_export_generates_like_the_checkpoint(tmp_path, example_model):
    cfg = example_config(**{"train.max_steps": 2, "checkpoint.every_steps": 1, "checkpoint.keep_last": 1,
                            "eval.every_steps": 1, "eval.max_prompts": 8})
    cfg["data"]["eval_prompts"] = str(ROOT / "examples" / "arithmetic" / "data" / "eval.jsonl")
    config = write_config(tmp_path, cfg)
    run_dir = tmp_path / "run"
    r = run_trainer(config, run_dir, "--no-stdin", "--max-steps", "1")
    assert r.returncode == 0, r.stderr
    (first,) = complete_checkpoints(run_dir)
    (first / KEEP).write_text("")
    # the continuation saves steps 2 (and the final one): keep_last 1 would prune step 1 without the marker
    r = run_trainer(config, run_dir, "--no-stdin", "--resume", str(first))
    assert r.returncode == 0, r.stderr
    names = [p.name for p in complete_checkpoints(run_dir)]
    assert names == ["step-000001", "step-000002"], names

    out = tmp_path / "exported"
    r = subprocess.run([PY, "-m", "rlhf_trainer.export_hf", str(first), "-o", str(out)], capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert "model.safetensors" in files and "tokenizer.json" in files and "README.md" in files, files
    assert not {"trainer_state.pt", "resume.json", "COMPLETE", KEEP} & set(files), files
    card = (out / "README.md").read_text()
    assert "| step | 1 |" in card and "| run | `run` |" in card
    assert "reward (mean, step 1) | n/a" not in card  # the step's reward is in the card
    assert "eval_" in card, card
    assert str(ROOT) not in card and "a local model folder named `model`" in card, card
    prompts = ["12+7=", "3+45=", "60+9="]
    assert _greedy(out, prompts) == _greedy(first, prompts)

    # a second export to the same folder is refused with one line, the first one intact
    r = subprocess.run([PY, "-m", "rlhf_trainer.export_hf", str(first), "-o", str(out)], capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr


def test_prune_skips_kept_checkpoints_and_does_not_count_them(tmp_path):
    from rlhf_trainer.checkpoint import COMPLETE, prune
    for step in (1, 2, 3, 4):
        folder = tmp_path / f"step-{step:06d}"
        folder.mkdir()
        (folder / COMPLETE).write_text(folder.name)
    (tmp_path / "step-000001" / KEEP).write_text("")
    prune(tmp_path, keep_last=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000001", "step-000003", "step-000004"]


def test_model_card_names_no_absolute_path_of_the_machine(tmp_path):
    """The trainer writes model.policy as an absolute path; the card names the folder, never the path
    (the card goes wherever the export is shared or uploaded). A Hub id stays as it is, as base_model too."""
    import json
    import os
    import re

    from rlhf_trainer.export_hf import model_card
    run = tmp_path / "runs" / "my-run"
    ckpt = run / "checkpoints" / "step-000003"
    ckpt.mkdir(parents=True)
    (run / "events.jsonl").write_text(json.dumps({"type": "metrics", "step": 3, "values": {"reward_mean": 0.5}}) + "\n")
    policy = tmp_path / "models" / "tiny-policy"
    policy.mkdir(parents=True)
    home = os.path.expanduser("~")
    for ref in (str(policy), os.path.join(home, "models", "tiny-policy"), "~/models/tiny-policy", "C:\\models\\tiny-policy"):
        card = model_card(ckpt, 3, ref, "reinforce_pp")
        assert str(tmp_path) not in card and home not in card and ref not in card, card
        assert not re.search(r"(^|[\s`(])(/[^\s`|]+/|~/|[A-Za-z]:\\)", card), card
        assert "| initial policy | a local model folder named `tiny-policy` |" in card, card
        assert "base_model:" not in card
    card = model_card(ckpt, 3, "Qwen/Qwen2.5-0.5B", None)
    assert "| initial policy | `Qwen/Qwen2.5-0.5B` |" in card and "base_model: Qwen/Qwen2.5-0.5B" in card, card
    assert "| run | `my-run` |" in card and "| reward (mean, step 3) | 0.5 |" in card, card
