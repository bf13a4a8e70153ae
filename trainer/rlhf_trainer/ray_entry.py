"""The trainer on a Ray cluster: the entrypoint of a job submitted through the Ray Jobs API (src/core/launch/ray.ts).

    python -m rlhf_trainer.ray_entry --config run/config.yaml --run-id ID --storage DIR --workers N
                                     [--gpus-per-worker G] [--resume CHECKPOINT]

What runs where:

* the job's driver (this module's main, on the node the Jobs API picks) checks the config as `validate` does
  (a config error ends the job at once with the one `config error:` line), then runs Ray Train's
  `TorchTrainer` with N workers; Ray places them and sets up the process group across them (gloo on CPU, NCCL on
  GPU) and the RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR environment;
* every worker runs the trainer's own `run` (the same code path as torchrun's ranks: `Dist` finds Ray's process
  group initialised and uses it) with the run folder `DIR/ID` on the cluster's storage: rank 0 writes it,
  checkpoints included, which stay there;
* no shared filesystem with the user's machine is assumed: rank 0 tails its run folder (ray_mirror.py) and sends
  every append of events.jsonl, samples.jsonl and eval_samples.jsonl and every new status.json / config.yaml to
  the driver through a small actor (`RunChannel`), and the driver prints them to the job's log as tagged lines
  (`@@rlhf1 ...`) that the user's side parses into a local copy of the run folder;
* stop: the Jobs API's stop sends SIGTERM to this driver (and SIGKILL after RAY_JOB_STOP_WAIT_TIME_S, which the
  submitter sets to rlhf.stopTimeoutSeconds); the driver passes a stop request to rank 0 through the channel,
  rank 0 applies it as it does a control file (finish the step, checkpoint, `stopped`), and the driver exits 0
  once the last lines are printed.

Exit codes as `python -m rlhf_trainer run`: 0 completed or stopped, 1 failed, 2 bad config.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from .ray_mirror import END_LINE, MirrorTail

CHANNEL_POLL_S = 0.5


def _channel_class():
    import ray

    @ray.remote(num_cpus=0)
    class RunChannel:
        """Lines from rank 0 to the driver, control requests from the driver to rank 0, and the run's exit code."""

        def __init__(self):
            self.lines: list[str] = []
            self.requests: list[dict] = []
            self.exit_code: int | None = None

        def push(self, lines: list[str]):
            self.lines.extend(lines)

        def pull(self) -> list[str]:
            out, self.lines = self.lines, []
            return out

        def request(self, msg: dict):
            self.requests.append(msg)

        def take_requests(self) -> list[dict]:
            out, self.requests = self.requests, []
            return out

        def set_exit(self, code: int):
            self.exit_code = code

        def get_exit(self) -> int | None:
            return self.exit_code

    return RunChannel


def _worker(c: dict):
    """One rank: the trainer's `run` with Ray's rank and process group; rank 0 also mirrors and takes requests."""
    import ray
    import ray.train

    from . import __main__ as entry
    from .control import Control

    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(ctx.get_world_size()), LOCAL_RANK=str(ctx.get_local_rank()),
                      **c["env"])
    channel = c["channel"]
    run_dir = Path(c["run_dir"])
    control = Control()
    tail = stop_polling = None
    if rank == 0:
        tail = MirrorTail(run_dir, lambda lines: ray.get(channel.push.remote(lines)))
        tail.start()
        stop_polling = threading.Event()

        def poll_requests():  # stop/save requests the driver received, applied as a control file would be
            while not stop_polling.wait(CHANNEL_POLL_S):
                try:
                    for msg in ray.get(channel.take_requests.remote()):
                        control.apply(msg)
                except Exception:  # the driver is gone: the job is ending anyway
                    return
        threading.Thread(target=poll_requests, daemon=True).start()
    # through the trainer's own parser: every `run` option gets its default
    args = entry.parser().parse_args(["run", "--config", c["config"], "--run-dir", str(run_dir), "--no-stdin",
                                      *(["--resume", c["resume"]] if c["resume"] else [])])
    try:
        code = entry.cmd_run(args, control=control)
    finally:
        if rank == 0:
            stop_polling.set()
            tail.stop()  # a last pass: everything the trainer wrote is sent before the exit code
    if rank == 0:
        ray.get(channel.set_exit.remote(code))
    if code != 0:
        # the other ranks may wait for this one in a collective forever (rank 0 refused its config, say): a
        # failed worker ends the whole group (Ray Train's failure policy), and the driver reports rank 0's code
        raise RuntimeError(f"rank {rank}: the trainer exited with code {code}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rlhf_trainer.ray_entry", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--storage", required=True, help="the cluster's folder for run folders (checkpoints stay there)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gpus-per-worker", type=float, default=0)
    ap.add_argument("--resume")
    args = ap.parse_args(argv)

    here = Path.cwd()  # the job's working_dir: the trainer, schemas, the rule engine and the config's folder
    env = {"RLHF_SCHEMAS_DIR": str(here / "schemas"), "RLHF_REWARD_WORKER": str(here / "dist" / "reward-worker.js"),
           "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    os.environ.update(env)
    config = str(Path(args.config).resolve())
    from . import __main__ as entry
    if entry._load(config, args.resume) is None:  # the config error is printed: the job fails with it
        return 2

    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    ray.init(log_to_driver=True)
    channel = _channel_class().remote()
    storage = Path(os.path.expanduser(args.storage)).resolve()
    run_dir = storage / args.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"run folder on the cluster: {run_dir}", flush=True)

    def on_term(signum, _frame):  # the Jobs API's stop: the trainer's graceful path first
        print(f"stop requested ({signal.Signals(signum).name}): finishing the step and checkpointing", flush=True)
        channel.request.remote({"type": "stop"})
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    done = threading.Event()

    def relay():  # rank 0's mirror lines into this job's log, in order
        while True:
            finished = done.is_set()
            for line in ray.get(channel.pull.remote()):
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
            if finished:
                return
            done.wait(CHANNEL_POLL_S)
    relayer = threading.Thread(target=relay, daemon=True)
    relayer.start()

    gpus = args.gpus_per_worker
    scaling = ScalingConfig(num_workers=args.workers, use_gpu=gpus > 0,
                            resources_per_worker={"CPU": 1, **({"GPU": gpus} if gpus else {})})
    trainer = TorchTrainer(_worker, scaling_config=scaling,
                           train_loop_config={"config": config, "run_dir": str(run_dir), "resume": args.resume,
                                              "env": env, "channel": channel},
                           run_config=RunConfig(name=f"rlhf-{args.run_id}", storage_path=str(storage / ".ray-train")))
    code = 1
    try:
        trainer.fit()
        exit_code = ray.get(channel.get_exit.remote())
        code = 1 if exit_code is None else exit_code
    except Exception as e:  # a worker that died (node lost, OOM): the mirror has what rank 0 wrote until then
        print(f"error: Ray Train failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)
        try:
            code = ray.get(channel.get_exit.remote()) or code  # rank 0's own end when it recorded one (2: a bad config)
        except Exception:  # noqa: BLE001 - the channel went with the cluster
            pass
    finally:
        done.set()
        relayer.join(timeout=60)
    print(END_LINE, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
