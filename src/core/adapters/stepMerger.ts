// Frameworks report one step's metrics in pieces: a TensorBoard event per scalar, a prime-rl row
// from the trainer and another from the orchestrator, TRL's final summary row. The run model's
// series take whole rows in ascending steps (a re-reported step truncates what follows), so the
// pieces are merged here and, when a piece lands on an older step, every row from that step on is
// sent again in order. Raw rows of the newest WINDOW steps are kept to re-map merged names.
import type { SeriesColumns } from '../run/runModel';

export interface Row { step: number; time: number; values: Record<string, number | null> }
type Values = Record<string, number | null>;

const WINDOW = 1024;

export class StepMerger {
  private raw = new Map<number, Row>();
  private touched = new Set<number>();
  private cutFrom = Infinity; // a rewritten history: the series' rows from here on are stale

  constructor(private readonly series: SeriesColumns, private readonly map: (raw: Values) => Values) {}

  add(step: number, values: Values, time: number): void {
    const row = this.raw.get(step);
    if (row) { Object.assign(row.values, values); row.time = Math.max(row.time, time); }
    else {
      this.raw.set(step, { step, time, values: { ...values } });
      if (this.raw.size > WINDOW) this.raw.delete(this.raw.keys().next().value!); // the oldest inserted: steps come mostly in order
    }
    this.touched.add(step);
  }

  /** The framework rewrote its log from `step` on (verl truncates it on resume): rows from there are dropped. */
  truncateFrom(step: number): void {
    for (const k of [...this.raw.keys()]) if (k >= step) this.raw.delete(k);
    for (const k of [...this.touched]) if (k >= step) this.touched.delete(k);
    this.cutFrom = Math.min(this.cutFrom, step);
  }

  /** The rows to push, ascending: the touched ones and, after an out-of-order piece, all later ones. */
  flush(): Row[] {
    if (this.touched.size === 0) return [];
    let from = Infinity;
    for (const t of this.touched) if (t < from) from = t; // not Math.min(...): a poll can touch 100,000 steps
    const cut = this.cutFrom;
    this.touched.clear();
    this.cutFrom = Infinity;
    const s = this.series;
    const steps = new Set<number>();
    for (let i = s.length - 1; i >= 0 && s.step[i] >= from; i--) if (s.step[i] < cut) steps.add(s.step[i]);
    for (const step of this.raw.keys()) if (step >= from) steps.add(step);
    return [...steps].sort((a, b) => a - b).map((step) => this.row(step));
  }

  private row(step: number): Row {
    const raw = this.raw.get(step);
    if (raw) return { step, time: raw.time, values: this.map(raw.values) };
    // Older than the window: the series' own (already mapped) row is sent again unchanged.
    const i = this.series.step.lastIndexOf(step);
    const values: Values = {};
    for (const [k, col] of Object.entries(this.series.values)) if (col[i] !== null) values[k] = col[i];
    return { step, time: this.series.time[i], values };
  }
}

/** A step: a whole number from 0 to 2^53 (a step of 1e400 parses as Infinity, 1e300 as a float no series can hold). */
export const isStep = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
