// The launcher contract: where a run's trainer runs and what every target does for it. Targets: `local`
// (one process in its own process group on this machine), `torchrun` (N processes here under torchrun),
// `slurm` (a batch job: srun + torchrun on the allocated nodes) and `ray` (a Ray job). The target and the
// scheduler's job id are in status.json's `job` (written before the trainer starts, kept by it), so every
// reader of a run folder knows where its trainer is. No vscode here.
//
// Liveness of a remote job never uses a pid (the pid in status.json is on another machine): it is what the
// scheduler last said (scheduler.json, refreshed by `liveness`) and the heartbeat rank 0 writes
// (heartbeat.json, every HEARTBEAT_S seconds; trainer/rlhf_trainer/runfolder.py).
import type { SchedulerView, TargetKind } from '../run/job';

// where a run's trainer runs (status.json's job, scheduler.json, heartbeat.json) is the run folder's: src/core/run/job.ts
export {
  HEARTBEAT_S, HEARTBEAT_STALE_S, TARGET_KINDS, VIEW_STALE_S, heartbeatFresh, isRemoteTarget, jobLabel, jobOf,
  noteStopRequested, readHeartbeat, readSchedulerView, remoteAlive, writeSchedulerView,
  type Heartbeat, type JobInfo, type SchedulerView, type TargetKind,
} from '../run/job';
export { HEARTBEAT_FILE, SCHEDULER_FILE } from '../run/names';

/** How a stop went: the local escalation's stages (launcher.ts), or `cancelled` by the scheduler (scancel, Ray's stop). */
export type StopOutcome = 'not-running' | 'graceful' | 'sigint' | 'killed' | 'cancelled';

/** What starting a trainer takes, on any target (the local launcher's LaunchOptions extend it). */
export interface TrainerStart {
  python: string;
  /** Folder holding the rlhf_trainer package (the extension's or the repo's trainer/). */
  trainerDir: string;
  schemasDir: string;
  config: string;
  runDir: string;
  resume?: string;
  /** dist/reward-worker.js: evaluates reward.rules for the trainer. */
  rewardWorker?: string;
  /** Training processes per node (torchrun --nproc-per-node); 1 or absent: one plain process. */
  nproc?: number;
}

/**
 * Each cluster target's own options, one key per target: slurm.ts and ray.ts add theirs with declaration merging
 * (`declare module './target'`), so this contract imports none of its targets.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TargetOptions {}

/** What every target starts from: the trainer, its environment built (trainerEnv), and the cluster options. */
export interface StartRequest extends TrainerStart, TargetOptions {
  /** Absolute config path. */
  config: string;
  env: NodeJS.ProcessEnv;
}

/** A started run: its folder and, while this process started it, how to follow it to its end. */
export interface RunHandle {
  runDir: string;
  target: TargetKind;
  /** The scheduler's job id (remote targets). */
  jobId?: string;
  /** The exit code when known (null: a signal), once the run folder holds how the run ended; a remote job: 0 completed or stopped, 1 failed. */
  exited: Promise<number | null>;
}

export interface StopOptions {
  /** How long each stage waits: the trainer's graceful stop, then the scheduler's cancel (rlhf.stopTimeoutSeconds). */
  timeoutMs: number;
  onStage?: (stage: string) => void;
  /** Who asked, for the recorded reason: `rlhf stop`, `Stop Training`. */
  by: string;
}

export interface Liveness {
  /** The trainer still runs, or the job still waits to run. */
  alive: boolean;
  /** The scheduler's answer, for remote targets (also written to scheduler.json). */
  view?: SchedulerView;
}

export interface LaunchTarget {
  readonly kind: TargetKind;
  /** Starts the run (submits the job); status.json holds `job` before this resolves. */
  start(req: StartRequest): Promise<RunHandle>;
  /** The run's control request (control/), then the scheduler's cancel (or signals, locally) after opts.timeoutMs. */
  stop(runDir: string, opts: StopOptions): Promise<StopOutcome>;
  /** Asks the scheduler and reads the heartbeat (never a local pid for a remote job); records an end the trainer could not. */
  liveness(runDir: string): Promise<Liveness>;
  /** The run's log files, most useful first (trainer.log; the job's own output). */
  logs(runDir: string): string[];
  /** After a window reload or from another process: a handle that resolves when the live run ends; undefined when it is not live. */
  reattach(runDir: string, pollMs?: number): Promise<RunHandle | undefined>;
}
