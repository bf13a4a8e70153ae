// What a reader knows about one run, built from its events: metric columns, evals, last samples,
// progress and state. Columns are plain arrays so a chunk can be posted to a webview as is.
import type { AlertEvent, EvalEvent, MetricsEvent, ProgressInfo, RunStartedEvent, RunState, SamplesEvent, SeriesChunk, TrainerEvent } from '../protocol';

export class SeriesColumns {
  step: number[] = [];
  samples: number[] = [];
  time: number[] = [];
  values: Record<string, (number | null)[]> = {};
  private lastStep = -Infinity;

  push(step: number, samples: number, time: number, values: Record<string, number | null>): void {
    if (step <= this.lastStep) this.truncateFrom(step); // a resumed run re-reports steps: the newest wins
    const n = this.step.length;
    this.step.push(step); this.samples.push(samples); this.time.push(time);
    for (const [k, v] of Object.entries(values)) this.column(k, n).push(typeof v === 'number' ? v : null);
    this.padTo(n + 1);
    this.lastStep = step;
  }

  /**
   * Appends the rows of a chunk that `slice` made (ascending steps), column by column: how the
   * dashboard keeps its copy of the host's columns. Re-reported steps replace rows as in `push`.
   * Returns the first row that is new or changed (the length before, unless rows were replaced), so
   * what is derived from the columns can be brought up to date from there.
   */
  append(c: SeriesChunk): number {
    const rows = c.step.length;
    if (rows === 0) return this.step.length;
    if (c.step[0] <= this.lastStep) this.truncateFrom(c.step[0]);
    const n = this.step.length;
    for (let i = 0; i < rows; i++) { this.step.push(c.step[i]); this.samples.push(c.samples[i] ?? 0); this.time.push(c.time[i] ?? 0); }
    for (const [k, col] of Object.entries(c.values)) {
      const dst = this.column(k, n);
      for (let i = 0; i < rows; i++) { const v = col[i]; dst.push(typeof v === 'number' ? v : null); }
    }
    this.padTo(n + rows);
    this.lastStep = c.step[rows - 1];
    return n;
  }

  /** The column of `key`; a key seen for the first time gets nulls for the `rows` before it. */
  private column(key: string, rows: number): (number | null)[] {
    return (this.values[key] ??= new Array<number | null>(rows).fill(null));
  }

  /** Columns without a value in the newest rows get nulls there. */
  private padTo(rows: number): void {
    for (const col of Object.values(this.values)) while (col.length < rows) col.push(null);
  }

  private truncateFrom(step: number): void {
    let i = this.step.length;
    while (i > 0 && this.step[i - 1] >= step) i--;
    this.step.length = i; this.samples.length = i; this.time.length = i;
    for (const col of Object.values(this.values)) col.length = i;
  }

  get length(): number { return this.step.length; }

  /** Rows [from, end) as a chunk. */
  slice(from = 0): SeriesChunk {
    const values: Record<string, (number | null)[]> = {};
    for (const [k, col] of Object.entries(this.values)) values[k] = col.slice(from);
    return { step: this.step.slice(from), samples: this.samples.slice(from), time: this.time.slice(from), values };
  }

  last(key: string): number | null {
    const col = this.values[key];
    return col && col.length ? col[col.length - 1] : null;
  }
}

export class RunModel {
  readonly metrics = new SeriesColumns();
  readonly evals = new SeriesColumns();
  lastSamples: SamplesEvent | null = null;
  progress: ProgressInfo | null = null;
  state: RunState | 'unknown' = 'unknown';
  totalSteps: number | null = null;
  device: string | undefined;
  /** The rollout engine and micro-batch choice of run_started (the run header); undefined for older runs. */
  setup: string | undefined;
  error: string | null = null;
  checkpoints: { step: number; path: string }[] = [];
  startedAt: number | null = null;
  /** The resolved config of run_started (the overlay's legend and config diff); null before it. */
  config: Record<string, unknown> | null = null;
  /** Detector findings (length hacking, eval divergence), oldest first. */
  readonly alerts: AlertEvent[] = [];
  onLog: ((level: string, message: string) => void) | undefined;

  ingest(events: TrainerEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'run_started':
          this.state = 'starting'; this.device = e.device; this.startedAt = e.time; this.error = null; this.config = e.config;
          this.setup = runSetup(e);
          break;
        case 'alert':
          this.alerts.push(e);
          break;
        case 'progress':
          this.progress = { phase: e.phase, done: e.done, total: e.total, message: e.message };
          if (this.state === 'unknown') this.state = 'running';
          break;
        case 'metrics':
          this.addMetrics(e);
          break;
        case 'eval':
          this.addEval(e);
          break;
        case 'samples':
          this.lastSamples = e;
          break;
        case 'checkpoint':
          this.checkpoints.push({ step: e.step, path: e.path });
          break;
        case 'log':
          this.onLog?.(e.level, e.message);
          break;
        case 'run_finished':
          this.state = e.status; this.error = e.error ?? null; this.progress = null;
          break;
      }
    }
  }

  private addMetrics(e: MetricsEvent): void {
    this.state = 'running';
    if (e.total_steps) this.totalSteps = e.total_steps;
    this.metrics.push(e.step, e.samples_seen, e.time, e.values);
  }

  private addEval(e: EvalEvent): void {
    this.evals.push(e.step, 0, e.time, e.values);
  }

  get step(): number { return this.metrics.length ? this.metrics.step[this.metrics.length - 1] : 0; }

  /**
   * Seconds to go, from the step rate over the last ETA_WINDOW_S seconds of trainer time (at least 20
   * steps back). A window in time, not in steps, keeps a short stall — a window reload on a busy
   * machine, an eval, a checkpoint — from swinging the ETA when steps are fast.
   */
  eta(): number | null {
    const { time, step } = this.metrics;
    const n = this.metrics.length;
    if (!this.totalSteps || n < 2) return null;
    let j = n - 1;
    while (j > 0 && step[j - 1] < step[j] && (n - 1 - j < 20 || time[n - 1] - time[j - 1] <= ETA_WINDOW_S)) j--;
    if (j === n - 1) return null;
    const dt = (time[n - 1] - time[j]) / (step[n - 1] - step[j]);
    return Math.max(0, (this.totalSteps - this.step) * dt);
  }
}

/** How much trainer time the ETA's step rate is measured over. */
export const ETA_WINDOW_S = 120;

// Moved to ./format with the other formatters; re-exported until cli.ts and extension.ts import it from there.
export { formatDuration } from '../format';

/** run_started's precision, rollout engine and micro-batch choice in a few words: 'bf16 · rollout static (eager) · micro-batches ≤ 4 × longest'. */
export function runSetup(e: RunStartedEvent): string | undefined {
  const parts: string[] = [];
  if (e.precision) parts.push(e.precision);
  if (e.rollout?.engine) parts.push(`rollout ${e.rollout.engine}${e.rollout.compile ? ` (${e.rollout.compile})` : ''}`);
  const mb = e.micro_batches;
  if (mb) parts.push(mb.micro_batch_tokens ? `micro-batches ≤ ${mb.micro_batch_tokens} tokens` : `micro-batches ≤ ${mb.micro_batch_size} × longest`);
  return parts.length ? parts.join(' · ') : undefined;
}
