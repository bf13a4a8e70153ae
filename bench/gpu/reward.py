"""Benchmark reward: the share of response tokens whose id is even (cheap, dense, not constant)."""


def reward_func(queries, prompts, labels, **kwargs):
    responses = kwargs.get("responses") or [q[len(p):] for q, p in zip(queries, prompts)]
    out = []
    for r in responses:
        words = r.split()
        out.append(sum(1 for w in words if w[1:].isdigit() and int(w[1:]) % 2 == 0) / max(len(words), 1))
    return {"rewards": out}
