// "What would these rules have given the samples of my last run?" — re-scores recorded samples.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RewardEngine } from './engine';
import { openGuarded, SAMPLES_FILE } from '../run/files';

export interface RecordedSample { step: number; index: number; prompt: string; response: string; label?: unknown; reward: number }

/** Longest samples.jsonl line that is read; longer ones (and a torn, unterminated tail that long) are skipped. */
export const MAX_LINE_BYTES = 16 * 2 ** 20;

/**
 * The lines of a file from the end backwards, each as a Buffer, in one pass over its bytes (linear
 * time) and with memory bounded by `maxLine`: a longer line is skipped, not assembled.
 */
function* linesBackwards(fd: number, size: number, maxLine: number): Generator<Buffer> {
  const CHUNK = 1 << 20;
  let pos = size;
  let parts: Buffer[] = []; // the line being assembled, last part first
  let length = 0;
  let skipping = false;
  const take = (): Buffer | undefined => {
    const line = skipping ? undefined : Buffer.concat(parts.reverse(), length);
    parts = [];
    length = 0;
    skipping = false;
    return line;
  };
  const add = (b: Buffer) => {
    if (skipping || !b.length) return;
    length += b.length;
    if (length > maxLine) { skipping = true; parts = []; } else parts.push(b);
  };
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, pos);
    let end = len;
    for (let i = buf.lastIndexOf(10, end - 1); i >= 0; i = i > 0 ? buf.lastIndexOf(10, i - 1) : -1) {
      add(buf.subarray(i + 1, end));
      const line = take();
      if (line?.length) yield line;
      end = i;
    }
    if (!skipping) add(Buffer.from(buf.subarray(0, end))); // a copy: the rest of the chunk is not kept alive
  }
  const first = take();
  if (first?.length) yield first;
}

/** A samples.jsonl record this module can use: prompt, response and reward of the right types. */
function isRecordedSample(s: unknown): s is RecordedSample {
  if (typeof s !== 'object' || s === null) return false;
  const r = s as Record<string, unknown>;
  return typeof r.prompt === 'string' && typeof r.response === 'string' && typeof r.reward === 'number';
}

/** The last `n` samples of samples.jsonl, read from the end of the file (it can be large). */
export function lastSamples(runDir: string, n: number): RecordedSample[] {
  // through the run folder's guard: a link or a FIFO in its place throws RunFileError (its message says what to do)
  const opened = openGuarded(path.join(runDir, SAMPLES_FILE), 'samples');
  if (!opened) return [];
  const { fd, size } = opened;
  try {
    const out: RecordedSample[] = [];
    for (const line of linesBackwards(fd, size, MAX_LINE_BYTES)) {
      if (out.length >= n) break;
      try {
        const s: unknown = JSON.parse(line.toString('utf8'));
        if (isRecordedSample(s)) out.push(s);
      } catch { /* a torn line: the trainer is writing it */ }
    }
    return out.reverse();
  } finally { fs.closeSync(fd); }
}

export interface ReplayReport {
  runDir: string;
  n: number;
  mean: number;
  recordedMean: number;
  histogram: { from: number; to: number; count: number }[];
  errors: number;
  differ: { step: number; index: number; prompt: string; response: string; label?: unknown; recorded: number; now: number; error?: string; breakdown: Record<string, number> }[];
}

export function histogram(values: number[], bins = 10): ReplayReport['histogram'] {
  if (!values.length) return [];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (lo === hi) return [{ from: lo, to: hi, count: values.length }];
  const w = (hi - lo) / bins;
  const h = Array.from({ length: bins }, (_, i) => ({ from: lo + i * w, to: lo + (i + 1) * w, count: 0 }));
  for (const v of values) h[Math.min(bins - 1, Math.floor((v - lo) / w))].count++;
  return h;
}

export async function replayRun(engine: RewardEngine, runDir: string, lastN = 200): Promise<ReplayReport> {
  const samples = lastSamples(runDir, lastN);
  const results = await engine.evaluate(samples.map((s) => ({ prompt: s.prompt, response: s.response, label: s.label })));
  const now = results.map((r) => r.reward);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const differ = samples.flatMap((s, i) => (Math.abs(now[i] - s.reward) > 1e-9 || results[i].error
    ? [{ step: s.step, index: s.index, prompt: s.prompt, response: s.response, label: s.label, recorded: s.reward, now: now[i], error: results[i].error, breakdown: results[i].breakdown }]
    : []));
  return { runDir, n: samples.length, mean: mean(now), recordedMean: mean(samples.map((s) => s.reward)), histogram: histogram(now),
    errors: results.filter((r) => r.error).length, differ };
}

export function formatReport(r: ReplayReport, maxRows = 10): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '--');
  const lines = [`${r.n} samples of ${path.basename(r.runDir)}: mean reward ${f(r.mean)} (recorded ${f(r.recordedMean)}); ${r.differ.length} differ from the recorded reward; ${r.errors} errors`];
  const peak = Math.max(1, ...r.histogram.map((b) => b.count));
  for (const b of r.histogram) lines.push(`  ${f(b.from).padStart(7)} .. ${f(b.to).padEnd(7)} ${'#'.repeat(Math.round((30 * b.count) / peak)).padEnd(30)} ${b.count}`);
  for (const d of r.differ.slice(0, maxRows)) {
    lines.push(`  step ${d.step} #${d.index}: ${JSON.stringify(d.prompt)} -> ${JSON.stringify(d.response)} (label ${JSON.stringify(d.label)}): recorded ${f(d.recorded)}, now ${f(d.now)}${d.error ? ` [${d.error}]` : ''}`);
  }
  if (r.differ.length > maxRows) lines.push(`  ... ${r.differ.length - maxRows} more`);
  return lines.join('\n');
}
