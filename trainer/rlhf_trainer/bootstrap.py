"""The embedded examples' models and data, built locally (nothing is downloaded).

* a character-level tokenizer built with `tokenizers` and saved as a real HF tokenizer;
* a tiny Llama-style causal LM created from a config;
* a supervised warm start on noisy answers: right about half the time, so REINFORCE++ has
  something to improve and the rise of the reward is visible within minutes on two CPU cores.

Two tasks share all of it and differ only in the warm start's target text (TASKS):
* arithmetic: `a+b=` -> the sum (examples/arithmetic);
* lengthgame: the same prompts, the sum followed by 0-3 `?` of padding (examples/lengthgame), so a
  policy can make its responses longer without touching the answer: the example's reward pays a
  little per character, and how each estimator exploits that is the paper's Figure 1.

    python -m rlhf_trainer.bootstrap data  OUT_DIR [--task lengthgame]   # train.jsonl / eval.jsonl
    python -m rlhf_trainer.bootstrap model OUT_DIR [--task lengthgame]   # model + tokenizer + warm start
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
CHARS = list("0123456789+-*=? ")
MAX_OPERAND = 49


def make_problem(rng: random.Random) -> dict:
    a, b = rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)
    return {"prompt": f"{a}+{b}=", "answer": str(a + b)}


def noisy_answer(rng: random.Random, problem: dict, p_correct: float) -> str:
    """The sum, right with probability p_correct, else off by 1-3."""
    ans = int(problem["answer"])
    if rng.random() > p_correct:
        ans = max(0, ans + rng.choice([-3, -2, -1, 1, 2, 3]))
    return str(ans)


MAX_PAD = 3


def padded_answer(rng: random.Random, problem: dict, p_correct: float) -> str:
    """A noisy answer and 0..MAX_PAD `?`: the warm start shows the policy that length is free to vary."""
    return noisy_answer(rng, problem, p_correct) + "?" * rng.randint(0, MAX_PAD)


@dataclass(frozen=True)
class Task:
    target: Callable[[random.Random, dict, float], str]
    steps: int  # warm-start steps: enough for the format, and under a minute on 2 CPU cores
    about: str  # the model folder's README line


TASKS = {
    "arithmetic": Task(noisy_answer, 1200, "noisy supervised warm start on a+b="),
    "lengthgame": Task(padded_answer, 500, "noisy supervised warm start on a+b= with 0-3 '?' of padding"),
}


def write_data(out_dir: str | os.PathLike, n_train: int = 4000, n_eval: int = 200, seed: int = 0):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for name, n in (("train.jsonl", n_train), ("eval.jsonl", n_eval)):
        with open(out / name, "w") as f:
            for _ in range(n):
                f.write(json.dumps(make_problem(rng)) + "\n")


def build_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + CHARS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", vocab["<bos>"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                   unk_token="<unk>", padding_side="left")


def build_model(vocab_size: int, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=96, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                         tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return LlamaForCausalLM(config)


def warm_start(model, tokenizer, steps: int = 1200, batch: int = 128, lr: float = 3e-3, p_correct: float = 0.5,
               seed: int = 0, on_progress: Callable[[int, int, float], None] | None = None,
               target: Callable[[random.Random, dict, float], str] = noisy_answer) -> float:
    """Supervised warm start on target(rng, problem, p_correct): by default answers that are right with
    probability p_correct, else off by 1-3."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0))))
    model.train()
    loss_value = float("nan")
    for step in range(steps):
        prompts, targets = [], []
        for _ in range(batch):
            p = make_problem(rng)
            prompts.append(p["prompt"])
            targets.append(target(rng, p, p_correct))
        enc = [tokenizer(p)["input_ids"] for p in prompts]
        full = [e + tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                for e, t in zip(enc, targets)]
        width = max(len(f) for f in full)
        ids = torch.full((batch, width), tokenizer.pad_token_id)
        labels = torch.full((batch, width), -100)
        attn = torch.zeros((batch, width), dtype=torch.long)
        for i, (e, f) in enumerate(zip(enc, full)):
            ids[i, : len(f)] = torch.tensor(f)
            attn[i, : len(f)] = 1
            labels[i, len(e): len(f)] = torch.tensor(f[len(e):])
        loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss_value = loss.item()
        if on_progress and (step % 50 == 0 or step == steps - 1):
            on_progress(step + 1, steps, loss_value)
    model.eval()
    return loss_value


def create_model(task: str, out_dir: str | os.PathLike, steps: int | None = None,
                 on_progress: Callable[[int, int, float], None] | None = None) -> Path:
    """Builds a task's model at out_dir atomically (temp folder + rename): a killed build leaves nothing."""
    spec = TASKS[task]
    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = build_tokenizer()
    model = build_model(len(tokenizer))
    warm_start(model, tokenizer, steps=steps or spec.steps, on_progress=on_progress, target=spec.target)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "README.md").write_text(f"Tiny character-level Llama built by rlhf_trainer.bootstrap ({spec.about}).\n")
    if out.exists():
        shutil.rmtree(tmp)  # someone else finished first
    else:
        os.replace(tmp, out)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m rlhf_trainer.bootstrap")
    ap.add_argument("what", choices=["data", "model"])
    ap.add_argument("out")
    ap.add_argument("--task", choices=sorted(TASKS), default="arithmetic")
    ap.add_argument("--steps", type=int, help="warm-start steps (default: the task's)")
    ap.add_argument("--seed", type=int, default=0, help="data: the problems' seed")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.what == "data":
        write_data(args.out, seed=args.seed)  # both tasks share the prompts; only the model's targets differ
    else:
        create_model(args.task, args.out, args.steps,
                     on_progress=lambda s, n, loss: print(f"warm start {s}/{n} loss {loss:.3f}", flush=True))
    print(f"wrote {args.out} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
