// Where a run's trainer runs, as its run folder says: status.json's `job`, the scheduler's last answer
// (scheduler.json, written by RLHF Studio) and the heartbeat rank 0 writes (heartbeat.json, every
// HEARTBEAT_S seconds; trainer/rlhf_trainer/runfolder.py). Liveness of a remote job never uses a pid.
// The launch targets (src/core/launch/) write these files; every reader of a run folder reads them here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunStatus } from '../protocol';
import { atomicWrite } from './atomic';
import { HEARTBEAT_FILE, SCHEDULER_FILE, STOP_NOTE } from './names';

export type TargetKind = 'local' | 'torchrun' | 'slurm' | 'ray';
export const TARGET_KINDS: readonly TargetKind[] = ['local', 'torchrun', 'slurm', 'ray'];
export const isRemoteTarget = (k: TargetKind | undefined): boolean => k === 'slurm' || k === 'ray';

/** status.json's `job`: where the run's trainer runs (schemas/status.schema.json). Absent: a local run. */
export interface JobInfo {
  target: TargetKind;
  /** The scheduler's job id: Slurm's `123456`, Ray's `raysubmit_…`; null for local targets. */
  id: string | null;
  /** Nodes asked for (Slurm --nodes, Ray workers). */
  nodes?: number | null;
  /** Ranks per node (torchrun --nproc-per-node). */
  procs_per_node?: number | null;
  /** Where the scheduler is: the Ray dashboard address; Slurm's partition (null: the default one). */
  address?: string | null;
}

/** What the scheduler last said about a run's job: RUN/scheduler.json, written by RLHF Studio, never by the trainer. */
export interface SchedulerView {
  /** The scheduler's own state word: PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, PREEMPTED… (Ray: PENDING, RUNNING, SUCCEEDED, STOPPED, FAILED). */
  state: string;
  /** The scheduler's reason or message, when it gave one (Slurm's Reason, `CANCELLED by 0`, Ray's message). */
  reason?: string | null;
  /** Nodes the job runs on, when running. */
  nodes?: number | null;
  /** Unix seconds of that answer. */
  checked: number;
  /** Whether the state is final (the job will not run again). */
  ended: boolean;
  /** Unix seconds when a stop was asked for: the scheduler's cancel that may follow is the user's, not a failure. */
  stop_requested?: number | null;
}

/** The trainer's heartbeat: RUN/heartbeat.json, rewritten by rank 0 every HEARTBEAT_S seconds while it runs. */
export interface Heartbeat { time: number; host: string; pid: number; job_id?: string | null }
export const HEARTBEAT_S = 5;
/** A heartbeat older than this (seconds) is not a sign of life (a few missed beats: a busy or a gone trainer). */
export const HEARTBEAT_STALE_S = 60;
/** A scheduler answer older than this (seconds) says nothing about now. */
export const VIEW_STALE_S = 120;


function readJson(file: string): unknown {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown; } catch { return undefined; }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** status.json's `job`, checked; undefined for a run without one (a local run of an older version included). */
export function jobOf(status: RunStatus | undefined): JobInfo | undefined {
  const j = (status as { job?: unknown } | undefined)?.job;
  return isObj(j) && typeof j.target === 'string' && (TARGET_KINDS as readonly string[]).includes(j.target) ? (j as unknown as JobInfo) : undefined;
}

export function readHeartbeat(runDir: string): Heartbeat | undefined {
  const h = readJson(path.join(runDir, HEARTBEAT_FILE));
  return isObj(h) && typeof h.time === 'number' ? (h as unknown as Heartbeat) : undefined;
}

export function heartbeatFresh(runDir: string, now = Date.now() / 1000): boolean {
  const h = readHeartbeat(runDir);
  return !!h && now - h.time < HEARTBEAT_STALE_S;
}

export function readSchedulerView(runDir: string): SchedulerView | undefined {
  const v = readJson(path.join(runDir, SCHEDULER_FILE));
  if (!isObj(v) || typeof v.state !== 'string' || typeof v.checked !== 'number') return undefined;
  let note: number | null = null;
  try { note = Number(fs.readFileSync(path.join(runDir, STOP_NOTE), 'utf8')) || null; } catch { /* no stop asked for */ }
  return { ...(v as unknown as SchedulerView), stop_requested: note };
}

/** Writes scheduler.json (temporary file, then rename); `stop_requested` comes from the stop note, not from here. */
export function writeSchedulerView(runDir: string, view: SchedulerView): void {
  const { stop_requested: _, ...answer } = view;
  atomicWrite(path.join(runDir, SCHEDULER_FILE), JSON.stringify(answer, null, 1));
}

/** Notes that the user asked this run to stop (a cancel that follows is theirs, not the scheduler's doing). */
export function noteStopRequested(runDir: string): void {
  fs.writeFileSync(path.join(runDir, STOP_NOTE), String(Date.now() / 1000));
}

/**
 * Whether a remote run is alive, from the files alone (no scheduler call, cheap enough for every listing):
 * a fresh heartbeat, or a recent scheduler answer that the job still runs or waits to run.
 */
export function remoteAlive(runDir: string, now = Date.now() / 1000): boolean {
  if (heartbeatFresh(runDir, now)) {
    const v = readSchedulerView(runDir);
    return !(v?.ended && v.checked >= (readHeartbeat(runDir)?.time ?? 0));
  }
  const v = readSchedulerView(runDir);
  return !!v && !v.ended && now - v.checked < VIEW_STALE_S;
}

/** `slurm 123456 · RUNNING on 2 nodes`, `ray raysubmit_… · RUNNING`, `torchrun ×2`; '' for a plain local run. */
export function jobLabel(job: JobInfo | undefined, view: SchedulerView | undefined): string {
  if (!job || job.target === 'local') return '';
  if (job.target === 'torchrun') return `torchrun ×${job.procs_per_node ?? '?'}`;
  const head = `${job.target} ${job.id ?? '(not submitted)'}`;
  if (!view) return head;
  const nodes = view.state === 'RUNNING' && view.nodes ? ` on ${view.nodes} node${view.nodes === 1 ? '' : 's'}` : '';
  // why a job waits (Priority, Resources, or one that will not start: PartitionConfig, ReqNodeNotAvail)
  const why = view.state === 'PENDING' && view.reason && view.reason !== 'None' ? ` (${view.reason})` : '';
  return `${head} · ${view.state}${nodes}${why}`;
}
