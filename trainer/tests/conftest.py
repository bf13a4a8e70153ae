import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "arithmetic"
PY = sys.executable


@pytest.fixture(scope="session")
def example_model():
    """The embedded example's model, built once (it is cached in the example folder, gitignored)."""
    from rlhf_trainer.bootstrap import create_model
    path = EXAMPLE / "model"
    if not path.exists():
        create_model("arithmetic", path)
    return path


def example_config(**overrides) -> dict:
    cfg = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    cfg["model"]["policy"] = str(EXAMPLE / "model")
    cfg["data"]["prompts"] = str(EXAMPLE / "data" / "train.jsonl")
    cfg["data"]["eval_prompts"] = None
    # most tests score with the Python function; the learning test goes through the rule engine
    cfg["reward"] = {"fallback": 0.0, "sources": [{"name": "correct", "function": str(EXAMPLE / "reward.py") + ":reward_func"}]}
    cfg["train"]["max_steps"] = 4
    cfg["checkpoint"]["every_steps"] = None
    for dotted, value in overrides.items():
        node = cfg
        keys = dotted.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return cfg


def write_config(tmp_path: Path, cfg: dict, name="config.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def run_trainer(config: Path, run_dir: Path, *extra, timeout=600, stdin=subprocess.DEVNULL):
    return subprocess.run([PY, "-m", "rlhf_trainer", "run", "--config", str(config), "--run-dir", str(run_dir), *extra],
                          capture_output=True, text=True, timeout=timeout, stdin=stdin, cwd=ROOT)


def validate_here(*argv) -> subprocess.CompletedProcess:
    """`python -m rlhf_trainer validate ARGV` run in this process: its exit code and output, without the ~3 s an
    interpreter takes to start and import torch (the suite validates a few dozen configs). Tests of what a
    fresh process sees (its PYTHONPATH, its working folder) start one instead."""
    import contextlib
    import io

    from rlhf_trainer.__main__ import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["validate", *map(str, argv)])
        except SystemExit as e:  # argparse's usage errors
            code = e.code if isinstance(e.code, int) else 2
    return subprocess.CompletedProcess(["validate", *map(str, argv)], code, out.getvalue(), err.getvalue())


def read_events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


def metrics(run_dir: Path) -> dict[int, dict]:
    return {e["step"]: e["values"] for e in read_events(run_dir) if e["type"] == "metrics"}


def start_long_run(tmp_path: Path, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, run_name="run", **overrides):
    """A trainer that would run for hours, started in the background; the test stops or kills it."""
    cfg = example_config(**{"train.max_steps": 100000, "train.num_episodes": 1000, **overrides})
    run_dir = tmp_path / run_name
    proc = subprocess.Popen([PY, "-m", "rlhf_trainer", "run", "--config", str(write_config(tmp_path, cfg)),
                             "--run-dir", str(run_dir)], stdin=stdin, stdout=subprocess.DEVNULL,
                            stderr=stderr, text=True, cwd=ROOT)
    return proc, run_dir


@pytest.fixture
def small_fs(tmp_path):
    """A real 2.5 MiB tmpfs: the run starts, the 0.9 MB checkpoint (model + optimizer state) does not fit."""
    mnt = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2560k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip() or 'mount failed'}); needs root/CAP_SYS_ADMIN")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
