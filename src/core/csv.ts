// A run's metric columns as CSV (RFC 4180: comma-separated, CRLF line ends, a field with a comma,
// quote or line break quoted and its quotes doubled): what the dashboard's CSV export and
// `rlhf metrics RUN --csv` write. Numbers print as JavaScript's shortest round-trip form.
import type { SeriesColumns } from './runModel';

/** One CSV field. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const cell = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

/**
 * The columns as CSV text: a header `step,samples_seen,time,<keys>` then one row per logged step;
 * a step that did not log a key has an empty field. `keys` picks and orders the metrics (default:
 * every metric, in the order the run first logged them).
 */
export function metricsCsv(cols: SeriesColumns, keys: string[] = Object.keys(cols.values)): string {
  const lines = [['step', 'samples_seen', 'time', ...keys].map(csvField).join(',')];
  const columns = keys.map((k) => cols.values[k]);
  for (let i = 0; i < cols.length; i++) {
    let line = `${cell(cols.step[i])},${cell(cols.samples[i])},${cell(cols.time[i])}`;
    for (const col of columns) line += ',' + cell(col?.[i]);
    lines.push(line);
  }
  return lines.join('\r\n') + '\r\n';
}
