"""Reward for the embedded arithmetic task, in OpenRLHF's custom reward function style.

1.0 when the response is exactly the right number, else 0.0 (a 0/1 verdict, so eval reports pass@k).
"""

import re


def reward_func(queries, prompts, labels, **kwargs):
    responses = kwargs.get("responses") or [q[len(p):] for q, p in zip(queries, prompts)]
    rewards = []
    for response, label in zip(responses, labels):
        m = re.fullmatch(r"\s*(-?\d+)\s*", response)
        rewards.append(1.0 if m and label is not None and int(m.group(1)) == int(label) else 0.0)
    return {"rewards": rewards, "scores": rewards}
