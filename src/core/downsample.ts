// M4 downsampling: per pixel column keep the first, last, lowest and highest point (x-ordered), so a
// chart of 10,000,000 points draws the same pixels as the full series — a one-step spike included —
// from at most 4 points per pixel. Pure and DOM-free: the dashboard, the SVG export and the bench use it.

/** A y column as the runs hold it: null (or NaN) is a step that did not log the value. */
export type YColumn = ArrayLike<number | null>;

const has = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** The first index in [lo, hi) whose x is >= v (x ascending); hi when none. */
export function lowerBound(x: ArrayLike<number>, v: number, lo = 0, hi = x.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] < v) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * The last row whose x is at or before v (x ascending, not empty; the first row when v is before
 * it): the point a click on a chart is about, the one drawn at or left of the pointer.
 */
export function rowAtOrBefore(x: ArrayLike<number>, v: number): number {
  const i = lowerBound(x, v);
  return i < x.length && x[i] === v ? i : Math.max(0, i - 1);
}

/** The rows [i0, i1) whose x lies in [xMin, xMax], by binary search (x ascending). */
export function visibleRows(x: ArrayLike<number>, xMin: number, xMax: number): [number, number] {
  const i0 = lowerBound(x, xMin);
  let i1 = lowerBound(x, xMax, i0);
  while (i1 < x.length && x[i1] <= xMax) i1++; // rows equal to xMax belong in (rarely more than one)
  return [i0, i1];
}

/**
 * The rows of one series to draw for rows [i0, i1) spread over `buckets` equal x-columns of
 * [xMin, xMax]: per bucket its first, lowest, highest and last non-null point, ascending and without
 * repeats. One pass over the rows (or over block summaries where a block falls in one bucket).
 */
export function m4Rows(x: ArrayLike<number>, y: YColumn, i0: number, i1: number, xMin: number, xMax: number, buckets: number, summary?: M4Summary): Int32Array {
  return new M4Buckets(xMin, xMax, buckets, y, i0).add(x, i1, summary).rows();
}

/**
 * The M4 buckets of one series over a fixed [xMin, xMax] and width, filled from row i0 on; rows
 * appended later are added to them (a fold in row order, so adding in pieces gives what one pass
 * gives). A live update of an unmoved range costs its new rows, not the run's length.
 */
export class M4Buckets {
  readonly n: number;
  /** Rows [i0, end) are in the buckets. */
  end: number;
  private readonly first: Int32Array; private readonly last: Int32Array; private readonly lo: Int32Array; private readonly hi: Int32Array;
  // the extremes' values beside their rows: merging a block then reads no y (at 10M rows a y read is a cache miss)
  private readonly loV: Float64Array; private readonly hiV: Float64Array;
  private readonly scale: number;

  constructor(readonly xMin: number, readonly xMax: number, buckets: number, readonly y: YColumn, readonly i0: number) {
    const n = this.n = Math.max(1, Math.floor(buckets));
    this.first = new Int32Array(n).fill(-1); this.last = new Int32Array(n); this.lo = new Int32Array(n); this.hi = new Int32Array(n);
    this.loV = new Float64Array(n); this.hiV = new Float64Array(n);
    this.scale = xMax > xMin ? n / (xMax - xMin) : 0;
    this.end = i0;
  }

  /** Whether these buckets can be extended to draw `y` from row i0 over that range and width. */
  fits(xMin: number, xMax: number, buckets: number, y: YColumn, i0: number): boolean {
    return this.xMin === xMin && this.xMax === xMax && this.n === Math.max(1, Math.floor(buckets)) && this.y === y && this.i0 === i0;
  }

  /** Adds rows [end, i1) (rows past y's end have no value). */
  add(x: ArrayLike<number>, i1: number, summary?: M4Summary): this {
    const { n, first, last, lo, hi, loV, hiV, y, xMin, scale } = this;
    const bucket = (i: number): number => { const b = Math.floor((x[i] - xMin) * scale); return b < 0 ? 0 : b >= n ? n - 1 : b; };
    /** Takes a summary (first and last row, lowest and highest row with their values) into bucket b; the same result as its rows one by one. */
    const take = (b: number, f: number, l: number, a: number, av: number, c: number, cv: number): void => {
      if (first[b] < 0) { first[b] = f; last[b] = l; lo[b] = a; loV[b] = av; hi[b] = c; hiV[b] = cv; return; }
      last[b] = l;
      if (av < loV[b]) { lo[b] = a; loV[b] = av; } // strict: the earliest extreme stays, as row by row
      if (cv > hiV[b]) { hi[b] = c; hiV[b] = cv; }
    };
    const end = Math.min(i1, y.length); // a column shorter than x (a key never logged) has no rows past its end
    const levels = summary && summary.rows === y.length ? summary.levels : []; // a stale summary is not used
    for (let i = this.end; i < end;) {
      // the largest whole summarised block that starts here and falls in one bucket stands for its rows
      let L = levels.length - 1;
      while (L >= 0 && (i % levels[L].size !== 0 || i + levels[L].size > end || bucket(i) !== bucket(i + levels[L].size - 1))) L--;
      if (L >= 0) {
        const lv = levels[L], k = i / lv.size;
        if (lv.first[k] >= 0) take(bucket(i), lv.first[k], lv.last[k], lv.lo[k], lv.loV[k], lv.hi[k], lv.hiV[k]);
        i += lv.size;
        continue;
      }
      const v = y[i];
      if (has(v)) take(bucket(i), i, i, i, v, i, v);
      i++;
    }
    this.end = Math.max(this.end, end);
    return this;
  }

  /** Per bucket its first, lowest, highest and last row, ascending, no repeats. */
  rows(): Int32Array {
    const { first, last, lo, hi } = this;
    const out = new Int32Array(4 * this.n);
    let k = 0;
    for (let b = 0; b < this.n; b++) {
      if (first[b] < 0) continue;
      const a = lo[b] < hi[b] ? lo[b] : hi[b], c = lo[b] < hi[b] ? hi[b] : lo[b]; // x order within the bucket
      for (const i of [first[b], a, c, last[b]]) if (k === 0 || out[k - 1] !== i) out[k++] = i;
    }
    return out.slice(0, k);
  }
}

/**
 * M4 buckets kept between draws of one chart's series, by series index; `generation` names the
 * version of the rows (it changes when rows before the end are rewritten), so stale buckets are
 * never extended.
 */
export interface M4Cache { generation: number; buckets: (M4Buckets | undefined)[] }

/** A panel's columns for uPlot: one shared x column and one y column per series. */
export type Columns = [number[], ...(number | null)[][]];

/**
 * What a chart of several series sharing one x column draws for [xMin, xMax] at `buckets` pixels:
 * the union of each series' M4 rows plus the row just outside each edge (so lines run to the frame).
 */
export function downsample(x: ArrayLike<number>, ys: YColumn[], xMin: number, xMax: number, buckets: number, summaries?: (M4Summary | undefined)[],
  cache?: M4Cache): Columns {
  const [i0, i1] = visibleRows(x, xMin, xMax);
  const parts: Int32Array[] = ys.map((y, k) => {
    const kept = cache?.buckets[k];
    // buckets of the same range, width and rows extend with the new rows; anything else starts over
    const b = kept && kept.fits(xMin, xMax, buckets, y, i0) && kept.end <= i1 ? kept : new M4Buckets(xMin, xMax, buckets, y, i0);
    if (cache) cache.buckets[k] = b;
    return b.add(x, i1, summaries?.[k]).rows();
  });
  const edges = [i0 - 1, i1].filter((i) => i >= 0 && i < x.length);
  const all = new Int32Array(parts.reduce((s, p) => s + p.length, edges.length));
  let k = 0;
  for (const p of parts) { all.set(p, k); k += p.length; }
  for (const e of edges) all[k++] = e;
  all.sort();
  const rows: number[] = [];
  for (const i of all) if (rows.length === 0 || rows[rows.length - 1] !== i) rows.push(i);
  const yOf = (y: YColumn, i: number): number | null => { const v = y[i]; return has(v) ? v : null; };
  return [rows.map((i) => x[i]), ...ys.map((y) => rows.map((i) => yOf(y, i)))];
}

/** The x extent [first, last] of a column, or null when it is empty. */
export function extent(x: ArrayLike<number>): [number, number] | null {
  return x.length ? [x[0], x[x.length - 1]] : null;
}

/** One level of an M4Summary: per block of `size` rows its first, last, lowest and highest row with a value (-1: none), and those values. */
export interface SummaryLevel { size: number; first: number[]; last: number[]; lo: number[]; hi: number[]; loV: number[]; hiV: number[] }

/**
 * Rows per block of the first level, and blocks per block of the next: 16, 256, ... 1,048,576 rows.
 * Small blocks keep the rows scanned at a bucket's edges few (under 16 per edge and level).
 */
const FAN = 16;
const LEVELS = 5;

/**
 * Per-block first/last/min/max rows of one y column, kept up to date as rows arrive, so that M4 over
 * millions of rows reads a block summary where a whole block falls in one pixel column and scans
 * rows only at bucket edges: a draw costs about buckets x 64 x levels, not the run's length, and a
 * live append recomputes only the tail block of each level. Depends on y only (not on the x axis).
 */
export class M4Summary {
  readonly levels: SummaryLevel[] = Array.from({ length: LEVELS }, (_, L) => ({ size: FAN ** (L + 1), first: [], last: [], lo: [], hi: [], loV: [], hiV: [] }));
  /** Rows summarised (the column's length at the last update). */
  rows = 0;

  /** Brings the summary up to `y`, given that rows from `from` on are new or changed. */
  update(y: YColumn, from: number): this {
    from = Math.max(0, Math.min(from, this.rows));
    this.rows = y.length;
    let changed = from; // first row whose block is recomputed, per level
    let below: SummaryLevel | null = null;
    for (const lv of this.levels) {
      const k0 = Math.floor(changed / lv.size), blocks = Math.ceil(this.rows / lv.size);
      for (const a of [lv.first, lv.last, lv.lo, lv.hi, lv.loV, lv.hiV]) a.length = Math.min(a.length, k0);
      for (let k = k0; k < blocks; k++) {
        if (below) fromBlocks(lv, below, k); else fromRows(y, lv, k);
      }
      changed = k0 * lv.size;
      below = lv;
    }
    return this;
  }
}

const push = (lv: SummaryLevel, f: number, l: number, a: number, av: number, c: number, cv: number): void => {
  lv.first.push(f); lv.last.push(l); lv.lo.push(a); lv.hi.push(c); lv.loV.push(av); lv.hiV.push(cv);
};

/** Block k of the first level from its rows (strict comparisons: the earliest extreme, as m4Rows row by row). */
function fromRows(y: YColumn, lv: SummaryLevel, k: number): void {
  let f = -1, l = -1, a = -1, c = -1, av = 0, cv = 0;
  for (let i = k * lv.size, e = Math.min(y.length, i + lv.size); i < e; i++) {
    const v = y[i];
    if (!has(v)) continue;
    if (f < 0) { f = l = a = c = i; av = cv = v; continue; }
    l = i;
    if (v < av) { a = i; av = v; } else if (v > cv) { c = i; cv = v; }
  }
  push(lv, f, l, a, av, c, cv);
}

/** Block k of a higher level from the blocks below it, in order. */
function fromBlocks(lv: SummaryLevel, below: SummaryLevel, k: number): void {
  let f = -1, l = -1, a = -1, c = -1, av = 0, cv = 0;
  const per = lv.size / below.size;
  for (let j = k * per, e = Math.min(below.first.length, j + per); j < e; j++) {
    if (below.first[j] < 0) continue;
    if (f < 0) { f = below.first[j]; a = below.lo[j]; av = below.loV[j]; c = below.hi[j]; cv = below.hiV[j]; }
    else {
      if (below.loV[j] < av) { a = below.lo[j]; av = below.loV[j]; }
      if (below.hiV[j] > cv) { c = below.hi[j]; cv = below.hiV[j]; }
    }
    l = below.last[j];
  }
  push(lv, f, l, a, av, c, cv);
}
