// The read-out over a chart while the pointer is on it: each run's values at the x under the cursor,
// from the run's own full-resolution columns (the drawn columns are downsampled, and with several
// runs joined on one x column a row mostly holds one run's value). Pure: the webview renders it.
import { formatNumber } from '../format';
import { xTitle, type DashboardData, type Line, type Panel, type XAxis } from './data';

/** How many rows a value is looked for around a row without one (a key logged every few steps). */
const SCAN = 4096;

/** The last row whose x is at most `x` (x ascending; repeated x: the last of them); -1 when none. */
function lastAtOrBefore(xs: ArrayLike<number>, x: number, n: number): number {
  let lo = 0, hi = n;
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (xs[mid] <= x) lo = mid + 1; else hi = mid; }
  return lo - 1;
}

/**
 * A line's value at `x`: the row at or before it; a row without a value takes the nearest earlier
 * one while the line goes on after `x` (the chart spans such gaps). null where the line is not drawn:
 * before its first row, past its last (by more than the row before it is apart), or past its last value.
 */
export function valueAt(xs: ArrayLike<number>, y: ArrayLike<number | null>, x: number): number | null {
  const n = Math.min(xs.length, y.length);
  const r = lastAtOrBefore(xs, x, n);
  if (r < 0 || (r === n - 1 && xs[r] < x && (n === 1 || x - xs[r] > xs[r] - xs[r - 1]))) return null; // past the line's end
  const v = y[r];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  let after = false;
  for (let i = r + 1; i < n && i <= r + SCAN && !after; i++) after = typeof y[i] === 'number';
  if (!after) return null;
  for (let i = r - 1; i >= 0 && i >= r - SCAN; i--) { const w = y[i]; if (typeof w === 'number' && Number.isFinite(w)) return w; }
  return null;
}

/** A run as the read-out names it: the chart's run (its data, legend label and overlay colour). */
export interface HoverRun { id: string; label: string; color: string | null; data: DashboardData }
/** One run's part: `values` compact (the panel's keys' values, ' / ' between), `full` with the line names. */
export interface HoverEntry { id: string; label: string; color: string | null; values: string; full: string }
/**
 * The read-out at an x: `head` (`step 120`, and the keys when a panel has several), one entry per
 * run, `text` (a lone run's one line, as the chart shows it) and `title` (every run's full values,
 * a line each: the tooltip).
 */
export interface Hover { head: string; entries: HoverEntry[]; text: string; title: string }

const show = (v: number | null): string => (v === null ? '—' : formatNumber(v));
const lineName = (l: Line, smoothing: boolean): string => (l.kind === 'raw' ? `${l.key} (raw)` : l.kind === 'smoothed' && smoothing ? `${l.key} (EMA)` : l.key);

export function hoverAt(panel: Panel, axis: XAxis, x: number, runs: HoverRun[]): Hover {
  const at = `${xTitle(axis)} ${Number.isInteger(x) ? x : formatNumber(x)}`;
  const head = panel.keys.length > 1 ? `${at} (${panel.keys.join(' / ')})` : at;
  const entries = runs.map((r): HoverEntry => {
    const cols = r.data.columns(panel, axis);
    const smoothing = cols.lines.some((l) => l.kind === 'raw');
    const vals = cols.lines.map((l) => valueAt(cols.x, l.y, x));
    const main = cols.lines.flatMap((l, i) => (l.kind === 'raw' ? [] : [show(vals[i])]));
    return { id: r.id, label: r.label, color: r.color, values: main.join(' / '),
      full: cols.lines.map((l, i) => `${lineName(l, smoothing)} ${show(vals[i])}`).join(' · ') };
  });
  const lone = entries.length === 1 && entries[0].color === null;
  const text = lone ? `${at}: ${entries[0].full}` : `${head}: ${entries.map((e) => `${e.label} ${e.values}`).join(' · ')}`;
  const title = lone ? text : [head, ...entries.map((e) => `${e.label}: ${e.full}`)].join('\n');
  return { head, entries, text, title };
}
