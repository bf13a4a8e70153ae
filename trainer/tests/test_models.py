"""Any local AutoModelForCausalLM folder works as the policy: a GPT-2-style model with a chat template."""

import json

from transformers import GPT2Config, GPT2LMHeadModel

from rlhf_trainer.bootstrap import build_tokenizer
from conftest import example_config, metrics, run_trainer, write_config

CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}={% endif %}"


def test_gpt2_policy_with_chat_template(tmp_path):
    tok = build_tokenizer()
    tok.chat_template = CHAT_TEMPLATE
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=1, n_head=2,
                                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                       pad_token_id=tok.pad_token_id))
    path = tmp_path / "gpt2-tiny"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    prompts = tmp_path / "chat.jsonl"
    prompts.write_text("\n".join(json.dumps({"messages": [{"role": "user", "content": f"{i}+1"}], "answer": str(i + 1)})
                                 for i in range(40)) + "\n")
    cfg = example_config(**{"train.max_steps": 2, "rollout.batch_size": 8, "train.batch_size": 8, "train.micro_batch_size": 4,
                            "data.prompt_key": "messages", "data.apply_chat_template": True})
    cfg["model"] = {"policy": str(path)}
    cfg["data"]["prompts"] = str(prompts)
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(metrics(run_dir)) == [1, 2]
    sample = json.loads((run_dir / "samples.jsonl").read_text().splitlines()[0])
    assert sample["prompt"].endswith("+1=")  # the template's generation prompt was applied
    ckpt = run_dir / "checkpoints" / "step-000002"
    assert json.loads((ckpt / "config.json").read_text())["model_type"] == "gpt2"
