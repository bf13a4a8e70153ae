// What the dashboard shows, without the DOM: the panels, the host's metric and eval columns (the
// core's SeriesColumns, appended chunk by chunk) and the aligned columns each chart plots.
import type { SeriesChunk } from '../src/core/protocol';
import { SeriesColumns } from '../src/core/runModel';
import { ema } from './smoothing';

export type XAxis = 'step' | 'samples';
export type Column = (number | null)[];

export interface Panel { key: string; title: string; keys: string[]; eval?: boolean }
export const PANELS: Panel[] = [
  { key: 'reward', title: 'Reward', keys: ['reward_mean'] },
  { key: 'kl', title: 'KL', keys: ['kl'] },
  { key: 'policy_loss', title: 'Policy loss', keys: ['policy_loss'] },
  { key: 'response_length', title: 'Response length', keys: ['response_length_mean'] },
  { key: 'lr', title: 'Actor learning rate', keys: ['lr'] },
  { key: 'total_length', title: 'Total length', keys: ['total_length_mean'] },
  { key: 'entropy', title: 'Entropy', keys: ['entropy'] },
  { key: 'clip_frac', title: 'Clip fraction', keys: ['clip_frac'] },
  { key: 'grad_norm', title: 'Grad norm (pre-clip)', keys: ['grad_norm'] },
  { key: 'throughput', title: 'Throughput (tokens/s)', keys: ['tokens_per_s'] },
  { key: 'eval', title: 'Held-out eval', keys: ['eval_pass@1', 'eval_greedy_accuracy', 'eval_reward_mean'], eval: true },
];

export class DashboardData {
  metrics = new SeriesColumns();
  evals = new SeriesColumns();

  /** Starts over from the host's full columns (first load, reload, or a resumed run rewrote steps). */
  reset(series: SeriesChunk, evals: SeriesChunk): void {
    this.metrics = new SeriesColumns();
    this.evals = new SeriesColumns();
    this.append(series, evals);
  }

  append(series: SeriesChunk, evals: SeriesChunk | null): void {
    this.metrics.append(series);
    if (evals) this.evals.append(evals);
  }

  private source(panel: Panel): SeriesColumns { return panel.eval ? this.evals : this.metrics; }

  /**
   * uPlot's columns for a panel: x, then each key (smoothed on metric panels), then on metric panels
   * the raw first key, drawn faintly under its smoothed line. Eval panels plot points against step.
   */
  aligned(panel: Panel, x: XAxis, smoothing: number): Column[] {
    const src = this.source(panel);
    const column = (k: string): Column => src.values[k] ?? new Array<number | null>(src.length).fill(null);
    if (panel.eval) return [src.step, ...panel.keys.map(column)];
    return [x === 'samples' ? src.samples : src.step, ...panel.keys.map((k) => ema(column(k), smoothing)), column(panel.keys[0])];
  }

  /** The newest value of a panel's first key, for its title. */
  last(panel: Panel): number | null { return this.source(panel).last(panel.keys[0]); }

  points(panel: Panel): number { return this.source(panel).length; }
}
