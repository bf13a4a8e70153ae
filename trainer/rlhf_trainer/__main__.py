"""python -m rlhf_trainer run --config FILE.yaml --run-dir DIR [--resume CHECKPOINT]

Exit codes: 0 completed or stopped on request, 1 failed while training, 2 bad config or arguments.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback
from pathlib import Path

from .cpu_threads import configure as _configure_cpu_threads

_configure_cpu_threads()  # before anything imports torch (config imports algorithms)

from .config import ConfigError, load_config  # noqa: E402
from .runconfig import RewardModelRunConfig, RunConfig  # noqa: E402
from .names import TRAINER_LOG  # noqa: E402


def _tee_to_log(run_dir: Path):
    """Mirror stdout/stderr into trainer.log unless the launcher already points them there."""
    log = run_dir / TRAINER_LOG
    try:
        if log.exists() and os.fstat(1).st_ino == log.stat().st_ino:
            return
    except OSError:
        pass
    f = open(log, "a", buffering=1)

    class Tee:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            try:
                f.write(data)
            except OSError:
                pass  # a full disk must not turn reporting the failure into a second failure
            return self.stream.write(data)

        def flush(self):
            try:
                f.flush()
            except OSError:
                pass
            self.stream.flush()

        def __getattr__(self, name):
            return getattr(self.stream, name)

    sys.stdout, sys.stderr = Tee(sys.stdout), Tee(sys.stderr)


def _kind(path: str) -> str:
    """policy or reward_model (a file that cannot be read is a policy config: its loader reports why)."""
    from .config import config_kind, read_config_file
    try:
        return config_kind(read_config_file(path)[0])
    except ConfigError:
        return "policy"


def _load(path: str, resume: str | None, max_steps: int | None = None, kind: str = "policy") -> tuple | None:
    """(config, prompt rows or a reward-model run's pairs, applied resume changes) after every check that needs
    no model weights, or None after printing the one-line error."""
    from .preflight import preflight
    from .resume import check_resume, resume_error
    if kind == "reward_model":  # train_rm imports torch.distributed (~1 s): a policy config's check does without it
        from .train_rm import check_rm_resume, load_rm_config, preflight_rm
    try:
        found: list = []  # every problem of the config and of what it names, reported together
        cfg = load_rm_config(path) if kind == "reward_model" else load_config(path, found=found)
        if max_steps:  # --max-steps overrides the file's train.max_steps (the dict is what the run records)
            cfg["train"]["max_steps"] = max_steps
        error = resume_error(resume)
        if error:
            print(f"error: {error}", file=sys.stderr)
            return None
        if kind == "reward_model":
            rows = preflight_rm(cfg)
            applied = check_rm_resume(cfg, Path(resume), rows["digest"]) if resume else []
        else:
            rows = preflight(cfg, found)
            applied = check_resume(cfg, Path(resume), rows["train"].digest) if resume else []
        return cfg, rows, applied
    except ConfigError as e:
        for line in e.lines:
            print(f"config error: {line}", file=sys.stderr)
        return None


def _chain(e: BaseException | None):
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def describe_error(e: BaseException) -> str:
    """One line for status.json; a full disk is named as such even where a library (torch.save,
    safetensors) reports it as its own error with the OSError only in the exception chain."""
    text = f"{type(e).__name__}: {e}"
    full = any((isinstance(x, OSError) and x.errno == errno.ENOSPC) or "No space left on device" in str(x)
               or "os error 28" in str(x) for x in _chain(e))
    if full and "ENOSPC" not in text:
        text = f"ENOSPC: no space left on device ({text}); free disk space, then resume from the last checkpoint"
    return text


_KEEP_UNTIL_EXIT: list = []


def cmd_run(args, control=None) -> int:
    """`control`: the requests' receiver when the caller has its own channel to it (ray_entry.py); installed here."""
    kind = _kind(args.config)
    reward_model = kind == "reward_model"
    loaded = _load(args.config, args.resume, args.max_steps, kind)
    if args.temporary_config:
        Path(args.config).unlink(missing_ok=True)
    if loaded is None:
        return 2
    cfg, rows, applied = loaded

    from .runfolder import RunFolder, RunFolderTaken
    from .control import Control
    from .train_rm import RewardModelTrainer
    from .models import describe_device, pick_device, versions
    from .rollout import describe_engine, sampling_parameters
    from .trainer import Trainer
    from .update import describe_micro_batches, resolve_precision

    run_dir = Path(args.run_dir)
    try:
        run = RunFolder(run_dir)
    except RunFolderTaken as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _tee_to_log(run_dir)
    run.write_config(cfg)
    run.set_status(state="starting")
    run.start_heartbeat()
    control = control or Control()
    control.install(read_stdin=not args.no_stdin, run_dir=run_dir, stop_on_eof=args.stop_on_eof)  # stdin lines and <run>/control/ request files
    if reward_model:
        trainer = RewardModelTrainer(cfg, run, resume=args.resume, control=control, rows=rows)
    else:
        trainer = Trainer(cfg, run, resume=args.resume, control=control, prompt_rows=rows)
    # Under torchrun the trainer outlives this function: freeing it would run the DDP reducer's gloo destructor,
    # which can block forever once the peer rank has exited; the process ends with os._exit (see the bottom)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        _KEEP_UNTIL_EXIT.append(trainer)
    status, error = "failed", None
    try:
        typed = RewardModelRunConfig.from_dict(cfg) if reward_model else RunConfig.from_dict(cfg)
        device = pick_device(typed.device)
        rc = None if reward_model else typed
        run.emit("run_started", config={k: v for k, v in cfg.items() if not k.startswith("_")},
                 device=describe_device(device), world_size=int(os.environ.get("WORLD_SIZE", "1")), versions=versions(), run_dir=str(run_dir.resolve()),
                 resumed_from=str(Path(args.resume).resolve()) if args.resume else None, pid=os.getpid(),
                 **({} if rc is None else {"sampling": sampling_parameters(rc),
                                           "precision": resolve_precision(rc.precision, device),
                                           "rollout": describe_engine(rc.rollout.engine, device,
                                                                      resolve_precision(rc.precision, device)),
                                           "micro_batches": describe_micro_batches(rc.train)}))
        for message in applied:
            trainer.log(message, "warning")
        trainer.setup()
        run.emit("log", level="info", message=f"training {trainer.total_steps} steps on {describe_device(device)}")
        status = trainer.fit()
    except KeyboardInterrupt:
        status, error = "stopped", "interrupted twice; stopped without a final checkpoint"
    except Exception as e:  # recorded in the run folder; the traceback goes to trainer.log
        run.remove_partial_checkpoints()  # first: on a full disk this frees the space to record the failure
        try:
            traceback.print_exc()
        except OSError:  # trainer.log is on the full disk too: status.json and events.jsonl still say why
            pass
        error = describe_error(e)
        status = "failed"
    finally:
        control.close()
        trainer.close()
    if status == "failed":
        run.remove_partial_checkpoints()  # on a full disk this frees the space to record the failure
    step = getattr(trainer, "step", 0)
    try:
        run.emit("run_finished", status=status, error=error, step=step)
    except OSError as e:  # status.json below is what readers trust; it is written in place if need be
        print(f"could not append run_finished to events.jsonl: {e}", file=sys.stderr)
    run.set_status(state=status, error=error, step=step)
    try:
        run.close()
    except OSError:
        pass
    print(f"run {status}" + (f": {error}" if error else ""), flush=True)
    if getattr(trainer, "output", None):
        print(f"reward model: {trainer.output.resolve()}", flush=True)
    return 1 if status == "failed" else 0


def cmd_validate(args) -> int:
    if _kind(args.config) == "reward_model":
        return validate_rm(args)
    loaded = _load(args.config, args.resume)
    if loaded is None:
        return 2
    cfg, _rows, applied = loaded
    for message in applied:
        print(f"warning: {message}")
    rc = RunConfig.from_dict(cfg)
    print(f"{args.config}: ok ({rc.algorithm.estimator}, {rc.rollout.batch_size} prompts x "
          f"{rc.rollout.n_samples_per_prompt} samples per step)")
    if not args.no_estimates:
        for line in estimates(cfg, _rows, args.runs_dir):
            print(f"estimate: {line}")
    if args.facts:
        import json
        print(f"facts: {json.dumps(model_facts(rc, _rows))}")
    return 0


def model_facts(rc: RunConfig, rows: dict) -> dict | None:
    """What the model-dependent check of the prompt lengths reads (preflight.check_model_limits): the model's
    positions and the longest prompt's tokens before data.max_prompt_tokens. The editor keeps them per model
    folder and prompt files and checks rollout.max_new_tokens and data.max_prompt_tokens against them as you
    type, without a Python start (src/core/quickCheck.ts). None when the model folder is not there yet."""
    from .preflight import load_tokenizer, longest_prompt, model_positions
    if not Path(rc.model.policy).exists():
        return None
    try:
        found = model_positions(rc.model)
        _, longest = longest_prompt(rc, rows, load_tokenizer(rc.model.policy, rc.model.trust_remote_code))
    except Exception:  # the check itself reports what cannot be read
        return None
    return {"positions": found[0] if found else None, "positions_key": found[1] if found else None,
            "longest_prompt": longest}


def validate_rm(args) -> int:
    loaded = _load(args.config, args.resume, kind="reward_model")
    if loaded is None:
        return 2
    cfg, rows, _ = loaded
    rm = RewardModelRunConfig.from_dict(cfg)
    print(f"{args.config}: ok (reward model, {len(rows['train'])} training pairs, {len(rows['eval'])} held out, "
          f"{rm.train.batch_size} pairs per step)")
    if not args.no_estimates and Path(rm.model.base).exists():
        from .estimate import estimate_rm_memory, rm_memory_line
        try:
            print(f"estimate: {rm_memory_line(rm, estimate_rm_memory(rm))}")
        except Exception as e:  # an estimate is no reason to refuse a valid config
            print(f"estimate: memory per device: not estimated ({type(e).__name__})")
    return 0


def estimates(cfg: dict, rows: dict, runs_dir: str | None) -> list[str]:
    """Memory per device and time per step (estimate.py); an estimate that cannot be made is left out,
    it is no reason to refuse a valid config."""
    from .estimate import estimate_memory, estimate_step_time, memory_line, step_time_line
    from .preflight import load_tokenizer, longest_prompt
    out, rc = [], RunConfig.from_dict(cfg)
    mcfg = rc.model
    if Path(mcfg.policy).exists():  # the embedded model is built at its first start
        try:
            prompt, _ = longest_prompt(rc, rows, load_tokenizer(mcfg.policy, mcfg.trust_remote_code))
            out.append(memory_line(estimate_memory(rc, prompt)))
        except Exception as e:  # a config.json the meta-device build cannot take (remote code, say)
            out.append(f"memory per device: not estimated ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    step = estimate_step_time(rc, runs_dir if runs_dir is not None else "runs")
    if step:
        out.append(step_time_line(step))
    return out


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m rlhf_trainer` (also how ray_entry.py builds its `run` arguments)."""
    ap = argparse.ArgumentParser(prog="python -m rlhf_trainer", description="RLHF Studio REINFORCE++ trainer")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train with a config, writing the run folder")
    r.add_argument("--config", required=True)
    r.add_argument("--run-dir", required=True)
    r.add_argument("--resume", help="checkpoint folder to continue from")
    r.add_argument("--max-steps", type=int, help="override train.max_steps")
    r.add_argument("--no-stdin", action="store_true", help="do not read control lines from stdin")
    r.add_argument("--stop-on-eof", action="store_true",
                   help="stop (finishing the step, with a checkpoint) when stdin closes: the process that started "
                        "this trainer ended (rlhf compare: its trainers do not outlive it)")
    r.add_argument("--temporary-config", action="store_true",
                   help="delete --config once it is read (the run folder keeps its resolved copy): a config written "
                        "for this run only (rlhf compare) is never left behind")
    v = sub.add_parser("validate", help="check a config and exit")
    v.add_argument("config_file", nargs="?", help="the config (or --config)")
    v.add_argument("--config")
    v.add_argument("--resume", help="also check the config against this checkpoint's run (changed keys)")
    v.add_argument("--no-estimates", action="store_true",
                   help="only check (the check before a start reads no estimates: it skips loading the tokenizer again)")
    v.add_argument("--facts", action="store_true",
                   help="also print `facts: {json}` (the model's positions and the longest prompt's tokens) for the editor")
    v.add_argument("--runs-dir", help="where to look for an earlier run of the same model for the time estimate "
                                      "(default: ./runs)")
    return ap


def main(argv=None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    if args.cmd == "validate":
        args.config = args.config or args.config_file
        if not args.config:
            ap.error("validate: give the config file")
    return {"run": cmd_run, "validate": cmd_validate}[args.cmd](args)


if __name__ == "__main__":
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # Under torchrun, gloo's native objects (the DDP reducer's process group) can block forever in
        # their destructors once the peer rank has exited (seen: a rank idle after "run completed").
        # Everything is written, fsynced and closed by now, so end without running them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
