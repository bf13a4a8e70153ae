"""A training step beside CPU-bound processes: does it slow down in proportion to the CPU it gets?

    .venv/bin/python bench/trainer/contention.py WORK_DIR [HOGS ...]     (default hogs: 1 2)

Runs, in a fresh process each time (the OpenMP settings hold from process start), REPS times a train step
(forward+backward+AdamW of the benchmark's model on 4 x 192 tokens: large matmuls) and a rollout (the static
engine, 4 prompts x 4 samples x 16 new tokens: small matmuls, where OpenMP's barrier waits weigh most), with
the thread settings the trainer uses (rlhf_trainer.cpu_threads: a bounded spin, GOMP_SPINCOUNT=3000, then
sleep; one thread per usable core) and, for comparison, sleeping at once (OMP_WAIT_POLICY=PASSIVE) and
spinning (OMP_WAIT_POLICY=ACTIVE), first alone, then beside HOGS busy-loop processes (each wants one core). With T threads beside H hogs on C cores the step's fair share of the CPU is
C / (T + H) cores of the C it used alone, so the proportional slowdown is (T + H) / C when T + H > C.
Prints each step's time, the medians, the slowdown ratios, the proportional ratio and the load average.
The machine is shared: read the quiet baseline from the same run only.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPS = 4


def child(work: str):
    sys.path.insert(0, str(HERE.parents[1] / "trainer"))
    from rlhf_trainer.cpu_threads import configure
    configure()
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(Path(work) / "model", dtype=torch.float32)
    from rlhf_trainer.preflight import load_tokenizer
    from rlhf_trainer.rollout import Settings, StaticEngine
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    ids = torch.randint(3, 32000, (4, 192), generator=torch.Generator().manual_seed(0))
    texts = [json.loads(line)["prompt"] for line in (Path(work) / "prompts.jsonl").read_text().splitlines()][:4]
    engine = StaticEngine(model, load_tokenizer(str(Path(work) / "model"), False), torch.device("cpu"),
                          Settings(max_new_tokens=16, temperature=1.0, top_p=1.0, top_k=None, max_prompt_tokens=160,
                                   autocast=False))
    times, rollout = [], []
    for _ in range(REPS + 1):
        t0 = time.perf_counter()
        loss = model(input_ids=ids, logits_to_keep=65).logits.float().logsumexp(-1).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        engine.generate(texts, 4, list(range(16)))
        rollout.append(time.perf_counter() - t0)
    print(json.dumps({"times": times[1:], "rollout": rollout[1:], "threads": torch.get_num_threads(),
                      "policy": os.environ.get("OMP_WAIT_POLICY"), "spin": os.environ.get("GOMP_SPINCOUNT")}))


def measure(work: str, policy: str | None, hogs: int) -> dict:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    env.pop("GOMP_SPINCOUNT", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    else:
        env.pop("OMP_WAIT_POLICY", None)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        out = subprocess.run([sys.executable, __file__, "--child", work], env=env, capture_output=True, text=True,
                             check=True).stdout
    finally:
        for p in busy:
            p.kill()
            p.wait()
    r = json.loads(out.strip().splitlines()[-1])
    r["load"] = os.getloadavg()[0]
    return r


def main(work: str, hog_counts: list[int]):
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for policy in (None, "PASSIVE", "ACTIVE"):
        name = {None: "trainer default (bounded spin)", "PASSIVE": "sleep at once (PASSIVE)",
                "ACTIVE": "spinning (ACTIVE)"}[policy]
        alone = measure(work, policy, 0)
        print(f"{name}: alone ({alone['threads']} threads, load {alone['load']:.1f}): train step median "
              f"{statistics.median(alone['times']):.2f} s {[round(t, 2) for t in alone['times']]}, rollout median "
              f"{statistics.median(alone['rollout']):.2f} s {[round(t, 2) for t in alone['rollout']]}", flush=True)
        for h in hog_counts:
            r = measure(work, policy, h)
            fair = max(1.0, (r["threads"] + h) / cores)
            row = {"policy": name, "hogs": h, "proportional": fair, "load": r["load"]}
            for part, key in (("train step", "times"), ("rollout", "rollout")):
                base, med = statistics.median(alone[key]), statistics.median(r[key])
                print(f"{name}: beside {h} busy process(es): {part} median {med:.2f} s "
                      f"{[round(t, 2) for t in r[key]]} -> {med / base:.2f}x slower (proportional share: "
                      f"{fair:.2f}x; load {r['load']:.1f})", flush=True)
                row.update({f"{key}_alone_s": base, f"{key}_beside_s": med, f"{key}_ratio": med / base})
            rows.append(row)
    (Path(work) / "contention.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main(sys.argv[1], [int(h) for h in sys.argv[2:]] or [1, 2])
