"""status.json's `job` (where the trainer runs) is kept from the launcher's status.json or taken from torchrun's and
Slurm's environment, and rank 0 writes heartbeat.json while the run lives (src/core/launch/target.ts reads both)."""

import json
import time

from rlhf_trainer.runfolder import RunFolder, launch_job, read_status


def test_the_launchers_job_is_kept_and_its_missing_slurm_id_filled_in(tmp_path, monkeypatch):
    (tmp_path / "status.json").write_text(json.dumps({"state": "starting", "pid": None, "step": 0, "updated": 0,
                                                      "job": {"target": "slurm", "id": None, "nodes": 2}}))
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    run = RunFolder(tmp_path, writer=True)
    run.set_status(state="running")
    run.close()
    assert read_status(tmp_path)["job"] == {"target": "slurm", "id": "4242", "nodes": 2}


def test_job_from_the_environment(monkeypatch):
    for k in ("SLURM_JOB_ID", "SLURM_NNODES", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    assert launch_job(None) is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert launch_job(None) == {"target": "torchrun", "id": None, "nodes": 1, "procs_per_node": 2}
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    monkeypatch.setenv("SLURM_NNODES", "3")
    assert launch_job({"state": "running"}) == {"target": "slurm", "id": "7", "nodes": 3, "procs_per_node": 2}


def test_rank_0_beats_until_closed(tmp_path):
    run = RunFolder(tmp_path, writer=True)
    run.start_heartbeat(every_s=0.05)
    deadline = time.time() + 30
    while not (tmp_path / "heartbeat.json").exists() and time.time() < deadline:
        time.sleep(0.01)
    first = json.loads((tmp_path / "heartbeat.json").read_text())
    while json.loads((tmp_path / "heartbeat.json").read_text())["time"] == first["time"] and time.time() < deadline:
        time.sleep(0.01)
    assert json.loads((tmp_path / "heartbeat.json").read_text())["time"] > first["time"]
    run.close()
    assert set(first) == {"time", "host", "pid", "job_id"}
    other = RunFolder(tmp_path / "rank1", writer=False)
    other.start_heartbeat(every_s=0.05)
    other.close()
    assert not (tmp_path / "rank1" / "heartbeat.json").exists()
