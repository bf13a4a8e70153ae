// Numbers and durations as people read them: one place for the dashboard, the status bar, the runs
// view and the CLI, so a learning rate of 5e-6 reads the same everywhere.

/** Magnitudes that read better in exponent form: a learning rate of 5e-6, 2e5 tokens/s. */
const wantsExponent = (a: number, below: number): boolean => a !== 0 && (a < below || a >= 1e5);

/** A metric value: `--` when there is none; `decimals` places (one from 100 on); exponent form when tiny or huge. */
export function formatNumber(v: number | null | undefined, decimals = 4): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '--';
  const a = Math.abs(v);
  if (wantsExponent(a, 1e-3)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : decimals);
}

/** One axis label with `extra` more significant digits than the shortest form (2 in exponent form, 3 else). */
function tickLabel(v: number, extra: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (wantsExponent(a, 1e-2)) return v.toExponential(1 + extra);
  return String(Number(v.toPrecision(3 + extra)));
}

/**
 * Axis labels for one axis: short, never '0 0 0' for a learning rate of 5e-6, and never the same label
 * twice — ticks 1.95e-4, 2e-4, 2.05e-4 get a third digit rather than reading '2.0e-4' two times.
 */
export function formatTicks(ticks: number[]): string[] {
  // float noise from the axis' tick arithmetic (1010.0000001 beside 1010) is not a distinct tick
  const distinct = new Set(ticks.map((v) => Number(v.toPrecision(10)))).size;
  for (let extra = 0; extra <= 15; extra++) {
    const labels = ticks.map((v) => tickLabel(v, extra));
    if (new Set(labels).size === distinct) return labels;
  }
  return ticks.map(String);
}

/** A duration for an ETA: `--` when unknown, then 42s, 3m07s, 2h05m. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** When a file was saved, short enough for a tree row: the time today, month and day with the time this year, else the date. */
export function formatWhen(when: Date, now: Date = new Date()): string {
  const hm = `${String(when.getHours()).padStart(2, '0')}:${String(when.getMinutes()).padStart(2, '0')}`;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  if (when.toDateString() === now.toDateString()) return hm;
  if (when.getFullYear() === now.getFullYear()) return `${months[when.getMonth()]} ${when.getDate()} ${hm}`;
  return `${when.getFullYear()}-${String(when.getMonth() + 1).padStart(2, '0')}-${String(when.getDate()).padStart(2, '0')}`;
}

/** A run id as newRunId (runStore.ts) makes it: `YYYYMMDD-HHMMSS-name`, the start in local time. */
const RUN_ID = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-(.+)$/;

/**
 * A run's row label in the Runs view: what tells runs apart first, so that a narrow sidebar cuts nothing
 * that matters. For an id of newRunId's form, the name and a short start time (the time with seconds today,
 * month and day with the time this year, else the date: the id's date prefix is the same for a day's runs,
 * so cutting the id showed only that); any other folder name is its own label. `id` is the full id (the
 * description ends with it, the tooltip names it) when the label is not the id itself.
 */
export function runRowLabel(id: string, now: Date = new Date()): { label: string; id?: string } {
  const m = RUN_ID.exec(id);
  if (!m) return { label: id };
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const started = new Date(y, mo - 1, d, h, mi, s);
  if (started.getMonth() !== mo - 1 || started.getDate() !== d || started.getHours() !== h) return { label: id };
  const when = started.toDateString() === now.toDateString() ? `${formatWhen(started, now)}:${String(s).padStart(2, '0')}` : formatWhen(started, now);
  return { label: `${m[7]} · ${when}`, id };
}
