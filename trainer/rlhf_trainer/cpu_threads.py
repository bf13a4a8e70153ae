"""CPU threads that yield on a shared machine; imported before torch (it imports nothing heavy).

An OpenMP worker that spin-waits at a barrier for its descheduled sibling burns the CPU the sibling needs:
on the 2-core machine, with other work beside it, a step took 8-14x its quiet time instead of the ~2x
the CPU share it got would explain (docs/benchmarks.md). Passive waiting (threads sleep at a barrier) and
one thread per core this process may run on make a step slow down in proportion to the CPU it gets.
Values already in the environment win (torchrun sets OMP_NUM_THREADS per rank; a user may tune them).
"""

from __future__ import annotations

import os


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
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # GNU and LLVM OpenMP: sleep at barriers, no spinning
    os.environ.setdefault("KMP_BLOCKTIME", "0")  # Intel/LLVM OpenMP: the same, for builds that link it
    os.environ.setdefault("OMP_NUM_THREADS", str(usable_cores()))
    return {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "KMP_BLOCKTIME")}
