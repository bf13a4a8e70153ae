// A run's checkpoints as the Checkpoints view and `rlhf checkpoints` show them (step, time, size, the
// metrics of that step, kept or not), the KEEP marker, deleting one, and a run's lineage (the run a
// resumed run continues). Read from the run folder only; no vscode here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEventLine, type SeriesChunk, type TrainerEvent } from './protocol';
import { RunModel } from './runModel';
import { listCheckpoints } from './runStore';

/** The marker file the trainer's prune honours (trainer/rlhf_trainer/checkpoint.py): a kept checkpoint is never pruned. */
export const KEEP_MARKER = 'KEEP';

export interface CheckpointInfo {
  dir: string;
  name: string;
  step: number;
  /** When it was completed (ms since the epoch): the COMPLETE marker's mtime. */
  time: number;
  bytes: number;
  kept: boolean;
  /** Why it was saved (periodic, requested, stop, final), from its checkpoint event. */
  reason?: string;
  /** The training metrics of its step, and the newest evaluation at or before it. */
  metrics: Record<string, number | null>;
  evalStep?: number;
  evalValues?: Record<string, number | null>;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? folderBytes(p) : e.isFile() ? fs.statSync(p).size : 0;
  }
  return total;
}

/** The events of a run of the given types (a checkpoint list needs a few kinds, not the samples). */
export function readEvents(runDir: string, types: ReadonlySet<string>): TrainerEvent[] {
  let text: string;
  try { text = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8'); } catch { return []; }
  const out: TrainerEvent[] = [];
  for (const line of text.split('\n')) {
    const m = /"type":"([a-z_]+)"/.exec(line);
    if (!m || !types.has(m[1])) continue;
    const e = parseEventLine(line);
    if (e) out.push(e);
  }
  return out;
}

// the Runs view redraws every 2 s: a run's events are re-read only when events.jsonl has grown
const eventCache = new Map<string, { size: number; events: TrainerEvent[] }>();
const CHECKPOINT_EVENT_TYPES = new Set(['metrics', 'eval', 'checkpoint']);

function checkpointEvents(runDir: string): TrainerEvent[] {
  let size = -1;
  try { size = fs.statSync(path.join(runDir, 'events.jsonl')).size; } catch { /* no events yet */ }
  const hit = eventCache.get(runDir);
  if (hit && hit.size === size) return hit.events;
  const events = readEvents(runDir, CHECKPOINT_EVENT_TYPES);
  eventCache.set(runDir, { size, events });
  return events;
}

const stepOf = (name: string): number => Number(/step-(\d+)/.exec(name)?.[1] ?? NaN);

/** Every complete checkpoint of a run, oldest first, with what was measured when it was saved. */
export function checkpointInfos(runDir: string): CheckpointInfo[] {
  const events = checkpointEvents(runDir);
  return listCheckpoints(runDir).map((dir) => {
    const step = stepOf(path.basename(dir));
    let metrics: Record<string, number | null> = {};
    let evalEv: { step: number; values: Record<string, number | null> } | undefined;
    let reason: string | undefined;
    for (const e of events) {
      if (e.type === 'metrics' && e.step === step) metrics = e.values;
      else if (e.type === 'eval' && e.step <= step && (!evalEv || e.step >= evalEv.step)) evalEv = e;
      else if (e.type === 'checkpoint' && e.step === step) reason = e.reason;
    }
    let time = 0;
    try { time = fs.statSync(path.join(dir, 'COMPLETE')).mtimeMs; } catch { /* listed as complete a moment ago */ }
    return { dir, name: path.basename(dir), step, time, bytes: folderBytes(dir), kept: fs.existsSync(path.join(dir, KEEP_MARKER)),
      reason, metrics, evalStep: evalEv?.step, evalValues: evalEv?.values };
  });
}

/** Protects a checkpoint from the trainer's pruning (or lifts the protection). */
export function setKept(checkpointDir: string, keep: boolean): void {
  const marker = path.join(checkpointDir, KEEP_MARKER);
  if (keep) fs.writeFileSync(marker, 'kept by the user: never pruned\n');
  else fs.rmSync(marker, { force: true });
}

/**
 * Deletes a checkpoint the way the trainer prunes one: renamed to `.tmp-del-*` first (atomic: readers never
 * see half a checkpoint), then removed; a leftover temp folder is cleaned when a trainer next opens the run.
 */
export function deleteCheckpoint(checkpointDir: string): void {
  const trash = path.join(path.dirname(checkpointDir), `.tmp-del-${path.basename(checkpointDir)}-${process.pid}`);
  fs.renameSync(checkpointDir, trash);
  fs.rmSync(trash, { recursive: true, force: true });
}

/** The config a checkpoint was trained with: its resume.json's config, else the run's config.yaml (older checkpoints). */
export function checkpointConfig(checkpointDir: string): { config: unknown } | { file: string } | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(checkpointDir, 'resume.json'), 'utf8')) as { config?: unknown };
    if (info.config) return { config: info.config };
  } catch { /* older checkpoint */ }
  const file = path.join(checkpointDir, '..', '..', 'config.yaml');
  return fs.existsSync(file) ? { file: path.resolve(file) } : undefined;
}

export interface Lineage {
  /** The run folder the resumed checkpoint belongs to. */
  parentDir: string;
  parentId: string;
  /** The checkpoint's step: the parent's history up to it is this run's history. */
  step: number;
  checkpoint: string;
}

/**
 * The run this run continues, from its run_started event's `resumed_from` (a checkpoint folder
 * `PARENT/checkpoints/step-N`). Decision (docs/architecture.md): a resume writes a new run folder linked to
 * its parent, never into the parent's folder, so each folder stays one trainer's append-only record.
 */
export function lineageOf(runDir: string): Lineage | undefined {
  const key = path.resolve(runDir);
  if (!lineageCache.has(key)) {
    const found = readLineage(runDir);
    if (found === 'unknown') return undefined;
    lineageCache.set(key, found);
  }
  return lineageCache.get(key) ?? undefined;
}

// run_started never changes once written: views that redraw every 2 s read it once per run folder
const lineageCache = new Map<string, Lineage | null>();

function readLineage(runDir: string): Lineage | null | 'unknown' {
  let fd: number;
  try { fd = fs.openSync(path.join(runDir, 'events.jsonl'), 'r'); } catch { return 'unknown'; }
  try {
    // run_started is among the first lines; 1 MiB holds it with a large config
    const buf = Buffer.alloc(1 << 20);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    for (const line of buf.subarray(0, n).toString('utf8').split('\n')) {
      if (!line.includes('"run_started"')) continue;
      const e = parseEventLine(line);
      if (e?.type !== 'run_started') continue;
      if (!e.resumed_from) return null;
      const parentDir = path.dirname(path.dirname(e.resumed_from));
      return { parentDir, parentId: path.basename(parentDir), step: stepOf(path.basename(e.resumed_from)), checkpoint: e.resumed_from };
    }
    return 'unknown'; // not written yet
  } finally { fs.closeSync(fd); }
}

/** The runs of a lineage, oldest ancestor first, ending with runDir (a cycle or a missing folder ends the walk). */
export function ancestry(runDir: string): { dir: string; upTo?: number }[] {
  const chain: { dir: string; upTo?: number }[] = [{ dir: runDir }];
  const seen = new Set([path.resolve(runDir)]);
  for (let l = lineageOf(runDir); l && !seen.has(path.resolve(l.parentDir)) && fs.existsSync(l.parentDir); l = lineageOf(l.parentDir)) {
    seen.add(path.resolve(l.parentDir));
    chain.unshift({ dir: l.parentDir, upTo: l.step });
  }
  return chain;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/**
 * The history a resumed run continues: its ancestors' metrics and evaluations up to the step each child
 * resumed from (a parent's steps after that checkpoint were not continued and are left out).
 */
export function inheritedHistory(runDir: string): { metrics: SeriesChunk; evals: SeriesChunk } | undefined {
  const chain = ancestry(runDir);
  if (chain.length < 2) return undefined;
  const model = new RunModel();
  for (const { dir, upTo } of chain.slice(0, -1)) {
    model.ingest(readEvents(dir, new Set(['metrics', 'eval'])).filter((e) => 'step' in e && typeof e.step === 'number' && e.step <= (upTo ?? Infinity)));
  }
  return { metrics: model.metrics.slice(0), evals: model.evals.slice(0) };
}

/** Two series one after the other; a column only one of them has is null in the other's rows. */
export function concatChunks(a: SeriesChunk, b: SeriesChunk): SeriesChunk {
  const values: Record<string, (number | null)[]> = {};
  for (const k of new Set([...Object.keys(a.values), ...Object.keys(b.values)])) {
    values[k] = [...(a.values[k] ?? a.step.map(() => null)), ...(b.values[k] ?? b.step.map(() => null))];
  }
  return { step: [...a.step, ...b.step], samples: [...a.samples, ...b.samples], time: [...a.time, ...b.time], values };
}
