// The y axis of a chart: its range (uPlot's own pads a flat series, clip fraction 0 for 100 steps,
// to 0..100), its width (labels of a slowly decaying learning rate need more digits) and log labels.
import { formatTicks } from '../../src/core/format';

/** A span below this share of the values' magnitude is float noise (an EMA of a constant), not a trend. */
const FLAT = 1e-9;

/** [min, max] with 5% headroom; a flat series gets a band of 10% of its value (±0.01 around 0); no data: 0..1. */
export function yRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null) return [0, 1];
  if (max - min <= Math.max(Math.abs(min), Math.abs(max)) * FLAT) {
    // uPlot cannot split a span near float resolution: it fills memory and the chart stays blank
    const mid = (min + max) / 2;
    const pad = Math.abs(mid) * 0.1 || 0.01;
    return [mid - pad, mid + pad];
  }
  const pad = (max - min) * 0.05;
  return [min - pad, max + pad];
}

const MIN_AXIS_PX = 64;
const CHAR_PX = 8; // a character of uPlot's 12px axis font ('+' and 'e' included), with room to spare

/** Pixels for the y axis: the longest tick label plus the tick marks, never narrower than 64. */
export function yAxisWidth(labels: string[] | null): number {
  const longest = Math.max(0, ...(labels ?? []).map((l) => l.length));
  return Math.max(MIN_AXIS_PX, 16 + CHAR_PX * longest);
}

/** A log axis' tick values with a leading digit of 1, 2 or 5 (of 10^k). */
const isLogMajor = (v: number, digits: number[]): boolean => {
  if (!(v > 0)) return false;
  const m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
  return digits.some((d) => Math.abs(m - d) < 1e-6);
};

/**
 * Labels for a log axis: uPlot puts a tick at every 1..9 x 10^k, and labelling all of them piles
 * them up. Label the powers of ten; where the range holds fewer than two, the 1s, 2s and 5s; the
 * rest stay blank (their grid lines still show the scale).
 */
export function logTickLabels(splits: number[]): string[] {
  const digits = splits.filter((v) => isLogMajor(v, [1])).length >= 2 ? [1] : [1, 2, 5];
  const keep = splits.map((v) => isLogMajor(v, digits));
  const labels = formatTicks(splits.filter((_, i) => keep[i]));
  let k = 0;
  return splits.map((_, i) => (keep[i] ? labels[k++] : ''));
}
