"""Watchdogs over a run, step by step (pure: numbers in, alert dicts out; the trainer emits them).

Reward hacking:

length_hacking: the mean response length keeps growing while the train reward stalls, the failure the
REINFORCE++ paper's Figure 1 shows for GRPO. Over the last `window` steps, the mean of the second half is
compared with the mean of the first half: length up by at least min_length_growth (relative) and reward up
by at most max_reward_gain (absolute).

eval_divergence: the train reward rises while the held-out eval reward falls. At each eval, the train
reward is the mean over the `window` steps before it; from one eval to the next, a train rise above
max_reward_gain with an eval drop of at least min_eval_drop.

Training health (each on for `patience` consecutive steps unless said otherwise; a threshold of None turns
its watchdog off):

truncation: the share of the step's responses cut at max_new_tokens >= truncation_share.
zero_variance: the share of prompt groups whose samples all got one reward >= zero_variance_share (grouped
  estimators only: their advantage is a sample's reward against its group's, so such a group teaches nothing).
nonfinite: the loss, the reward or a gradient norm is NaN or infinite; at once, no patience.
entropy_collapse: the update's mean token entropy <= entropy_min, or <= entropy_drop x its early value (the
  mean over the first window // 2 steps watched).
kl_blowup: the KL to the reference >= kl_max, or (window full) the second half's mean KL >= kl_growth x the
  first half's, when the first half's is at least KL_BASE.

stalled (StallWatch): no progress for stall_factor x the median step time (never under stall_min_s). A hung
step cannot report itself: the trainer's watchdog thread asks StallWatch with the time of the last progress.

A signal alerts once when it starts to hold and again only after it stopped holding: one alert per
stretch of steps, not one per step. The state is not checkpointed: after a resume the windows refill.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

from .runconfig import SignalsConfig

KL_BASE = 1e-3  # a window whose first half has less KL than this is no base for kl_growth (KL starts at 0)
MAX_SAMPLES = 256  # sample indices an alert carries at most


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


def _finite(x) -> bool:
    return x is None or math.isfinite(x)


@dataclass(frozen=True)
class StepNumbers:
    """What the watch reads of a finished step. None: not measured this step (no reference model, n = 1...)."""
    reward: float
    length: float
    truncated_share: float | None = None
    zero_variance_share: float | None = None
    loss: float | None = None
    grad_norm: float | None = None
    nonfinite_grads: int = 0  # optimizer steps of the update whose gradient norm was NaN or infinite
    entropy: float | None = None
    kl: float | None = None
    truncated: tuple[int, ...] = ()  # sample indices, for the alert's link to the sample browser
    zero_variance: tuple[int, ...] = ()

    @classmethod
    def of(cls, values: dict, extra: dict, has_kl: bool) -> StepNumbers:
        """A step's metrics (`values`), its sample indices and non-finite gradient count (`extra`); `has_kl`:
        the run has a reference model (else its KL is not watched)."""
        def num(key):  # a metric the step has (None where it has not), NaN kept: nonfinite looks for it
            v = values.get(key)
            return None if v is None else float(v)
        return cls(reward=values["reward_mean"], length=values["response_length_mean"],
                   truncated_share=num("truncated_rate"), zero_variance_share=num("zero_std_group_frac"),
                   loss=num("policy_loss"), grad_norm=num("grad_norm"), nonfinite_grads=extra.get("nonfinite_grads", 0),
                   entropy=num("entropy"), kl=num("kl") if has_kl else None,
                   truncated=tuple(extra.get("truncated", ())), zero_variance=tuple(extra.get("zero_variance", ())))


class SignalWatch:
    def __init__(self, t: SignalsConfig, grouped: bool = True):
        """`grouped`: the estimator compares the samples of one prompt (zero_variance is watched)."""
        self.t, self.grouped = t, grouped
        self.history: deque[tuple[int, float, float]] = deque(maxlen=t.window)  # (step, reward, length)
        self.kl: deque[float] = deque(maxlen=t.window)
        self.early_entropy: list[float] = []
        self.last_eval: tuple[int, float, float] | None = None  # (step, eval reward, train reward then)
        self.holding: dict[str, bool] = {}
        self.since: dict[str, int] = {}  # kind -> first step of its current run of holding steps

    # ---- per step ------------------------------------------------------------------------------
    def on_step(self, step: int, m: StepNumbers) -> list[dict]:
        """A finished step's numbers; returns the alerts they raise."""
        return (self._length_hacking(step, m) + self._nonfinite(step, m) + self._truncation(step, m)
                + self._zero_variance(step, m) + self._entropy(step, m) + self._kl(step, m))

    def _length_hacking(self, step: int, m: StepNumbers) -> list[dict]:
        if not (math.isfinite(m.reward) and math.isfinite(m.length)):
            return []  # nonfinite says it; a NaN would stay in the window's means
        self.history.append((step, m.reward, m.length))
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

    def _nonfinite(self, step: int, m: StepNumbers) -> list[dict]:
        bad = [name for name, x in (("loss", m.loss), ("reward", m.reward), ("grad_norm", m.grad_norm)) if not _finite(x)]
        if m.nonfinite_grads and "grad_norm" not in bad:
            bad.append("grad_norm")
        return self._edge("nonfinite", bool(bad), step, [step, step], lambda: (
            f"{' and '.join(bad)} not finite (NaN or inf) at step {step}"
            + (f" ({m.nonfinite_grads} optimizer step(s) with a non-finite gradient norm)" if m.nonfinite_grads else "")
            + ": the weights may be corrupt from here on. Lower train.lr (and check train.max_grad_norm), check the "
            "reward functions for NaN or huge values (reward_clip bounds them), and resume from the last checkpoint "
            "before this step"))

    def _truncation(self, step: int, m: StepNumbers) -> list[dict]:
        limit, share = self.t.truncation_share, m.truncated_share
        holds = limit is not None and share is not None and share >= limit
        return self._sustained("truncation", holds, step, lambda first: (
            f"{share:.0%} of the responses were cut at rollout.max_new_tokens (no end of sequence) in each of steps "
            f"{first}-{step}: the reward scores unfinished answers and length dominates. Raise rollout.max_new_tokens, "
            "penalise length in the reward, or check that the tokenizer's EOS token ends a response"),
            samples=m.truncated, filter={"truncated_only": True})

    def _zero_variance(self, step: int, m: StepNumbers) -> list[dict]:
        limit, share = self.t.zero_variance_share, m.zero_variance_share
        holds = self.grouped and limit is not None and share is not None and share >= limit
        return self._sustained("zero_variance", holds, step, lambda first: (
            f"{share:.0%} of the prompt groups got the same reward for all their samples in each of steps {first}-{step}: "
            "their advantages are 0, so the grouped estimator learns nothing from them. The prompts may be too easy "
            "or too hard for the policy, or the reward too coarse (binary); raise rollout.n_samples_per_prompt or "
            "rollout.temperature, filter the prompts, or give partial credit"), samples=m.zero_variance)

    def _entropy(self, step: int, m: StepNumbers) -> list[dict]:
        ent = m.entropy
        if ent is None or not math.isfinite(ent):
            return self._sustained("entropy_collapse", False, step, str)
        early_n = max(1, self.t.window // 2)
        if len(self.early_entropy) < early_n:
            self.early_entropy.append(ent)
        early = _mean(self.early_entropy) if len(self.early_entropy) == early_n else None
        lo, drop = self.t.entropy_min, self.t.entropy_drop
        below_min = lo is not None and ent <= lo
        fell = drop is not None and early is not None and early > 0 and ent <= drop * early
        return self._sustained("entropy_collapse", below_min or fell, step, lambda first: (
            f"mean token entropy {ent:.4f} nats at step {step}"
            + (f", {ent / early:.0%} of its early {early:.4f}" if early else "")
            + f", low since step {first}: the policy has become (nearly) deterministic, so its samples stop exploring. "
            "Lower train.lr, raise algorithm.kl.coef, or add algorithm.entropy_coef; look at repeated responses"))

    def _kl(self, step: int, m: StepNumbers) -> list[dict]:
        kl = m.kl
        if kl is None or not math.isfinite(kl):
            return self._sustained("kl_blowup", False, step, str)
        self.kl.append(kl)
        above = self.t.kl_max is not None and kl >= self.t.kl_max
        k1 = k2 = None
        if self.t.kl_growth is not None and len(self.kl) == self.t.window:
            half = self.t.window // 2
            rows = list(self.kl)
            k1, k2 = _mean(rows[:half]), _mean(rows[-half:])
        # the window's halves smooth the growth already: it alerts without patience
        grew = k1 is not None and k1 >= KL_BASE and k2 >= self.t.kl_growth * k1
        first = self._held("kl_blowup", above, step)
        if grew and first is None:
            first = step - len(self.kl) + 1
        return self._edge("kl_blowup", first is not None, step, [first, step], lambda: (
            f"KL to the reference {kl:.4f} at step {step}"
            + (f" (window mean {k1:.4f} -> {k2:.4f}, x{k2 / k1:.1f})" if grew else f", above {self.t.kl_max:g} since step {first}")
            + ": the policy is moving far from the reference, often by exploiting the reward. "
            "Raise algorithm.kl.coef, lower train.lr, and look at the samples with the highest KL"))

    # ---- per eval ------------------------------------------------------------------------------
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

    # ---- once per stretch ----------------------------------------------------------------------
    def _held(self, kind: str, holds: bool, step: int) -> int | None:
        """The first step of the current run of steps where `holds`, once it is `patience` steps long; else None."""
        if not holds:
            self.since.pop(kind, None)
            return None
        first = self.since.setdefault(kind, step)
        return first if step - first + 1 >= self.t.patience else None

    def _sustained(self, kind: str, holds: bool, step: int, message, **extra) -> list[dict]:
        """Holds for `patience` consecutive steps: the alert covers [first step it held, step]."""
        first = self._held(kind, holds, step)
        if first is None:
            # still counting: the stretch has not started (or it ended: `holding` goes back to False)
            if not holds:
                self.holding[kind] = False
            return []
        return self._edge(kind, True, step, [first, step], lambda: message(first), **extra)

    def _edge(self, kind: str, holds: bool, step: int, steps: list[int], message, samples=(), filter=None) -> list[dict]:
        was, self.holding[kind] = self.holding.get(kind, False), holds
        if not holds or was:
            return []
        alert = {"kind": kind, "step": step, "steps": steps, "message": message()}
        if samples:
            alert["samples"] = list(samples)[:MAX_SAMPLES]
        if filter:
            alert["filter"] = filter
        return [alert]


@dataclass(frozen=True)
class Progress:
    """The last progress the trainer made: where, how far, and when (time.monotonic())."""
    phase: str
    done: float
    total: float
    step: int
    at: float
    message: str | None = None


class StallWatch:
    """Stalled steps: asked by the watchdog thread with the time and the last progress; one alert per stall."""

    def __init__(self, t: SignalsConfig):
        self.t = t
        self.step_times: deque[float] = deque(maxlen=max(t.window, 5))
        self.stalled_since: float | None = None  # the `at` of the progress the current alert is about

    def step_done(self, seconds: float):
        if math.isfinite(seconds) and seconds > 0:
            self.step_times.append(seconds)

    def limit_s(self) -> float:
        """Seconds without progress that count as a stall."""
        median = statistics.median(self.step_times) if self.step_times else 0.0
        return max(self.t.stall_min_s, (self.t.stall_factor or 0) * median)

    def check(self, now: float, last: Progress | None) -> list[dict]:
        if self.t.stall_factor is None or last is None:
            return []
        idle = now - last.at
        if idle < self.limit_s():
            return []
        if self.stalled_since == last.at:
            return []  # this stall was reported; progress since would have moved `at`
        self.stalled_since = last.at
        median = statistics.median(self.step_times) if self.step_times else None
        where = f"{last.phase}" + (f" ({last.message})" if last.message else "")
        count = f"{last.done:g} of {last.total:g}" + (" samples" if last.phase in ("rollout", "reward") else "")
        return [{"kind": "stalled", "step": last.step, "steps": [last.step, last.step],
                 "progress": {"phase": last.phase, "done": last.done, "total": last.total, "message": last.message,
                              "idle_s": round(idle, 1)},
                 "message": (
                     f"no progress for {idle:.0f}s in phase {where} of step {last.step}, {count} done "
                     + (f"(the median step takes {median:.3g}s)" if median else "(no step has finished yet)")
                     + ": the step may hang (a reward worker or HTTP source not answering, a collective waiting for a "
                     "rank, a full disk). Look at trainer.log and the processes; a step that moves on ends the stall")}]
