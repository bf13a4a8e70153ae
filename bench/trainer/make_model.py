"""Builds the trainer benchmark's model and prompts locally (nothing is downloaded).

A Llama-style causal LM of about 58M parameters (hidden 512, 8 layers, MLP 1408, 8 heads, vocabulary
32,000 from bench/gpu's word-level tokenizer, untied embeddings) with random weights, and prompts of
128 tokens. Random weights are fine for throughput: the work per step depends on shapes and lengths
(responses run to max_new_tokens: an EOS among 32k tokens is rare), not on what the model says.

    python bench/trainer/make_model.py OUT_DIR
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import torch


def gpu_bench_module():
    """bench/gpu/make_model.py, for its 32k word-level tokenizer (one definition for both benchmarks)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_make_model", Path(__file__).resolve().parents[1] / "gpu" /
                                                  "make_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(out: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    gpu = gpu_bench_module()
    vocab = gpu.VOCAB
    out_dir = Path(out)
    model_dir = out_dir / "model"
    tok = gpu.build_tokenizer()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=512, intermediate_size=1408, num_hidden_layers=8,
                      num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=512,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 2
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    n_params = sum(p.numel() for p in model.parameters())
    rng = random.Random(0)
    with open(out_dir / "prompts.jsonl", "w") as f:
        for _ in range(512):
            words = " ".join(f"w{rng.randrange(vocab - 4)}" for _ in range(127))  # + <bos> = 128 tokens
            f.write(json.dumps({"prompt": words, "answer": "w7"}) + "\n")
    print(json.dumps({"params": n_params, "model": str(model_dir), "prompts": str(out_dir / "prompts.jsonl")}))


if __name__ == "__main__":
    main(sys.argv[1])
