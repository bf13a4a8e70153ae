"""Two training processes (torchrun, gloo on CPU) give the numbers of one process with the same global batch,
with DDP and with FSDP2 (sharded); their checkpoint resumes with one process and a one-process checkpoint resumes
sharded; rank 0 alone writes the run folder, evaluates and takes stop requests."""

import json
import math
import subprocess
import time

import pytest
import torch
from safetensors.torch import load_file

from conftest import PY, ROOT, example_config, metrics, read_events, run_trainer, write_config

TIMING = {"rollout_s", "reward_s", "experience_s", "train_s", "step_s", "tokens_per_s", "peak_memory_mb", "compile_s"}


def torchrun(nproc: int, config, run_dir, *extra, stdin=subprocess.DEVNULL, **popen):
    """The launch command `rlhf train CONFIG --nproc N` uses (--standalone: a free local rendezvous port)."""
    cmd = [PY, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "rlhf_trainer", "run", "--config", str(config), "--run-dir", str(run_dir), *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **popen)


def run_ranks(nproc: int, config, run_dir, *extra) -> str:
    proc = torchrun(nproc, config, run_dir, *extra)
    try:
        out, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()  # torchrun ends its ranks with it
        out, _ = proc.communicate()
        raise AssertionError(f"torchrun did not exit within 600 s; its last output:\n{out[-4000:]}") from None
    assert proc.returncode == 0, out[-4000:]
    return out


def assert_same_metrics(a: dict, b: dict, steps):
    assert sorted(b) == list(steps)
    for step in steps:
        keys = set(a[step]) - TIMING
        assert keys == set(b[step]) - TIMING, step
        for key in sorted(keys):
            assert b[step][key] == pytest.approx(a[step][key], rel=1e-4, abs=1e-6), (step, key)


def assert_same_weights(a, b):
    x, y = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert x.keys() == y.keys()
    for k in x:
        torch.testing.assert_close(y[k], x[k], rtol=1e-4, atol=1e-6, msg=k)


# reinforce_pp: 32 samples, 2 optimizer steps per rollout (pi_old recomputed), global whitening;
# grpo: 8 prompts x 4 samples, one optimizer step per rollout (pi_old = the generation's log-probs)
CASES = {
    "reinforce_pp": {"rollout.batch_size": 32, "train.batch_size": 16, "train.micro_batch_size": 8},
    "grpo": {"algorithm.estimator": "grpo", "rollout.batch_size": 8, "rollout.n_samples_per_prompt": 4,
             "train.batch_size": 32, "train.micro_batch_size": 8},
}


def case_config(estimator: str, strategy: str) -> dict:
    return example_config(**{"train.max_steps": 3, "checkpoint.every_steps": 2, "logging.samples_per_step": 6,
                             "train.strategy": strategy, **CASES[estimator]})


@pytest.fixture(scope="module")
def one_process_run(tmp_path_factory, example_model):
    """The one-process run of a CASES estimator, made once and compared with both strategies' two-rank runs:
    with one process train.strategy wraps nothing (Dist.wrap), so it is the same run for ddp and fsdp2."""
    done = {}

    def get(estimator: str):
        if estimator not in done:
            tmp = tmp_path_factory.mktemp(f"one-{estimator}")
            r = run_trainer(write_config(tmp, case_config(estimator, "ddp")), tmp / "one")
            assert r.returncode == 0, r.stderr[-3000:]
            done[estimator] = tmp / "one"
        return done[estimator]
    return get


@pytest.mark.parametrize("strategy", ["ddp", "fsdp2"])
@pytest.mark.parametrize("estimator", sorted(CASES))
def test_two_ranks_train_like_one_and_their_checkpoint_resumes_with_one(tmp_path, one_process_run, estimator, strategy):
    config = write_config(tmp_path, case_config(estimator, strategy))
    one, two, resumed = one_process_run(estimator), tmp_path / "two", tmp_path / "resumed"
    run_ranks(2, config, two)

    a, b = metrics(one), metrics(two)
    assert_same_metrics(a, b, [1, 2, 3])
    assert a[1]["reward_std"] > 0 and a[3]["grad_norm"] > 0  # the comparison is not between two no-ops
    assert_same_weights(one / "checkpoints" / "step-000003", two / "checkpoints" / "step-000003")

    # rank 0 alone wrote the run folder: one run_started (world_size 2), one run_finished, one copy of samples
    events = read_events(two)
    started = [e for e in events if e["type"] == "run_started"]
    assert len(started) == 1 and started[0]["world_size"] == 2
    assert [e["status"] for e in events if e["type"] == "run_finished"] == ["completed"]
    samples = (two / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 3 * 6
    assert json.loads((two / "status.json").read_text())["state"] == "completed"

    # the 2-rank checkpoint of step 2 resumes with one process and continues as the 1-process run did
    r = run_trainer(config, resumed, "--resume", str(two / "checkpoints" / "step-000002"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert_same_metrics(a, metrics(resumed), [3])
    assert_same_weights(one / "checkpoints" / "step-000003", resumed / "checkpoints" / "step-000003")


def test_fsdp2_resumes_a_one_process_checkpoint_exactly_and_rank_0_evaluates_alone(tmp_path, example_model):
    """ppo: the critic and both optimizers are cut to shards on load; evaluation (rank 0 alone) runs on
    gathered parameters, so it needs no collective from the ranks that do not evaluate."""
    cfg = example_config(**{"train.max_steps": 3, "checkpoint.every_steps": 2, "train.strategy": "fsdp2",
                            "algorithm.estimator": "ppo", **CASES["reinforce_pp"]})
    cfg["data"]["eval_prompts"] = str(example_model.parent / "data" / "eval.jsonl")
    cfg["eval"]["every_steps"] = 1
    config = write_config(tmp_path, cfg)
    one, resumed = tmp_path / "one", tmp_path / "resumed"
    r = run_trainer(config, one)
    assert r.returncode == 0, r.stderr[-3000:]
    run_ranks(2, config, resumed, "--resume", str(one / "checkpoints" / "step-000002"))

    a = metrics(one)
    assert a[3]["critic_loss"] > 0 and a[3]["grad_norm"] > 0
    assert_same_metrics(a, metrics(resumed), [3])
    assert_same_weights(one / "checkpoints" / "step-000003", resumed / "checkpoints" / "step-000003")
    for key in ("critic", "optimizer", "critic_optimizer"):  # the sharded run's checkpoint holds whole states
        assert_same_state(one / "checkpoints" / "step-000003", resumed / "checkpoints" / "step-000003", key)
    evals = {run: {e["step"]: e["values"] for e in read_events(run) if e["type"] == "eval"} for run in (one, resumed)}
    assert sorted(evals[resumed]) == [3]
    assert evals[resumed][3] == pytest.approx(evals[one][3], rel=1e-4, abs=1e-6)


def assert_same_state(a, b, key):
    """trainer_state.pt[key] (a state_dict) of checkpoints a and b: the same tensors, whole, to float tolerance."""
    x, y = (dict(tensors(torch.load(c / "trainer_state.pt", weights_only=True)[key])) for c in (a, b))
    assert x.keys() == y.keys(), key
    for k in x:
        assert y[k].shape == x[k].shape, (key, k)
        torch.testing.assert_close(y[k].float(), x[k].float(), rtol=1e-4, atol=1e-6, msg=f"{key}{k}")


def tensors(obj, path=""):
    """(path, tensor) of every tensor in nested dicts and lists."""
    if isinstance(obj, torch.Tensor):
        yield path, obj
    elif isinstance(obj, (dict, list)):
        for k, v in (obj.items() if isinstance(obj, dict) else enumerate(obj)):
            yield from tensors(v, f"{path}/{k}")


def test_a_batch_that_does_not_split_over_the_ranks_is_named(tmp_path, example_model):
    cfg = example_config(**{"rollout.batch_size": 33, "train.batch_size": 33, "train.micro_batch_size": 11})
    run_dir = tmp_path / "run"
    out = run_ranks_failing(2, write_config(tmp_path, cfg), run_dir)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed"
    assert "rollout.batch_size 33 is not a multiple of the 2 training processes" in status["error"], (status, out[-2000:])


def run_ranks_failing(nproc, config, run_dir) -> str:
    proc = torchrun(nproc, config, run_dir)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode != 0
    return out


def test_stop_on_rank_0s_stdin_stops_every_rank_after_a_checkpoint(tmp_path, example_model):
    cfg = example_config(**{"train.max_steps": 100000, "train.num_episodes": 1000, "rollout.batch_size": 16,
                            "train.batch_size": 16, "train.micro_batch_size": 8})
    run_dir = tmp_path / "run"
    proc = torchrun(2, write_config(tmp_path, cfg), run_dir, stdin=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not (
                (run_dir / "events.jsonl").exists()
                and any(e["type"] == "metrics" and e["step"] >= 2 for e in read_events(run_dir))):
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            time.sleep(0.1)
        proc.stdin.write(json.dumps({"type": "stop"}) + "\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]
    finally:
        proc.kill()
    events = read_events(run_dir)
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "stopped"
    last = max(e["step"] for e in events if e["type"] == "metrics")
    assert [e["reason"] for e in events if e["type"] == "checkpoint"] == ["stop"]
    assert (run_dir / "checkpoints" / f"step-{last:06d}" / "COMPLETE").is_file()
    assert all(math.isfinite(v) for m in metrics(run_dir).values() for v in m.values() if v is not None)
