"""cpu_threads.configure(): a bounded OpenMP spin and one thread per usable core, the user's values kept."""

import json
import os
import subprocess
import sys

CODE = "import json; from rlhf_trainer.cpu_threads import configure; print(json.dumps(configure()))"


def configured(**env) -> dict:
    base = {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    out = subprocess.run([sys.executable, "-c", CODE], env={**base, **env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_default_is_a_bounded_spin_with_one_thread_per_usable_core():
    from rlhf_trainer.cpu_threads import SPIN_COUNT, usable_cores
    got = configured()
    assert got == {"OMP_NUM_THREADS": str(usable_cores()), "GOMP_SPINCOUNT": SPIN_COUNT, "KMP_BLOCKTIME": "0"}
    assert 0 < int(SPIN_COUNT) < 300_000  # below libgomp's own default, which spins long enough to starve a sibling


def test_the_users_settings_win_and_a_wait_policy_leaves_the_spin_to_openmp():
    got = configured(OMP_WAIT_POLICY="ACTIVE", OMP_NUM_THREADS="1")
    assert got["OMP_WAIT_POLICY"] == "ACTIVE" and got["OMP_NUM_THREADS"] == "1" and "GOMP_SPINCOUNT" not in got
    assert configured(GOMP_SPINCOUNT="5")["GOMP_SPINCOUNT"] == "5"
