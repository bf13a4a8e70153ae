"""Benchmark reward, the same function on both sides: the share of response words with an even id.

Cheap, dense and not constant, so group baselines and the loss are never trivially zero."""


def even_share(response: str) -> float:
    words = response.split()
    return sum(1 for w in words if w[1:].isdigit() and int(w[1:]) % 2 == 0) / max(len(words), 1)


def reward_func(queries, prompts, labels, **kwargs):
    """The trainer's reward.sources function form."""
    responses = kwargs.get("responses") or [q[len(p):] for q, p in zip(queries, prompts)]
    return {"rewards": [even_share(r) for r in responses]}
