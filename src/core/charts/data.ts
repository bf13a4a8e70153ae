// What the dashboard shows, without the DOM: the panels, the host's metric and eval columns (the
// core's SeriesColumns, appended chunk by chunk), the x axes derived from them and the smoothed
// series. Everything derived is kept up to date from the first changed row only, so a live update
// costs the new tail, not the run's length.
import type { SeriesChunk } from '../protocol';
import { extent, lowerBound, M4Summary, rowAtOrBefore } from '../downsample';
import { SeriesColumns } from '../run/runModel';
import { EmaColumn } from './smoothing';

export type XAxis = 'step' | 'samples' | 'tokens' | 'time' | 'kl';
export const X_AXES: { key: XAxis; title: string }[] = [
  { key: 'step', title: 'step' },
  { key: 'samples', title: 'samples' },
  { key: 'tokens', title: 'generated tokens' },
  { key: 'time', title: 'wall time (s)' },
  { key: 'kl', title: 'cumulative KL' },
];
export const isXAxis = (s: unknown): s is XAxis => X_AXES.some((a) => a.key === s);
export const xTitle = (x: XAxis): string => X_AXES.find((a) => a.key === x)!.title;

export type Column = (number | null)[];

/** `rm`: a reward-model run's panel, shown only when a run logged its keys; a run that logged any hides the policy panels it did not log. */
export interface Panel { key: string; title: string; keys: string[]; eval?: boolean; rm?: boolean }
/** The default order: held-out eval right beside the training reward. */
export const PANELS: Panel[] = [
  { key: 'reward', title: 'Reward', keys: ['reward_mean'] },
  { key: 'eval', title: 'Held-out eval', keys: ['eval_pass@1', 'eval_greedy_accuracy', 'eval_reward_mean'], eval: true },
  { key: 'kl', title: 'KL', keys: ['kl'] },
  { key: 'policy_loss', title: 'Policy loss', keys: ['policy_loss'] },
  { key: 'response_length', title: 'Response length', keys: ['response_length_mean'] },
  { key: 'lr', title: 'Actor learning rate', keys: ['lr'] },
  { key: 'total_length', title: 'Total length', keys: ['total_length_mean'] },
  { key: 'entropy', title: 'Entropy', keys: ['entropy'] },
  { key: 'clip_frac', title: 'Clip fraction', keys: ['clip_frac'] },
  { key: 'grad_norm', title: 'Grad norm (pre-clip)', keys: ['grad_norm'] },
  { key: 'throughput', title: 'Throughput (tokens/s)', keys: ['tokens_per_s'] },
  // a reward-model run (rlhf train-rm): Bradley-Terry loss, pair accuracy (train and held-out), margin, mean rewards
  { key: 'rm_loss', title: 'Reward model loss', keys: ['rm_loss'], rm: true },
  { key: 'rm_accuracy', title: 'Pair accuracy', keys: ['rm_accuracy'], rm: true },
  { key: 'rm_eval_accuracy', title: 'Held-out pair accuracy', keys: ['eval_rm_accuracy'], eval: true, rm: true },
  { key: 'rm_margin', title: 'Reward margin (chosen − rejected)', keys: ['rm_margin'], rm: true },
  { key: 'rm_rewards', title: 'Chosen / rejected reward', keys: ['rm_chosen', 'rm_rejected'], rm: true },
];

/**
 * Which panels a set of runs shows (before the user's own hiding): the policy panels as always; the
 * reward-model panels only when some run logged their keys, and then (a reward-model run) only the
 * panels some run logged, so a reward model's dashboard is not a page of empty policy charts.
 * `onlyLogged` (watched runs of other frameworks, which never log some of the panels' metrics): only
 * the panels some run logged, whatever they are.
 */
export function panelsFor(logged: (p: Panel) => boolean, onlyLogged = false): Panel[] {
  const rm = PANELS.filter((p) => p.rm && logged(p));
  return rm.length || onlyLogged ? PANELS.filter((p) => logged(p)) : PANELS.filter((p) => !p.rm);
}

/** What an empty chart says: the held-out eval needs eval prompts; any other panel names the keys not logged yet. */
export function emptyNote(panel: Panel): string {
  return panel.eval ? 'no eval yet: a held-out eval needs data.eval_prompts (and eval.every_steps) in the config'
    : `nothing logged yet: ${panel.keys.join(', ')}`;
}

/** One line of a panel: a y column against the panel's x column (with its block summary, for long metric columns). */
export interface Line { key: string; y: Column; kind: 'smoothed' | 'raw' | 'eval'; summary?: M4Summary }
/** A panel at full resolution (the chart downsamples it): one x column, the lines drawn against it. */
export interface PanelColumns { x: ArrayLike<number>; lines: Line[] }

/** What an append changed, so only those charts redraw. */
export interface Changed { metricsFrom: number; evalsFrom: number | null }

/** The column of a key that was never logged: rows past its end read undefined, drawn as gaps. */
const NEVER_LOGGED: Column = Object.freeze([]) as unknown as Column;

const val = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * A running sum column: out[i] = out[i-1] + term(i), out[-1] = 0, recomputed from the first changed
 * row. Used for the tokens and cumulative-KL axes.
 */
class RunningSum {
  readonly out: number[] = [];
  constructor(private readonly term: (i: number) => number) {}
  update(rows: number, from: number): number[] {
    if (from < this.out.length) this.out.length = from;
    let acc = this.out.length ? this.out[this.out.length - 1] : 0;
    for (let i = this.out.length; i < rows; i++) { acc += this.term(i); this.out.push(acc); }
    return this.out;
  }
}

export class DashboardData {
  metrics = new SeriesColumns();
  evals = new SeriesColumns();
  private smoothing = 0;
  private smoothed = new Map<string, EmaColumn>();
  /**
   * Changes whenever rows already drawn may have changed (a reset, rewritten steps, a new smoothing
   * weight): a chart's kept M4 buckets of an older generation are not extended.
   */
  generation = 0;
  /** Block summaries of the metric columns drawn so far (raw and smoothed), kept up to date by `append`. */
  private summaries = new Map<Column, M4Summary>();
  /**
   * Generated tokens so far: the sum over steps of response_length_mean x the step's samples
   * (samples_seen minus the previous row's; the trainer logs both every step).
   */
  private tokens = new RunningSum((i) => {
    const m = this.metrics;
    return val(m.values.response_length_mean?.[i]) * (m.samples[i] - (i > 0 ? m.samples[i - 1] : 0));
  });
  /**
   * Cumulative KL, the x axis of the REINFORCE++ paper's Figure 3 (reward gained per unit of KL):
   * the running sum over logged steps of the per-step `kl` metric (the batch mean of the KL estimate
   * the trainer penalises). A step without `kl` adds 0; a negative estimate (k1 can dip below 0 on
   * one batch, true KL never does) adds 0 too, so the axis never runs backwards.
   */
  private cumKl = new RunningSum((i) => Math.max(0, val(this.metrics.values.kl?.[i])));
  /** Trainer seconds since the first row (as a running sum of row gaps, so appends stay incremental). */
  private wall = new RunningSum((i) => (i > 0 ? this.metrics.time[i] - this.metrics.time[i - 1] : 0));

  /** Starts over from the host's full columns (first load, reload, or a resumed run rewrote steps). */
  reset(series: SeriesChunk, evals: SeriesChunk): Changed {
    this.metrics = new SeriesColumns();
    this.evals = new SeriesColumns();
    this.smoothed.clear();
    this.summaries.clear();
    this.generation++;
    return this.append(series, evals);
  }

  append(series: SeriesChunk, evals: SeriesChunk | null): Changed {
    const before = this.metrics.length;
    const metricsFrom = this.metrics.append(series);
    if (metricsFrom < before) this.generation++; // a resumed run re-reported steps
    const evalsFrom = evals && evals.step.length ? this.evals.append(evals) : null;
    this.tokens.update(this.metrics.length, metricsFrom);
    this.cumKl.update(this.metrics.length, metricsFrom);
    this.wall.update(this.metrics.length, metricsFrom);
    for (const [k, col] of this.smoothed) col.update(this.metrics.values[k] ?? [], metricsFrom);
    for (const [col, sum] of this.summaries) sum.update(col, metricsFrom); // only the tail blocks change
    return { metricsFrom, evalsFrom };
  }

  /** The EMA weight; a new weight smooths every series once, then appends are incremental again. */
  setSmoothing(weight: number): void {
    if (weight !== this.smoothing) {
      this.smoothing = weight;
      this.generation++;
      for (const col of this.smoothed.values()) this.summaries.delete(col.out);
      this.smoothed.clear();
    }
  }

  /** The metrics' x column on an axis. */
  x(axis: XAxis): ArrayLike<number> {
    const m = this.metrics;
    switch (axis) {
      case 'step': return m.step;
      case 'samples': return m.samples;
      case 'tokens': return this.tokens.out;
      case 'kl': return this.cumKl.out;
      case 'time': return this.wall.out;
    }
  }

  /**
   * The x extent of the metrics and the evals on an axis: the eval at step 0 (the policy before any update, and a
   * continuation's first eval point from its parent) is inside the range every chart shows.
   */
  xExtent(axis: XAxis): [number, number] | null {
    const m = extent(this.x(axis)), e = extent(this.evalX(axis));
    return m && e ? [Math.min(m[0], e[0]), Math.max(m[1], e[1])] : m ?? e;
  }

  /** The evals' x column: an eval at step s sits where the metrics put step s on that axis. */
  private evalX(axis: XAxis): number[] {
    if (axis === 'step') return this.evals.step;
    const mx = this.x(axis), ms = this.metrics.step;
    return this.evals.step.map((s) => (ms.length ? mx[Math.min(lowerBound(ms, s), ms.length - 1)] : s));
  }

  /** A key's column; a key the run never logged reads as an empty column (no row has a value). */
  private column(src: SeriesColumns, k: string): Column {
    return src.values[k] ?? NEVER_LOGGED;
  }

  private smooth(k: string): Column {
    const raw = this.column(this.metrics, k);
    if (this.smoothing <= 0 || raw === NEVER_LOGGED) return raw;
    let col = this.smoothed.get(k);
    if (!col) { col = new EmaColumn(this.smoothing); col.update(raw, 0); this.smoothed.set(k, col); }
    return col.out.length === raw.length ? col.out : col.update(raw, 0);
  }

  /**
   * A panel's lines: on metric panels each key smoothed, then the raw first key (drawn faintly under
   * its smoothed line); on the eval panel each key as logged, at the evals' steps.
   */
  columns(panel: Panel, axis: XAxis): PanelColumns {
    if (panel.eval) return { x: this.evalX(axis), lines: panel.keys.map((k) => ({ key: k, y: this.column(this.evals, k), kind: 'eval' })) };
    const lines: Line[] = panel.keys.map((k) => ({ key: k, y: this.smooth(k), kind: 'smoothed' }));
    if (this.smoothing > 0) lines.push({ key: panel.keys[0], y: this.column(this.metrics, panel.keys[0]), kind: 'raw' });
    for (const l of lines) l.summary = this.summary(l.y);
    return { x: this.x(axis), lines };
  }

  /** The block summary of a metric column, built on first use. */
  private summary(y: Column): M4Summary | undefined {
    if (y === NEVER_LOGGED) return undefined;
    let s = this.summaries.get(y);
    if (!s) { s = new M4Summary().update(y, 0); this.summaries.set(y, s); }
    return s;
  }

  /** The row at or before `x` on an axis and its step (a chart click: which step's samples to show); null without rows. */
  pointAt(panel: Panel, axis: XAxis, x: number): { row: number; step: number } | null {
    const xs = panel.eval ? this.evalX(axis) : this.x(axis);
    const steps = panel.eval ? this.evals.step : this.metrics.step;
    if (!xs.length) return null;
    const row = rowAtOrBefore(xs, x);
    return { row, step: steps[row] };
  }

  /** Whether rows from `changed` on hold a value of the panel's keys (else its chart need not redraw). */
  touches(panel: Panel, changed: Changed): boolean {
    const [src, from] = panel.eval ? [this.evals, changed.evalsFrom] : [this.metrics, changed.metricsFrom];
    if (from === null) return false;
    return panel.keys.some((k) => {
      const col = src.values[k];
      for (let i = from; col && i < col.length; i++) if (col[i] !== null) return true;
      return false;
    });
  }

  /** Whether the run logged any of the panel's keys (a chart of keys never logged stays empty). */
  logged(panel: Panel): boolean { return panel.keys.some((k) => (panel.eval ? this.evals : this.metrics).values[k] !== undefined); }

  /**
   * The value the panel's title shows: its first logged key's value in the newest row (a verl or TRL run's held-out
   * eval logs eval_reward_mean, not eval_pass@1).
   */
  last(panel: Panel): number | null {
    const cols = panel.eval ? this.evals : this.metrics;
    const key = panel.keys.find((k) => cols.values[k] !== undefined);
    return key === undefined ? null : cols.last(key);
  }

  points(panel: Panel): number { return (panel.eval ? this.evals : this.metrics).length; }
}
