// The trainer's contracts: events (schemas/events.schema.json, protocol v1), status.json, and the run
// shapes the host hands its pages (SeriesChunk, RunInfo). The dashboard page's message union and its
// validators are webview/dashboard/protocol.ts.

export type Phase = 'prepare' | 'load' | 'rollout' | 'reward' | 'train' | 'eval' | 'checkpoint';
export type RunState = 'starting' | 'running' | 'stopping' | 'completed' | 'stopped' | 'failed';
export type FinishStatus = 'completed' | 'stopped' | 'failed';

interface EventBase { v: 1; time: number }
export interface RunStartedEvent extends EventBase { type: 'run_started'; config: Record<string, unknown>; device: string; world_size: number; versions: Record<string, string>; run_dir: string; resumed_from?: string | null; pid?: number;
  /** The config's precision resolved on the device (bf16 autocast or fp32); older runs lack it. */
  precision?: 'fp32' | 'bf16';
  /** Every parameter that decides the rollout distribution (temperature, top_p, top_k: 0 = off, ...); older runs lack it. */
  sampling?: Record<string, unknown>;
  /** The rollout engine that ran (rollout.engine resolved) and how; older runs lack it. */
  rollout?: { engine: string; requested?: string; compile?: string; weights?: string };
  /** The update's micro-batch choice (train.micro_batch_tokens). */
  micro_batches?: { micro_batch_tokens: number | null; micro_batch_size: number; rule?: string } }
export interface ProgressEvent extends EventBase { type: 'progress'; phase: Phase; done: number; total: number; step?: number; message?: string }
export interface MetricsEvent extends EventBase { type: 'metrics'; step: number; samples_seen: number; total_steps?: number | null; values: Record<string, number | null> }
export interface EvalEvent extends EventBase { type: 'eval'; step: number; values: Record<string, number | null> }
export interface SampleItem {
  index: number; prompt: string; response: string; label?: unknown; reward: number; rewards: Record<string, number>;
  reward_errors?: Record<string, string>; response_length?: number; truncated?: boolean;
  tokens?: string[]; logprobs?: number[]; ref_logprobs?: number[]; kl?: number[]; advantages?: number[];
}
export interface SamplesEvent extends EventBase { type: 'samples'; step: number; items: SampleItem[] }
export interface CheckpointEvent extends EventBase { type: 'checkpoint'; step: number; path: string; reason?: string }
export interface LogEvent extends EventBase { type: 'log'; level: 'debug' | 'info' | 'warning' | 'error'; message: string }
export interface RunFinishedEvent extends EventBase { type: 'run_finished'; status: FinishStatus; error?: string | null; step?: number }
/**
 * A watchdog's finding over steps [first, last] (trainer/rlhf_trainer/signals.py); the dashboard shows it above
 * the charts and VS Code notifies it (alertNotices.ts). Other kinds are shown as they come (the schema says so).
 */
export type AlertKind = 'length_hacking' | 'eval_divergence' | 'truncation' | 'zero_variance' | 'nonfinite' | 'entropy_collapse'
  | 'kl_blowup' | 'stalled' | (string & Record<never, never>);
export interface AlertEvent extends EventBase { type: 'alert'; kind: AlertKind; step: number; message: string; steps: [number, number];
  /** The sample browser's filter that shows the offending samples of steps[1]. */
  filter?: { truncated_only?: boolean };
  /** The offending samples of steps[1], by index in the step's rollout (at most 256). */
  samples?: number[];
  /** stalled: where the step is stuck. */
  progress?: { phase: string; done: number; total: number; message?: string | null; idle_s?: number } }

export type TrainerEvent = RunStartedEvent | ProgressEvent | MetricsEvent | EvalEvent | SamplesEvent | CheckpointEvent | LogEvent | RunFinishedEvent | AlertEvent;

export interface RunStatus {
  state: RunState; pid: number | null; step: number; total_steps?: number | null; updated: number;
  error?: string | null; last_checkpoint?: string | null; reward_mean?: number | null;
  /** Set when the end was recorded by the process that saw the trainer die (it could not say itself). */
  exit_code?: number | null; exit_signal?: string | null;
  /** Where the trainer runs (target, scheduler job id): src/core/launch/target.ts JobInfo; absent for a plain local run. */
  job?: { target: string; id: string | null; nodes?: number | null; procs_per_node?: number | null; address?: string | null } | null;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const isNumRecord = (x: unknown): boolean => isObj(x) && Object.values(x).every((v) => v === null || isNum(v));

/** Parses one events.jsonl line. Unknown types and malformed lines give undefined; it never throws. */
export function parseEventLine(line: string): TrainerEvent | undefined {
  if (line.length === 0 || line.charCodeAt(0) !== 123 /* { */) return undefined;
  let e: unknown;
  try { e = JSON.parse(line); } catch { return undefined; }
  if (!isObj(e) || e.v !== 1 || !isStr(e.type) || !isNum(e.time)) return undefined;
  switch (e.type) {
    case 'metrics': return isNum(e.step) && isNumRecord(e.values) ? (e as unknown as MetricsEvent) : undefined;
    case 'eval': return isNum(e.step) && isNumRecord(e.values) ? (e as unknown as EvalEvent) : undefined;
    case 'progress': return isStr(e.phase) && isNum(e.done) && isNum(e.total) ? (e as unknown as ProgressEvent) : undefined;
    case 'samples': return isNum(e.step) && Array.isArray(e.items) ? (e as unknown as SamplesEvent) : undefined;
    case 'checkpoint': return isNum(e.step) && isStr(e.path) ? (e as unknown as CheckpointEvent) : undefined;
    case 'log': return isStr(e.message) ? (e as unknown as LogEvent) : undefined;
    case 'run_started': return isObj(e.config) ? (e as unknown as RunStartedEvent) : undefined;
    case 'run_finished': return isStr(e.status) ? (e as unknown as RunFinishedEvent) : undefined;
    case 'alert': return isAlert(e) ? e : undefined;
    default: return undefined;
  }
}

const MAX_ALERT_MESSAGE = 2000;
const MAX_ALERT_SAMPLES = 256;
/** A kind is a word (it becomes a data attribute and a label): letters, digits, _ and -. */
const isAlertKind = (k: unknown): k is string => isStr(k) && /^[\w-]{1,64}$/.test(k);

/** An alert as the trainer writes it (schemas/events.schema.json); also what the webview accepts from the host. */
export function isAlert(e: unknown): e is AlertEvent {
  return isObj(e) && e.type === 'alert' && isAlertKind(e.kind) && isNum(e.step) && isStr(e.message)
    && e.message.length <= MAX_ALERT_MESSAGE && Array.isArray(e.steps) && e.steps.length === 2 && e.steps.every(isNum)
    && (e.filter === undefined || (isObj(e.filter) && (e.filter.truncated_only === undefined || typeof e.filter.truncated_only === 'boolean')))
    && (e.samples === undefined || (Array.isArray(e.samples) && e.samples.length <= MAX_ALERT_SAMPLES && e.samples.every(isNum)))
    && (e.progress === undefined || isObj(e.progress));
}

export function parseStatus(text: string): RunStatus | undefined {
  try {
    const s: unknown = JSON.parse(text);
    return isObj(s) && isStr(s.state) && typeof s.step === 'number' ? (s as unknown as RunStatus) : undefined;
  } catch { return undefined; }
}

// ---------------------------------------------------------------------------------------------
// What the host hands a page about a run (webview/dashboard/protocol.ts carries them).
// ---------------------------------------------------------------------------------------------

export interface SeriesChunk {
  /** Metric columns appended since the last chunk; `step` and `samples` are the x axes. */
  step: number[]; samples: number[]; time: number[];
  values: Record<string, (number | null)[]>;
}
export interface RunInfo { id: string; name: string; state: RunState | 'unknown' | WatchedState; step: number; totalSteps: number | null; live: boolean; device?: string; error?: string | null;
  /** run_started's engine and micro-batch choice in a few words (the run header), e.g. 'static · 4096 tokens/micro-batch'. */
  setup?: string;
  /** A watched run of another framework (read from its files): which one. */
  framework?: string }
/**
 * A watched run of another framework, whose files do not say whether its trainer still runs: `running` while
 * they changed within the last minutes (adapters' ACTIVE_MS), else `idle`.
 */
export type WatchedState = 'running' | 'idle';
export interface ProgressInfo { phase: Phase; done: number; total: number; message?: string }
