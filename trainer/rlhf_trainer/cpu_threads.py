"""CPU threads that yield on a shared machine; imported before torch (it imports nothing heavy).

An OpenMP worker that spin-waits at a barrier for its descheduled sibling burns the CPU the sibling needs:
on the 2-core machine, with other work beside it, a step took 8-14x its quiet time instead of the ~2x
the CPU share it got would explain (docs/benchmarks.md). A worker that sleeps at once at every barrier
(OMP_WAIT_POLICY=PASSIVE) pays a wake-up of 50-100 us per parallel region instead, which doubles the time of
the small matmuls of a decode step. So a worker spins briefly, then sleeps: GOMP_SPINCOUNT=3000 (libgomp,
which PyTorch's wheels link; a few us of spinning, against 300,000 by default and unbounded when ACTIVE),
KMP_BLOCKTIME=0 for builds on Intel/LLVM OpenMP; and one thread per core this process may run on. A step
then slows down about as its CPU share predicts (bench/trainer/contention.py) while a quiet decode step
keeps its speed (bench/trainer/rollout_vs_generate.py).
Values already in the environment win (torchrun sets OMP_NUM_THREADS per rank; a user may tune them; a user's
OMP_WAIT_POLICY leaves libgomp's spin count to it).
"""

from __future__ import annotations

import os

SPIN_COUNT = "3000"


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota if one is set."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def configure() -> dict:
    """Sets the OpenMP wait policy and thread count for torch (call before importing it); returns what holds."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)  # libgomp: spin this many iterations, then sleep
    os.environ.setdefault("KMP_BLOCKTIME", "0")  # Intel/LLVM OpenMP: sleep at barriers, for builds that link it
    os.environ.setdefault("OMP_NUM_THREADS", str(usable_cores()))
    return {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
            if k in os.environ}
