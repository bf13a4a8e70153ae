// A run of another framework, read from its own files into the same RunModel the native trainer's
// events.jsonl fills: each adapter (a FrameworkSource) reports metrics and samples by step, and
// this turns them into the protocol's metrics/eval/samples events. Read-only, polled, incremental.
import * as path from 'node:path';
import * as fs from 'node:fs';
import type { EvalEvent, MetricsEvent, SampleItem, SamplesEvent, TrainerEvent, WatchedState } from '../protocol';
import { RunModel } from '../run/runModel';
import { mapEval, mapTrain, splitMetrics, type Framework } from './metricNames';
import { isStep, StepMerger, type Row } from './stepMerger';

type Values = Record<string, number | null>;

export interface RunSink {
  /** Raw metrics of one step under the framework's names; pieces of a step may come apart. */
  metrics(step: number, values: Values, time?: number): void;
  /** The framework rewrote its metrics from `step` on: rows at and after it are replaced, not merged. */
  truncate(step: number): void;
  /** All samples known so far of one step (replaces what was reported for it before). */
  samples(step: number, items: SampleItem[]): void;
  /** A problem with one file: file, place and what is wrong, in one line. */
  error(message: string): void;
}

export interface FrameworkSource {
  readonly framework: Framework;
  /** The run's own name where its files say it (verl: `<project>/<experiment>`); else the folder's name is used. */
  readonly name?: string;
  poll(sink: RunSink): void | Promise<void>;
}

/** Sample items are kept for the newest steps only; counts for every step. */
export const KEEP_SAMPLE_STEPS = 50;
const MAX_ERRORS = 100;
/** A watched run whose files changed within this long is `running`, else `idle`. */
export const ACTIVE_MS = 10 * 60_000;

/** The newest modification time (ms) of PATH and what is under it, up to `depth` folders down and `budget` entries. */
export function newestMtime(p: string, depth = 3, budget = { left: 5000 }): number {
  let st: fs.Stats;
  try { st = fs.statSync(p); } catch { return 0; }
  let newest = st.mtimeMs;
  if (!st.isDirectory() || depth < 0) return newest;
  let names: string[];
  try { names = fs.readdirSync(p); } catch { return newest; }
  for (const n of names) {
    if (budget.left-- <= 0) break;
    if (!n.startsWith('.')) newest = Math.max(newest, newestMtime(path.join(p, n), depth - 1, budget));
  }
  return newest;
}

/** Distinct metric names of one run: a file that invents a name per line cannot grow the series without end. */
export const MAX_METRIC_NAMES = 2000;

export class ExternalRun {
  readonly model = new RunModel();
  readonly samplesByStep = new Map<number, SampleItem[]>();
  readonly sampleCounts = new Map<number, number>();
  readonly errors: string[] = [];
  private readonly train: StepMerger;
  private readonly evals: StepMerger;
  private listeners = new Set<(events: TrainerEvent[]) => void>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<TrainerEvent[]> | undefined;
  private readonly names = new Set<string>();
  private namesFull = false;
  /** When the run's files last changed (ms): their newest mtime at the first poll, then the time of each poll that found something new. */
  lastActivity: number | undefined;

  constructor(readonly dir: string, readonly source: FrameworkSource) {
    const fw = source.framework;
    this.train = new StepMerger(this.model.metrics, (raw) => mapTrain(fw, raw));
    this.evals = new StepMerger(this.model.evals, (raw) => mapEval(fw, raw));
  }

  get framework(): Framework { return this.source.framework; }
  get name(): string { return this.source.name ?? path.basename(this.dir); }

  /** `running` while the files changed within ACTIVE_MS, else `idle` (nothing read yet: idle). */
  state(now = Date.now()): WatchedState {
    return this.lastActivity !== undefined && now - this.lastActivity < ACTIVE_MS ? 'running' : 'idle';
  }

  /** Reads what is new in the run's files; the events it produced (already in `model`). */
  poll(): Promise<TrainerEvent[]> {
    // One poll at a time: a timer tick during a slow read (a large Parquet file) waits for it.
    this.inFlight ??= this.pollOnce().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  private async pollOnce(): Promise<TrainerEvent[]> {
    const now = Date.now() / 1000;
    const changedSamples = new Map<number, SampleItem[]>();
    const logs: TrainerEvent[] = [];
    const fw = this.source.framework;
    const error = (message: string) => {
      if (this.errors.includes(message) || this.errors.length >= MAX_ERRORS) return;
      this.errors.push(message);
      logs.push({ v: 1, type: 'log', time: now, level: 'error', message });
    };
    // a step no series can hold (1e400 reads as Infinity; 1e300 is no whole number) would sort after every
    // later step and blank the latest values: it is refused here, whatever the framework
    const badStep = (step: number) => {
      if (isStep(step)) return false;
      error(`${this.dir}: a record with step ${String(step)}, not a whole number from 0 to 2^53: skipped`);
      return true;
    };
    await this.source.poll({
      metrics: (step, values, time = now) => {
        if (badStep(step)) return;
        values = this.knownNames(values, error);
        // Raw names are merged per step and mapped at flush, so the mapping sees all of a step's pieces.
        const { train, eval: ev } = splitMetrics(fw, values);
        if (Object.keys(train).length) this.train.add(step, train, time);
        if (Object.keys(ev).length) this.evals.add(step, ev, time);
      },
      truncate: (step) => { this.train.truncateFrom(step); this.evals.truncateFrom(step); },
      samples: (step, items) => { if (!badStep(step)) changedSamples.set(step, items); },
      error,
    });
    const events: TrainerEvent[] = [
      ...logs,
      ...this.train.flush().map((r) => metricsEvent(r)),
      ...this.evals.flush().map((r): EvalEvent => ({ v: 1, type: 'eval', time: r.time, step: r.step, values: r.values })),
      ...this.storeSamples(changedSamples, now),
    ];
    this.model.ingest(events);
    if (this.lastActivity === undefined) this.lastActivity = newestMtime(this.dir); // what was there when we came
    else if (events.some((e) => e.type !== 'log')) this.lastActivity = Date.now();
    for (const l of this.listeners) l(events);
    return events;
  }

  /** The values whose names are known or still fit under MAX_METRIC_NAMES; the others dropped, said once. */
  private knownNames(values: Record<string, number | null>, error: (m: string) => void): Record<string, number | null> {
    let out: Record<string, number | null> | undefined;
    for (const k of Object.keys(values)) {
      if (this.names.has(k)) continue;
      if (this.names.size < MAX_METRIC_NAMES) { this.names.add(k); continue; }
      out ??= { ...values };
      delete out[k];
      if (!this.namesFull) { this.namesFull = true; error(`${this.dir}: more than ${MAX_METRIC_NAMES} metric names; the names after them are not shown`); }
    }
    return out ?? values;
  }

  private storeSamples(changed: Map<number, SampleItem[]>, now: number): SamplesEvent[] {
    const out: SamplesEvent[] = [];
    for (const step of [...changed.keys()].sort((a, b) => a - b)) {
      const items = changed.get(step)!;
      this.samplesByStep.set(step, items);
      this.sampleCounts.set(step, items.length);
      // The dashboard shows the newest step's samples: an older step's late samples are stored only.
      if (step >= (this.model.lastSamples?.step ?? -Infinity)) out.push({ v: 1, type: 'samples', time: now, step, items });
    }
    while (this.samplesByStep.size > KEEP_SAMPLE_STEPS) this.samplesByStep.delete(Math.min(...this.samplesByStep.keys()));
    return out;
  }

  onEvents(listener: (events: TrainerEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(intervalMs = 1000): this {
    this.stop();
    this.timer = setInterval(() => { void this.poll(); }, intervalMs);
    void this.poll();
    return this;
  }

  stop(): void { if (this.timer) clearInterval(this.timer); this.timer = undefined; }
  get polling(): boolean { return this.timer !== undefined; }
  dispose(): void { this.stop(); this.listeners.clear(); }
}

function metricsEvent(r: Row): MetricsEvent {
  // Other frameworks do not say how many samples a step saw: the samples axis follows the step.
  return { v: 1, type: 'metrics', time: r.time, step: r.step, samples_seen: r.step, values: r.values };
}
