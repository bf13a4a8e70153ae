"""LoRA (model.lora): only the adapters train, the reference is the base model, a LoRA checkpoint resumes
exactly and exports as one merged model, and a config LoRA cannot serve is one line before training."""

import subprocess

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlhf_trainer.lora import ReferenceView, apply_lora, is_adapter_checkpoint, merged_copy
from rlhf_trainer.runconfig import LoraConfig
from rlhf_trainer.runfolder import complete_checkpoints
from conftest import PY, ROOT, example_config, run_trainer, write_config
from test_export_hf import greedy

LORA = {"rank": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear"}


def tiny_llama(seed=0):
    from rlhf_trainer.bootstrap import build_model, build_tokenizer
    return build_model(len(build_tokenizer()), seed=seed)


def test_lora_trains_the_adapters_only_and_its_reference_is_the_base_model():
    base_copy = tiny_llama()
    policy = apply_lora(tiny_llama(), LoraConfig(**LORA))
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    trained = [n for n, p in policy.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in n for n in trained), trained
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-2)
    ids = torch.randint(4, 20, (4, 10))
    for _ in range(3):
        loss = -torch.log_softmax(policy(input_ids=ids).logits, -1)[..., 5].mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
    changed = {n for n, p in policy.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {n for n in trained if "lora_B" in n or "lora_A" in n}, changed - set(trained)
    assert any("lora_B" in n for n in changed)
    # the adapted model moved away from the base; the reference view did not
    with torch.no_grad():
        base_logits = base_copy(input_ids=ids).logits
        ref_logits = ReferenceView(policy)(input_ids=ids).logits
        adapted = policy(input_ids=ids).logits
    assert torch.allclose(ref_logits, base_logits, atol=1e-6)
    assert not torch.allclose(adapted, base_logits, atol=1e-3)
    # merging (a copy) gives the adapted model's logits as one plain model, the PeftModel untouched
    merged = merged_copy(policy)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, adapted, atol=1e-5)
        assert torch.equal(policy(input_ids=ids).logits, adapted)


def _adapters(ckpt):
    return load_file(str(ckpt / "adapter_model.safetensors"))


def test_lora_checkpoint_resumes_exactly_and_exports_the_merged_model(tmp_path, example_model):
    from peft import PeftModel
    cfg = example_config(**{"train.max_steps": 2, "checkpoint.every_steps": 1, "model.lora": dict(LORA),
                            "train.lr": 0.01, "rollout.batch_size": 32, "train.batch_size": 32,
                            "train.micro_batch_size": 32})
    config = write_config(tmp_path, cfg)
    r = run_trainer(config, tmp_path / "full", "--no-stdin")
    assert r.returncode == 0, r.stderr
    first, second = complete_checkpoints(tmp_path / "full")
    assert is_adapter_checkpoint(second) and not (second / "model.safetensors").exists()
    r = run_trainer(config, tmp_path / "resumed", "--no-stdin", "--resume", str(first))
    assert r.returncode == 0, r.stderr
    (resumed,) = [c for c in complete_checkpoints(tmp_path / "resumed") if c.name == second.name]
    a, b = _adapters(second), _adapters(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], _adapters(first)[k]) for k in a)  # step 2 trained the adapters

    out = tmp_path / "exported"
    r = subprocess.run([PY, "-m", "rlhf_trainer.export_hf", str(second), "-o", str(out)], capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    tok = AutoTokenizer.from_pretrained(second)
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(example_model), str(second)).eval()
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    prompts = ["12+7=", "3+45=", "60+9=", "31+18="]
    assert greedy(merged, tok, prompts) == greedy(adapted, tok, prompts)


@pytest.mark.parametrize("override, field, words", [
    ({"model.lora": {**LORA, "target_modules": ["q_proj", "qkv"]}}, "model.lora.target_modules",
     "qkv matches no module"),
    ({"model.lora": dict(LORA), "train.strategy": "fsdp2"}, "model.lora", "fsdp2 is refused"),
])
def test_a_config_lora_cannot_serve_is_one_line_before_training(tmp_path, example_model, override, field, words):
    config = write_config(tmp_path, example_config(**override))
    r = subprocess.run([PY, "-m", "rlhf_trainer", "validate", "--config", str(config), "--no-estimates"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert f": {field}: " in lines[0] and words in lines[0] and "Traceback" not in r.stderr, lines[0]
