"""Builds the trainer benchmark's model and prompts locally (nothing is downloaded).

A Llama-style causal LM of about 58M parameters (hidden 512, 8 layers, MLP 1408, 8 heads, vocabulary
32,000 from bench/gpu's word-level tokenizer, untied embeddings) with random weights, and prompts of
128 tokens. Random weights are fine for throughput: the work per step depends on shapes and lengths
(responses run to max_new_tokens: an EOS among 32k tokens is rare), not on what the model says.

    python bench/trainer/make_model.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def gpu_bench_module():
    """bench/gpu/make_model.py: its 32k word-level tokenizer and model builder (one definition for both benchmarks)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_make_model", Path(__file__).resolve().parents[1] / "gpu" /
                                                  "make_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(out: str):
    print(json.dumps(gpu_bench_module().build(out, 512, hidden_size=512, intermediate_size=1408, num_hidden_layers=8,
                                              num_attention_heads=8, num_key_value_heads=8)))


if __name__ == "__main__":
    main(sys.argv[1])
