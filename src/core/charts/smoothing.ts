/** TensorBoard-style debiased exponential moving average; nulls stay null and do not reset it. */
export function ema(values: (number | null)[], weight: number): (number | null)[] {
  return new EmaColumn(weight).update(values, 0);
}

/**
 * `ema` kept up to date as rows are appended: only the new tail is smoothed, from the running state
 * (sum and count) of the rows before it. Rows rewritten before the end (a resumed run) start it over.
 */
export class EmaColumn {
  readonly out: (number | null)[] = [];
  private last = 0;
  private n = 0;

  constructor(readonly weight: number) {}

  /** Brings `out` up to `values`, given that rows from `from` on are new or changed. */
  update(values: (number | null)[], from: number): (number | null)[] {
    if (this.weight <= 0) return values;
    if (from < this.out.length) { this.out.length = 0; this.last = 0; this.n = 0; }
    const w = this.weight;
    for (let i = this.out.length; i < values.length; i++) {
      const v = values[i];
      if (v === null || !Number.isFinite(v)) { this.out.push(null); continue; }
      this.last = this.last * w + (1 - w) * v;
      this.n++;
      this.out.push(this.last / (1 - Math.pow(w, this.n)));
    }
    return this.out;
  }
}
