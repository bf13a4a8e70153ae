// A run's checkpoints as the Checkpoints view and `rlhf checkpoints` show them (step, time, size, the
// metrics of that step, kept or not), the KEEP marker, deleting one, and a run's lineage (the run a
// resumed run continues). Read from the run folder only, through its guard (src/core/run/files.ts):
// events.jsonl is streamed line by line and only its new bytes are read again (a 629 MB events.jsonl
// still shows the rewards; a link or a FIFO in its place is refused with a problem line). No vscode here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEventLine, type RunStartedEvent, type SeriesChunk, type TrainerEvent } from '../protocol';
import { readEvents, readRunStarted, readRunStartedAsync } from './events';
import { CONFIG_FILE, EVENTS_FILE, KEEP_MARKER, RESUME_FILE, readGuarded, readLines, readLinesAsync, RunFileError, type LineBytes, type LinesRead } from './files';
import { RunModel } from './runModel';
import { listCheckpoints } from './runStore';

/** The marker file the trainer's prune honours (trainer/rlhf_trainer/checkpoint.py): a kept checkpoint is never pruned. */
export { KEEP_MARKER };

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

const TYPE_TAG = Buffer.from('"type":"');

/** A line's event type, read from its bytes (the line is decoded only when its type is wanted). */
function typeOfLine(buf: Buffer, start: number, end: number): string | undefined {
  const at = buf.indexOf(TYPE_TAG, start);
  if (at < 0 || at >= end) return undefined;
  const from = at + TYPE_TAG.length;
  const close = buf.indexOf(34, from);
  return close < 0 || close > end || close - from > 32 ? undefined : buf.toString('latin1', from, close);
}

function eventCollector(types: ReadonlySet<string>, out: TrainerEvent[]): LineBytes {
  return (buf, start, end) => {
    const type = typeOfLine(buf, start, end);
    if (!type || !types.has(type)) return;
    const e = parseEventLine(buf.toString('utf8', start, end));
    if (e) out.push(e);
  };
}

export { readEvents, readEventsChecked } from './events';

// the Runs view redraws every 2 s: a run's events are read once, then only the bytes appended since
interface EventCache { end: number; events: TrainerEvent[]; problem?: string }
const eventCache = new Map<string, EventCache>();
const CHECKPOINT_EVENT_TYPES = new Set(['metrics', 'eval', 'checkpoint']);

function cached(runDir: string): EventCache {
  let hit = eventCache.get(runDir);
  if (!hit) eventCache.set(runDir, hit = { end: 0, events: [] });
  return hit;
}

function absorb(hit: EventCache, read: LinesRead | undefined): void {
  if (!read) { hit.end = 0; hit.events = []; return; }
  hit.end = read.end;
}

function checkpointEvents(runDir: string): EventCache {
  const hit = cached(runDir);
  const file = path.join(runDir, EVENTS_FILE);
  try {
    let size = -1;
    try { size = fs.lstatSync(file).size; } catch { /* no events yet */ }
    restartIfShrunk(hit, size);
    const fresh: TrainerEvent[] = [];
    take(hit, fresh, readLines(file, 'events', eventCollector(CHECKPOINT_EVENT_TYPES, fresh), { from: hit.end }));
  } catch (e) { refused(hit, e); }
  return hit;
}

/** events.jsonl shorter than what was read: it was rewritten, so it is read again from the start. */
function restartIfShrunk(hit: EventCache, size: number): void {
  if (size < hit.end) { hit.end = 0; hit.events = []; }
}

/** The events a read found, added to the cache, which now ends where the read did. */
function take(hit: EventCache, fresh: TrainerEvent[], read: LinesRead | undefined): void {
  hit.events.push(...fresh);
  absorb(hit, read);
  hit.problem = undefined;
}

/** A read the guard refused (a link, a FIFO): nothing cached, the problem kept for the view. */
function refused(hit: EventCache, e: unknown): void {
  if (!(e instanceof RunFileError)) throw e;
  hit.end = 0; hit.events = []; hit.problem = e.message;
}

async function checkpointEventsAsync(runDir: string): Promise<EventCache> {
  const hit = cached(runDir);
  const file = path.join(runDir, EVENTS_FILE);
  try {
    let size = -1;
    try { size = (await fs.promises.lstat(file)).size; } catch { /* no events yet */ }
    restartIfShrunk(hit, size);
    const fresh: TrainerEvent[] = [];
    const from = hit.end;
    const read = await readLinesAsync(file, 'events', eventCollector(CHECKPOINT_EVENT_TYPES, fresh), { from });
    if (hit.end !== from) return hit; // a sync read moved it meanwhile: its events are in
    take(hit, fresh, read);
  } catch (e) { refused(hit, e); }
  return hit;
}

const stepOf = (name: string): number => Number(/step-(\d+)/.exec(name)?.[1] ?? NaN);

/**
 * Every complete checkpoint of a run, oldest first, with what was measured when it was saved. When
 * events.jsonl is refused by the guard, the checkpoints are listed without their metrics and the
 * problem (one line) is pushed to `problems`.
 */
export function checkpointInfos(runDir: string, problems?: string[]): CheckpointInfo[] {
  const { events, problem } = checkpointEvents(runDir);
  if (problem) problems?.push(problem);
  return infosOf(runDir, events, listCheckpoints(runDir));
}

/** The checkpoints a run's events announce (step, the path the trainer wrote: on a cluster, the cluster's), oldest first, read asynchronously. */
export async function announcedCheckpointsAsync(runDir: string): Promise<{ step: number; path: string }[]> {
  return announcedCheckpoints((await checkpointEventsAsync(runDir)).events);
}

/** The checkpoint events among `events`, one per step (the last one written), oldest first. */
export function announcedCheckpoints(events: TrainerEvent[]): { step: number; path: string }[] {
  const byStep = new Map<number, string>();
  for (const e of events) if (e.type === 'checkpoint') byStep.set(e.step, e.path);
  return [...byStep].sort(([a], [b]) => a - b).map(([step, p]) => ({ step, path: p }));
}

/** checkpointInfos with events.jsonl read asynchronously (the Runs view's children). */
export async function checkpointInfosAsync(runDir: string, problems?: string[]): Promise<CheckpointInfo[]> {
  const { events, problem } = await checkpointEventsAsync(runDir);
  if (problem) problems?.push(problem);
  return infosOf(runDir, events, listCheckpoints(runDir));
}

function infosOf(runDir: string, events: TrainerEvent[], dirs: string[]): CheckpointInfo[] {
  // one pass over the events for all checkpoints (not one per checkpoint)
  const steps = new Set(dirs.map((d) => stepOf(path.basename(d))));
  const metricsAt = new Map<number, Record<string, number | null>>();
  const reasonAt = new Map<number, string | undefined>();
  const evals: { step: number; values: Record<string, number | null> }[] = [];
  for (const e of events) {
    if (e.type === 'metrics' && steps.has(e.step)) metricsAt.set(e.step, e.values);
    else if (e.type === 'eval') evals.push(e);
    else if (e.type === 'checkpoint' && steps.has(e.step)) reasonAt.set(e.step, e.reason);
  }
  return dirs.map((dir) => {
    const step = stepOf(path.basename(dir));
    let evalEv: { step: number; values: Record<string, number | null> } | undefined;
    for (const e of evals) if (e.step <= step && (!evalEv || e.step >= evalEv.step)) evalEv = e;
    let time = 0;
    try { time = fs.statSync(path.join(dir, 'COMPLETE')).mtimeMs; } catch { /* listed as complete a moment ago */ }
    return { dir, name: path.basename(dir), step, time, bytes: folderBytes(dir), kept: fs.existsSync(path.join(dir, KEEP_MARKER)),
      reason: reasonAt.get(step), metrics: metricsAt.get(step) ?? {}, evalStep: evalEv?.step, evalValues: evalEv?.values };
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
    const text = readGuarded(path.join(checkpointDir, RESUME_FILE), 'resume');
    const info = (text === undefined ? {} : JSON.parse(text)) as { config?: unknown } | null;
    if (info?.config) return { config: info.config };
  } catch { /* older checkpoint, or a resume.json that is no file of the trainer's */ }
  const file = path.join(checkpointDir, '..', '..', CONFIG_FILE);
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

/** A run_started event's lineage: null for a run that resumed nothing. */
function lineageOfStarted(e: RunStartedEvent): Lineage | null {
  if (!e.resumed_from) return null;
  const parentDir = path.dirname(path.dirname(e.resumed_from));
  return { parentDir, parentId: path.basename(parentDir), step: stepOf(path.basename(e.resumed_from)), checkpoint: e.resumed_from };
}

function readLineage(runDir: string): Lineage | null | 'unknown' {
  const e = readRunStarted(runDir);
  return e ? lineageOfStarted(e) : 'unknown'; // not written yet, or refused
}

/** lineageOf with an async read (the Runs view's listing). */
export async function lineageOfAsync(runDir: string): Promise<Lineage | undefined> {
  const key = path.resolve(runDir);
  if (!lineageCache.has(key)) {
    const e = await readRunStartedAsync(runDir);
    if (!e) return undefined;
    lineageCache.set(key, lineageOfStarted(e));
  }
  return lineageCache.get(key) ?? undefined;
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
