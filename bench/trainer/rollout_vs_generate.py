"""The rollout phase (rollout.py's engine, as the trainer runs it) vs plain transformers `generate` on the same
batch: the benchmark's model, 4 prompts x 4 samples, 64 new tokens at temperature 1 from the full softmax.

    .venv/bin/python bench/trainer/rollout_vs_generate.py WORK_DIR [REPS] [--compile] [--bf16]

Plain generate is what TRL's GRPOTrainer calls (prompts repeated n times, do_sample, top_k 0, eager). The
two alternate, REPS times each (default 5) after one warm-up each; prints every time, the medians and the
ratio. --compile also times the static engine with its decode step under torch.compile (default mode),
its compile time reported apart. --bf16: both in bf16, as TRL's bf16=True and the trainer's precision: bf16 run
them: plain generate under bf16 autocast (the fp32 weights re-cast at every step), the engine on its bf16 copy. Threads as the trainer sets them (rlhf_trainer.cpu_threads).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trainer"))
from rlhf_trainer.cpu_threads import configure

configure()

import torch

PROMPTS, N, NEW = 4, 4, 64


def main(work: str, reps: int, compile_too: bool, bf16: bool = False):
    from rlhf_trainer.preflight import load_tokenizer
    from rlhf_trainer.rollout import Settings, StaticEngine
    from rlhf_trainer.sampling import sample_seed
    from transformers import AutoModelForCausalLM, GenerationConfig
    work_dir = Path(work)
    texts = [json.loads(line)["prompt"] for line in (work_dir / "prompts.jsonl").read_text().splitlines()][:PROMPTS]
    tok = load_tokenizer(str(work_dir / "model"), False)
    model = AutoModelForCausalLM.from_pretrained(work_dir / "model", dtype=torch.float32).eval()
    settings = Settings(max_new_tokens=NEW, temperature=1.0, top_p=1.0, top_k=None, max_prompt_tokens=160,
                        autocast="cpu" if bf16 else False)
    seeds = [sample_seed(1, 1, k) for k in range(PROMPTS * N)]
    engines = {"rollout engine (static, eager)": StaticEngine(model, tok, torch.device("cpu"), settings)}
    compile_s = None
    if compile_too:
        compiled = StaticEngine(model, tok, torch.device("cpu"), settings, compile_mode="default")
        t0 = time.perf_counter()
        compiled.generate(texts[:1], 1, [0])
        compile_s = time.perf_counter() - t0
        engines["rollout engine (static, torch.compile)"] = compiled
    enc = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=160)
    ids, attn = enc["input_ids"].repeat_interleave(N, 0), enc["attention_mask"].repeat_interleave(N, 0)
    gen = GenerationConfig(do_sample=True, max_new_tokens=NEW, min_new_tokens=NEW, temperature=1.0, top_k=0, top_p=1.0,
                           pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)

    def plain():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model.generate(input_ids=ids, attention_mask=attn, generation_config=gen).shape[1] - ids.shape[1]

    runs = {"plain generate": plain}
    for name, e in engines.items():
        runs[name] = lambda e=e: e.generate(texts, N, seeds).response_mask.sum(-1).max().item()
    times: dict[str, list[float]] = {k: [] for k in runs}
    lengths = {}
    for name, fn in runs.items():
        lengths[name] = fn()  # warm-up
    for _ in range(reps):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["plain generate"])
    print(f"{PROMPTS} prompts x {N} samples, {NEW} new tokens, {'bf16' if bf16 else 'fp32'}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:42} median {med:6.2f} s  ({PROMPTS * N * NEW / med:7.1f} tokens/s)  x{base / med:5.2f} of plain"
              f"  [{', '.join(f'{t:.2f}' for t in ts)}]  longest response {lengths[name]}")
    if compile_s is not None:
        print(f"torch.compile of the decode step (first call): {compile_s:.1f} s")
    summary = {k: statistics.median(v) for k, v in times.items()}
    summary["speedup"] = base / summary["rollout engine (static, eager)"]
    (work_dir / f"rollout_vs_generate{'-bf16' if bf16 else ''}.json").write_text(json.dumps(
        {"medians_s": summary, "times_s": times, "compile_s": compile_s, "precision": "bf16" if bf16 else "fp32"}, indent=1))
    return summary


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0], int(args[1]) if len(args) > 1 else 5, "--compile" in sys.argv, "--bf16" in sys.argv)
