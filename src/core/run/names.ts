// The run folder's file and folder names: the TypeScript twin of trainer/rlhf_trainer/runfolder.py (and of
// checkpoint.py's markers, control.py's request folder). Every TypeScript reader and writer of a run folder
// names its files through this module; test/unit/runNames.test.ts keeps the names equal to the Python side
// and finds any name written as a literal outside src/core/run/.

// ---- written by the trainer (runfolder.py) ------------------------------------------------------------
/** The run's state, replaced atomically (schemas/status.schema.json). */
export const STATUS_FILE = 'status.json';
/** The event stream: append-only JSON lines, flushed per line (schemas/events.schema.json). */
export const EVENTS_FILE = 'events.jsonl';
/** The training responses (schemas/sample.schema.json), append-only. */
export const SAMPLES_FILE = 'samples.jsonl';
/** The eval responses (schemas/eval-sample.schema.json); a run without an eval set has none. */
export const EVAL_SAMPLES_FILE = 'eval_samples.jsonl';
/** The resolved config the run trains with (the launcher writes it first, the trainer rewrites it). */
export const CONFIG_FILE = 'config.yaml';
/** Rewritten by rank 0 every HEARTBEAT_S seconds while the trainer lives (src/core/run/job.ts reads it). */
export const HEARTBEAT_FILE = 'heartbeat.json';
/** The folder of a run's checkpoints: `step-NNNNNN` folders (checkpointDirName). */
export const CHECKPOINTS_DIR = 'checkpoints';
/** flock'ed by the trainer writing the folder: a second trainer is refused. */
export const TRAINER_LOCK = '.trainer.lock';
/** Space held while a trainer writes the folder, released to record a failure on a full disk. */
export const SPACE_RESERVE_FILE = '.space-reserve';

// ---- checkpoints (checkpoint.py) ----------------------------------------------------------------------
/** In a checkpoint folder: written last (a checkpoint without it is incomplete). */
export const COMPLETE_MARKER = 'COMPLETE';
/** In a checkpoint folder: the user keeps it (never pruned). */
export const KEEP_MARKER = 'KEEP';
/** In a checkpoint folder: what a resume needs (step, optimizer and sampler state). */
export const RESUME_FILE = 'resume.json';
/** A checkpoint being written or deleted: `checkpoints/.tmp-step-N`, `.tmp-del-…` (removed by the next trainer). */
export const CHECKPOINT_TMP_PREFIX = '.tmp-';
/** Prefix of a checkpoint folder's name. */
export const CHECKPOINT_PREFIX = 'step-';
/** `step-000120`: the folder of the checkpoint of that step (runfolder.py checkpoint_dir). */
export const checkpointDirName = (step: number): string => `${CHECKPOINT_PREFIX}${String(step).padStart(6, '0')}`;

// ---- written by the launcher, the editor and the CLI ----------------------------------------------------
/** The trainer's stdout and stderr (the launcher opens it; __main__.py names it too). */
export const TRAINER_LOG = 'trainer.log';
/** Request files to a running trainer (control.py CONTROL_DIR). */
export const CONTROL_DIR = 'control';
/** The user's labels of samples (append-only). */
export const LABELS_FILE = 'labels.jsonl';
/** The run's note and tags (src/core/run/runNotes.ts). */
export const NOTES_FILE = 'notes.json';
/** Held (created exclusively) while notes.json is read, changed and written (src/core/run/lock.ts). */
export const NOTES_LOCK = `${NOTES_FILE}.lock`;
/** Who kills a trainer notes why here, just before the SIGKILL (runStore). */
export const KILL_REASON_FILE = '.kill-reason';
/** What the scheduler last said about a remote run's job (src/core/run/job.ts). */
export const SCHEDULER_FILE = 'scheduler.json';
/** A Ray run's submission id, address and mirror offset (src/core/launch/rayMirror.ts). */
export const RAY_INFO_FILE = 'ray.json';
/** A Slurm run's batch script (src/core/launch/slurm.ts). */
export const SBATCH_FILE = 'job.sbatch';
/** Slurm's own output of job ID (srun's and torchrun's; the trainer's is trainer.log). */
export const slurmOutName = (jobId: string): string => `slurm-${jobId}.out`;
/** When the user asked a remote run to stop (its own file: scheduler.json is rewritten by several writers). */
export const STOP_NOTE = '.stop-requested';

/** What runfolder.py names in a run folder (the unit test keeps this list equal to it). */
export const TRAINER_NAMES = [
  STATUS_FILE, EVENTS_FILE, SAMPLES_FILE, EVAL_SAMPLES_FILE, CONFIG_FILE, HEARTBEAT_FILE, CHECKPOINTS_DIR, TRAINER_LOCK, SPACE_RESERVE_FILE,
] as const;

/** The files a run folder holds that readers open: each must be a regular file when present. */
export const RUN_FILES = [STATUS_FILE, EVENTS_FILE, SAMPLES_FILE, EVAL_SAMPLES_FILE, LABELS_FILE, NOTES_FILE, CONFIG_FILE] as const;

/** Every name above: what the literal check looks for outside src/core/run/. */
export const RUN_FOLDER_NAMES = [
  STATUS_FILE, EVENTS_FILE, SAMPLES_FILE, EVAL_SAMPLES_FILE, CONFIG_FILE, HEARTBEAT_FILE, CHECKPOINTS_DIR, TRAINER_LOCK,
  SPACE_RESERVE_FILE, COMPLETE_MARKER, KEEP_MARKER, RESUME_FILE, TRAINER_LOG, CONTROL_DIR, LABELS_FILE, NOTES_FILE,
  NOTES_LOCK, KILL_REASON_FILE, SCHEDULER_FILE, STOP_NOTE, RAY_INFO_FILE, SBATCH_FILE,
] as const;

// ---- temporary files (runfolder.py atomic_write_text) ----------------------------------------------------
/**
 * The temporary name of an atomic write of `name`, by the trainer's rule: `.NAME.tmp-PID` beside it. A trainer
 * taking a folder removes leftovers of that form (`.*.tmp-*`); a writer whose temporary file went that way
 * writes it again (atomicWrite). Two writers never share one: the pid differs.
 */
export const tempNameOf = (name: string, pid: number = process.pid): string => `.${name}.tmp-${pid}`;
/** Whether a name is such a temporary file (runfolder.py's glob `.*.tmp-*`). */
export const isTempName = (name: string): boolean => /^\..+\.tmp-.*$/.test(name);
