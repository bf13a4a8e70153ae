"""Checkpoints are always whole: real trainers killed at injected points, a real full file system,
and a trainer state that loads without pickle."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from rlhf_trainer.checkpoint import STATE_FILE
from rlhf_trainer.runfolder import complete_checkpoints, latest_checkpoint
from conftest import PY, ROOT, example_config, read_events, run_trainer, write_config


def _trainer(tmp_path: Path, run_dir: Path, crash_at: str | None, *extra, **overrides):
    cfg = example_config(**{"train.max_steps": 6, "checkpoint.every_steps": 1, "checkpoint.keep_last": 1, **overrides})
    env = {**os.environ}
    env.pop("RLHF_TEST_CRASH_AT", None)
    if crash_at:
        env["RLHF_TEST_CRASH_AT"] = crash_at
    return subprocess.run([PY, "-m", "rlhf_trainer", "run", "--config", str(write_config(tmp_path, cfg)),
                           "--run-dir", str(run_dir), "--no-stdin", *extra], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)


def _assert_every_listed_checkpoint_is_whole(run_dir: Path):
    for ckpt in complete_checkpoints(run_dir):
        assert (ckpt / STATE_FILE).is_file() and (ckpt / "model.safetensors").is_file(), ckpt
        torch.load(ckpt / STATE_FILE, weights_only=True)


def _cli_checkpoint_count(runs_dir: Path) -> int | None:
    """CKPTS as `rlhf runs` prints it (None where the CLI is not built)."""
    cli, node = ROOT / "dist" / "cli.js", shutil.which("node")
    if not cli.is_file() or not node:
        return None
    out = subprocess.run([node, str(cli), "runs", "--runs-dir", str(runs_dir)], capture_output=True, text=True,
                         timeout=60, cwd=ROOT).stdout.splitlines()
    return int(out[1].split()[-1])


@pytest.mark.parametrize("point,listed_after_kill", [
    ("checkpoint_write", 0),       # model written, trainer_state.pt being written: only .tmp-step-000001
    ("checkpoint_commit", 0),      # COMPLETE written, not yet renamed
    ("prune", 1),                  # step 2 committed, step 1 renamed away and not yet deleted
    ("checkpoint_commit:3", 1),    # overwriting nothing, but a previous checkpoint exists
    ("status_write:6", None),      # killed between writing .status.json.tmp and renaming it
])
def test_kill_at_injected_point_leaves_whole_checkpoints_and_resume_works(tmp_path, example_model, point,
                                                                          listed_after_kill):
    runs = tmp_path / "runs"
    run_dir = runs / "run"
    r = _trainer(tmp_path, run_dir, point)
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr[-2000:])
    listed = complete_checkpoints(run_dir)
    if listed_after_kill is not None:
        assert len(listed) == listed_after_kill
    _assert_every_listed_checkpoint_is_whole(run_dir)
    json.loads((run_dir / "status.json").read_text())  # never a torn status file
    cli_count = _cli_checkpoint_count(runs)
    assert cli_count in (None, len(listed))
    if point.startswith(("checkpoint", "prune")):
        assert list((run_dir / "checkpoints").glob(".tmp-*")), "the kill should have left a .tmp folder"

    # the next start in the same run folder removes the leftovers and trains on
    resume = ("--resume", str(listed[-1])) if listed else ()
    r = _trainer(tmp_path, run_dir, None, *resume, **{"train.max_steps": (int(listed[-1].name[5:]) if listed else 0) + 1})
    assert r.returncode == 0, r.stderr[-3000:]
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))
    assert not list(run_dir.glob(".status.json.tmp-*"))
    _assert_every_listed_checkpoint_is_whole(run_dir)
    assert json.loads((run_dir / "status.json").read_text())["state"] == "completed"


def test_trainer_state_loads_with_weights_only(tmp_path, example_model):
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, example_config(**{"train.max_steps": 2})), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    state = torch.load(latest_checkpoint(run_dir) / STATE_FILE, weights_only=True)
    assert state["step"] == 2 and {"torch", "python", "numpy"} <= set(state["rng"])


def test_overwriting_a_checkpoint_keeps_the_listing_whole(tmp_path):
    from rlhf_trainer.runfolder import RunFolder
    run = RunFolder(tmp_path / "run")
    first = run.commit_checkpoint(run.begin_checkpoint(5), 5)
    (first / "marker").write_text("old")
    tmp = run.begin_checkpoint(5)
    (tmp / "marker").write_text("new")
    final = run.commit_checkpoint(tmp, 5)
    assert (final / "marker").read_text() == "new"
    assert [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()] == ["step-000005"]


def test_full_disk_fails_the_run_with_enospc_and_frees_the_space(tmp_path, example_model, small_fs):
    run_dir = small_fs / "run"
    cfg = example_config(**{"train.max_steps": 50, "checkpoint.every_steps": 1, "logging.samples_per_step": 0})
    r = run_trainer(write_config(tmp_path, cfg), run_dir, "--no-stdin")
    assert r.returncode == 1, r.stderr[-3000:]
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed", status
    assert "ENOSPC" in status["error"] and "no space left on device" in status["error"].lower()
    last = read_events(run_dir)[-1]
    assert last["type"] == "run_finished" and last["status"] == "failed" and "ENOSPC" in last["error"]
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))
    assert shutil.disk_usage(small_fs).free > 512 * 1024  # the half-written checkpoint's space is free again


def test_a_disk_filled_by_another_process_still_records_the_failure(tmp_path, example_model, small_fs):
    """0 bytes free, and nothing of the trainer's own to delete (no checkpoint is being written): the space it
    holds in RUN/.space-reserve is released first, so status.json, run_finished and the traceback in trainer.log
    (on the same full disk, as the launcher places it) still say `failed: ENOSPC` — before, the run read
    `running`/`unknown` forever."""
    run_dir = small_fs / "run"
    run_dir.mkdir()
    cfg = example_config(**{"train.max_steps": 100000, "train.num_episodes": 1000, "logging.samples_per_step": 0})
    with open(run_dir / "trainer.log", "w") as log:
        proc = subprocess.Popen([PY, "-m", "rlhf_trainer", "run", "--config", str(write_config(tmp_path, cfg)),
                                 "--run-dir", str(run_dir), "--no-stdin"], stdout=log, stderr=log, cwd=ROOT)
    try:
        deadline = time.monotonic() + 600
        events = run_dir / "events.jsonl"
        while not (events.exists() and '"type":"metrics"' in events.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, (run_dir / "trainer.log").read_text()[-3000:]
            time.sleep(0.2)
        assert (run_dir / ".space-reserve").exists()
        with open(small_fs / "filler", "wb") as f:  # someone else fills the disk to the last byte
            try:
                while True:
                    f.write(b"x" * 65536)
                    f.flush()
            except OSError:
                pass
        assert proc.wait(timeout=600) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed" and "ENOSPC" in status["error"], status
    last = read_events(run_dir)[-1]
    assert last["type"] == "run_finished" and last["status"] == "failed", last
    assert not (run_dir / ".space-reserve").exists()
