"""Reward-hacking signals, watched step by step (pure: numbers in, alert dicts out; the trainer emits them).

length_hacking: the mean response length keeps growing while the train reward stalls, the failure the
REINFORCE++ paper's Figure 1 shows for GRPO. Over the last `window` steps, the mean of the second half is
compared with the mean of the first half: length up by at least min_length_growth (relative) and reward up
by at most max_reward_gain (absolute).

eval_divergence: the train reward rises while the held-out eval reward falls. At each eval, the train
reward is the mean over the `window` steps before it; from one eval to the next, a train rise above
max_reward_gain with an eval drop of at least min_eval_drop.

A signal alerts once when it starts to hold and again only after it stopped holding: one alert per
stretch of steps, not one per step. The state is not checkpointed: after a resume the window refills.
"""

from __future__ import annotations

from collections import deque

from .runconfig import SignalsConfig


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


class SignalWatch:
    def __init__(self, t: SignalsConfig):
        self.t = t
        self.history: deque[tuple[int, float, float]] = deque(maxlen=t.window)  # (step, reward, length)
        self.last_eval: tuple[int, float, float] | None = None  # (step, eval reward, train reward then)
        self.holding: dict[str, bool] = {"length_hacking": False, "eval_divergence": False}

    def on_step(self, step: int, reward: float, length: float) -> list[dict]:
        """A finished step's mean reward and mean response length; returns the alerts it raises."""
        self.history.append((step, reward, length))
        if len(self.history) < self.t.window:
            return []
        half = self.t.window // 2
        rows = list(self.history)
        first, second = rows[:half], rows[-half:]
        l1, l2 = _mean(r[2] for r in first), _mean(r[2] for r in second)
        r1, r2 = _mean(r[1] for r in first), _mean(r[1] for r in second)
        growth = (l2 - l1) / l1 if l1 > 0 else 0.0
        holds = growth >= self.t.min_length_growth and r2 - r1 <= self.t.max_reward_gain
        a, b = rows[0][0], rows[-1][0]
        return self._edge("length_hacking", holds, step, [a, b], lambda: (
            f"response length grew {growth:+.0%} ({l1:.1f} -> {l2:.1f} tokens) over steps {a}-{b} while the train "
            f"reward moved {r2 - r1:+.3f} ({r1:.3f} -> {r2:.3f}): the policy may be lengthening responses without "
            f"earning more reward; look at the longest samples of step {b}"))

    def on_eval(self, step: int, eval_reward: float) -> list[dict]:
        """An eval's mean reward; compared with the previous eval (evals before any train step are skipped)."""
        if not self.history:
            return []
        train = _mean(r[1] for r in self.history)
        prev, self.last_eval = self.last_eval, (step, eval_reward, train)
        if prev is None or prev[0] == step:
            return []
        s0, e0, t0 = prev
        holds = train - t0 > self.t.max_reward_gain and e0 - eval_reward >= self.t.min_eval_drop
        return self._edge("eval_divergence", holds, step, [s0, step], lambda: (
            f"train reward rose {train - t0:+.3f} ({t0:.3f} -> {train:.3f}) while the eval reward fell "
            f"{eval_reward - e0:+.3f} ({e0:.3f} -> {eval_reward:.3f}) between the evals at steps {s0} and {step}: "
            f"the policy may be overfitting the train prompts or gaming the reward; compare the samples of step {step}"))

    def _edge(self, kind: str, holds: bool, step: int, steps: list[int], message) -> list[dict]:
        was, self.holding[kind] = self.holding[kind], holds
        if not holds or was:
            return []
        return [{"kind": kind, "step": step, "steps": steps, "message": message()}]
