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

from .config import ConfigError, load_config


def _tee_to_log(run_dir: Path):
    """Mirror stdout/stderr into trainer.log unless the launcher already points them there."""
    log = run_dir / "trainer.log"
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


def _load(path: str, resume: str | None, max_steps: int | None = None) -> tuple | None:
    """(config, prompt rows, applied resume changes) after every check that needs no model weights,
    or None after printing the one-line error."""
    from .preflight import preflight
    from .resume import check_resume, resume_error
    try:
        found: list = []  # every problem of the config and of what it names, reported together
        cfg = load_config(path, found=found)
        if max_steps:
            cfg["train"]["max_steps"] = max_steps
        error = resume_error(resume)
        if error:
            print(f"error: {error}", file=sys.stderr)
            return None
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


def cmd_run(args, control=None) -> int:
    """`control`: the requests' receiver when the caller has its own channel to it (ray_entry.py); installed here."""
    loaded = _load(args.config, args.resume, args.max_steps)
    if loaded is None:
        return 2
    cfg, rows, applied = loaded

    from .runfolder import RunFolder
    from .control import Control
    from .trainer import Trainer, describe_device, pick_device, sampling_parameters, versions

    run_dir = Path(args.run_dir)
    run = RunFolder(run_dir)
    _tee_to_log(run_dir)
    run.write_config(cfg)
    run.set_status(state="starting")
    run.start_heartbeat()
    control = control or Control()
    control.install(read_stdin=not args.no_stdin, run_dir=run_dir)  # stdin lines and <run>/control/ request files
    trainer = Trainer(cfg, run, resume=args.resume, control=control, prompt_rows=rows)
    status, error = "failed", None
    try:
        device = pick_device(cfg)
        run.emit("run_started", config={k: v for k, v in cfg.items() if not k.startswith("_")},
                 device=describe_device(device), world_size=int(os.environ.get("WORLD_SIZE", "1")), versions=versions(), run_dir=str(run_dir.resolve()),
                 resumed_from=str(Path(args.resume).resolve()) if args.resume else None, pid=os.getpid(),
                 sampling=sampling_parameters(cfg))
        for message in applied:
            trainer.log(message, "warning")
        trainer.setup()
        run.emit("log", level="info", message=f"training {trainer.total_steps} steps on {describe_device(device)}")
        status = trainer.fit()
    except KeyboardInterrupt:
        status, error = "stopped", "interrupted twice; stopped without a final checkpoint"
    except Exception as e:  # recorded in the run folder; the traceback goes to trainer.log
        traceback.print_exc()
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
    return 1 if status == "failed" else 0


def cmd_validate(args) -> int:
    loaded = _load(args.config, args.resume)
    if loaded is None:
        return 2
    cfg, _rows, applied = loaded
    for message in applied:
        print(f"warning: {message}")
    print(f"{args.config}: ok ({cfg['algorithm']['estimator']}, {cfg['rollout']['batch_size']} prompts x "
          f"{cfg['rollout']['n_samples_per_prompt']} samples per step)")
    if not args.no_estimates:
        for line in estimates(cfg, _rows, args.runs_dir):
            print(f"estimate: {line}")
    return 0


def estimates(cfg: dict, rows: dict, runs_dir: str | None) -> list[str]:
    """Memory per device and time per step (estimate.py); an estimate that cannot be made is left out,
    it is no reason to refuse a valid config."""
    from .estimate import estimate_memory, estimate_step_time, memory_line, step_time_line
    from .preflight import load_tokenizer, longest_prompt
    out = []
    mcfg = cfg["model"]
    if Path(mcfg["policy"]).exists():  # the embedded model is built at its first start
        try:
            prompt, _ = longest_prompt(cfg, rows, load_tokenizer(mcfg["policy"], mcfg["trust_remote_code"]))
            out.append(memory_line(cfg, estimate_memory(cfg, prompt)))
        except Exception as e:  # a config.json the meta-device build cannot take (remote code, say)
            out.append(f"memory per device: not estimated ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    step = estimate_step_time(cfg, runs_dir if runs_dir is not None else "runs")
    if step:
        out.append(step_time_line(step))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rlhf_trainer", description="RLHF Studio REINFORCE++ trainer")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train with a config, writing the run folder")
    r.add_argument("--config", required=True)
    r.add_argument("--run-dir", required=True)
    r.add_argument("--resume", help="checkpoint folder to continue from")
    r.add_argument("--max-steps", type=int, help="override train.max_steps")
    r.add_argument("--no-stdin", action="store_true", help="do not read control lines from stdin")
    v = sub.add_parser("validate", help="check a config and exit")
    v.add_argument("--config", required=True)
    v.add_argument("--resume", help="also check the config against this checkpoint's run (changed keys)")
    v.add_argument("--no-estimates", action="store_true",
                   help="only check (the check before a start reads no estimates: it skips loading the tokenizer again)")
    v.add_argument("--runs-dir", help="where to look for an earlier run of the same model for the time estimate "
                                      "(default: ./runs)")
    args = ap.parse_args(argv)
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
