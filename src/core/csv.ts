// A run's metric columns as CSV (RFC 4180: comma-separated, CRLF line ends, a field with a comma,
// quote or line break quoted and its quotes doubled): what the dashboard's CSV export and
// `rlhf metrics RUN --csv` write. Numbers print as JavaScript's shortest round-trip form.
import type { SeriesColumns } from './run/runModel';

/** One CSV field. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const cell = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

/** The CSV lines of a run's rows (no header), each after `prefix` (the run column, or nothing). */
function rows(cols: SeriesColumns, keys: string[], prefix: string, lines: string[]): void {
  const columns = keys.map((k) => cols.values[k]);
  for (let i = 0; i < cols.length; i++) {
    let line = `${prefix}${cell(cols.step[i])},${cell(cols.samples[i])},${cell(cols.time[i])}`;
    for (const col of columns) line += ',' + cell(col?.[i]);
    lines.push(line);
  }
}

/**
 * The columns as CSV text: a header `step,samples_seen,time,<keys>` then one row per logged step;
 * a step that did not log a key has an empty field. `keys` picks and orders the metrics (default:
 * every metric, in the order the run first logged them).
 */
export function metricsCsv(cols: SeriesColumns, keys: string[] = Object.keys(cols.values)): string {
  const lines = [['step', 'samples_seen', 'time', ...keys].map(csvField).join(',')];
  rows(cols, keys, '', lines);
  return lines.join('\r\n') + '\r\n';
}

/**
 * Several runs' columns as one CSV (an overlay's export): `run,step,samples_seen,time,<keys>`, each
 * run's rows in turn under its id. The keys are every metric any run logged (the first run's in its
 * order, then the others' new ones); a run that did not log a key has empty fields there.
 */
export function runsCsv(runs: { run: string; cols: SeriesColumns }[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.cols.values)))];
  const lines = [['run', 'step', 'samples_seen', 'time', ...keys].map(csvField).join(',')];
  for (const r of runs) rows(r.cols, keys, `${csvField(r.run)},`, lines);
  return lines.join('\r\n') + '\r\n';
}
