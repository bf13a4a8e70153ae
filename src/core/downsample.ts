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
 * repeats. One pass over the rows; at most 4 x buckets indices.
 */
export function m4Rows(x: ArrayLike<number>, y: YColumn, i0: number, i1: number, xMin: number, xMax: number, buckets: number): Int32Array {
  const n = Math.max(1, Math.floor(buckets));
  const first = new Int32Array(n).fill(-1), last = new Int32Array(n), lo = new Int32Array(n), hi = new Int32Array(n);
  const scale = xMax > xMin ? n / (xMax - xMin) : 0;
  const end = Math.min(i1, y.length); // a column shorter than x (a key never logged) has no rows past its end
  for (let i = i0; i < end; i++) {
    const v = y[i];
    if (!has(v)) continue;
    let b = Math.floor((x[i] - xMin) * scale);
    b = b < 0 ? 0 : b >= n ? n - 1 : b;
    if (first[b] < 0) { first[b] = last[b] = lo[b] = hi[b] = i; continue; }
    last[b] = i;
    if (v < (y[lo[b]] as number)) lo[b] = i;
    else if (v > (y[hi[b]] as number)) hi[b] = i;
  }
  const out = new Int32Array(4 * n);
  let k = 0;
  for (let b = 0; b < n; b++) {
    if (first[b] < 0) continue;
    const a = lo[b] < hi[b] ? lo[b] : hi[b], c = lo[b] < hi[b] ? hi[b] : lo[b]; // x order within the bucket
    for (const i of [first[b], a, c, last[b]]) if (k === 0 || out[k - 1] !== i) out[k++] = i;
  }
  return out.slice(0, k);
}

/** A panel's columns for uPlot: one shared x column and one y column per series. */
export type Columns = [number[], ...(number | null)[][]];

/**
 * What a chart of several series sharing one x column draws for [xMin, xMax] at `buckets` pixels:
 * the union of each series' M4 rows plus the row just outside each edge (so lines run to the frame).
 */
export function downsample(x: ArrayLike<number>, ys: YColumn[], xMin: number, xMax: number, buckets: number): Columns {
  const [i0, i1] = visibleRows(x, xMin, xMax);
  const parts: Int32Array[] = ys.map((y) => m4Rows(x, y, i0, i1, xMin, xMax, buckets));
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
