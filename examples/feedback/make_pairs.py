"""Writes this example's data, deterministically (seed 0): the prompts and the preference pairs of a
simulated rater.

The task is the lengthgame model's (a+b= answered with the sum and 0-3 '?' of emphasis). The rater has a
taste no reward rule in the config states: two question marks are right, one is timid, three are shouting,
none is rude. The trainer never sees that taste, only which of two responses the rater preferred; the reward
model learns it from the pairs and the policy is trained against the reward model. (In the sample browser,
a person's good/bad/prefer-this labels produce the same pairs: `rlhf labels export RUN -o prefs.jsonl`.)

    python examples/feedback/make_pairs.py     # data/train.jsonl, eval.jsonl, prefs.jsonl, prefs-eval.jsonl
"""

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data"
MAX_OPERAND = 49


def taste(marks: int) -> int:
    """The rater's hidden preference: higher is better (two '?' best, none worst)."""
    return -abs(marks - 2) - (marks == 0)


def problem(rng: random.Random) -> tuple[str, int]:
    a, b = rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)
    return f"{a}+{b}=", a + b


def response(rng: random.Random, answer: int, marks: int) -> str:
    """An answer that is right half the time (the rater does not care) and `marks` question marks."""
    if rng.random() < 0.5:
        answer = max(0, answer + rng.choice([-3, -2, -1, 1, 2, 3]))
    return str(answer) + "?" * marks


def pairs(rng: random.Random, n: int) -> list[dict]:
    out = []
    while len(out) < n:
        prompt, answer = problem(rng)
        m1, m2 = rng.sample(range(4), 2)
        if taste(m1) == taste(m2):
            continue  # the rater has no preference between one and three marks
        if taste(m1) < taste(m2):
            m1, m2 = m2, m1
        out.append({"prompt": prompt, "chosen": response(rng, answer, m1), "rejected": response(rng, answer, m2)})
    return out


def write(name: str, rows: list[dict]):
    with open(OUT / name, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def main():
    rng = random.Random(0)
    OUT.mkdir(exist_ok=True)
    write("train.jsonl", [dict(zip(("prompt", "answer"), (p, str(a)))) for p, a in (problem(rng) for _ in range(2000))])
    write("eval.jsonl", [dict(zip(("prompt", "answer"), (p, str(a)))) for p, a in (problem(rng) for _ in range(64))])
    write("prefs.jsonl", pairs(rng, 2000))
    write("prefs-eval.jsonl", pairs(rng, 200))
    print(f"wrote {OUT}/train.jsonl, eval.jsonl, prefs.jsonl, prefs-eval.jsonl")


if __name__ == "__main__":
    main()
