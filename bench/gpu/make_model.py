"""Builds the GPU benchmark's model and data locally (nothing is downloaded).

A Llama-style causal LM of about 0.47B parameters (hidden 1024, 24 layers, MLP 4096, 16 heads,
vocabulary 32,000, untied embeddings) with random weights, a 32k word-level tokenizer saved as a
real HF tokenizer, and prompts of about 128 tokens. Random weights are fine for throughput: the
work per step depends on shapes and lengths, not on what the model says.

    python bench/gpu/make_model.py OUT_DIR [--tiny]     (--tiny: hidden 64, 2 layers, 64 prompts: bench/gpu/run.sh --tiny)
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import torch

VOCAB = 32000
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = SPECIALS + [f"w{i}" for i in range(VOCAB - len(SPECIALS))]
    vocab = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins with spaces
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                   unk_token="<unk>", padding_side="left")


def build(out: str, n_prompts: int, **sizes) -> dict:
    """A Llama of the given sizes with this tokenizer, and n_prompts prompts of 128 tokens, under out/."""
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out)
    model_dir = out_dir / "model"
    tok = build_tokenizer()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=VOCAB, max_position_embeddings=512, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0, **sizes)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 2
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    rng = random.Random(0)
    with open(out_dir / "prompts.jsonl", "w") as f:
        for _ in range(n_prompts):
            words = " ".join(f"w{rng.randrange(VOCAB - 4)}" for _ in range(127))  # + <bos> = 128 tokens
            f.write(json.dumps({"prompt": words, "answer": "w7"}) + "\n")
    return {"params": sum(p.numel() for p in model.parameters()), "model": str(model_dir),
            "prompts": str(out_dir / "prompts.jsonl")}


def main(out: str, tiny: bool = False):
    sizes = ({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 4} if tiny else
             {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
              "num_key_value_heads": 16})
    info = build(out, 64 if tiny else 2048, **sizes)
    print(json.dumps({**info, "hidden": sizes["hidden_size"], "vocab": VOCAB}))


if __name__ == "__main__":
    main(sys.argv[1], "--tiny" in sys.argv[2:])
