// The terminal form of the sample browser and the label export, as functions of parsed options so
// that the CLI only parses arguments:
//   rlhf samples RUN [--step N | --steps A:B] [--prompt TEXT] [--min-reward R] [--json]
//   rlhf labels export RUN -o FILE
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AlertEvent } from '../protocol';
import { readEvents } from '../run/events';
import { SAMPLES_FILE } from '../run/files';
import { SampleIndex, type SampleFilter } from './index';
import { Labels } from './labels';

export interface SamplesOptions {
  run: string;
  step?: number;
  steps?: [number, number];
  prompt?: string;
  minReward?: number;
  json?: boolean;
  /** At most this many samples are printed (the newest of the selection); default all. */
  limit?: number;
}
export interface Out { write(s: string): unknown }

/** Parses `A:B` (either side may be empty: open range) for --steps; undefined when malformed. */
export function parseStepRange(s: string): [number, number] | undefined {
  const m = /^(\d*):(\d*)$/.exec(s.trim());
  if (!m || (!m[1] && !m[2])) return undefined;
  const a = m[1] ? Number(m[1]) : 0, b = m[2] ? Number(m[2]) : Number.MAX_SAFE_INTEGER;
  return a <= b ? [a, b] : undefined;
}

function samplesFile(run: string, err: Out): string | undefined {
  const file = path.join(run, SAMPLES_FILE);
  if (fs.existsSync(file) || fs.lstatSync(file, { throwIfNoEntry: false })) return file;
  err.write(`rlhf samples: ${file} does not exist; RUN must be a run folder (runs/<id>) whose trainer has logged samples\n`);
  return undefined;
}

const oneLine = (s: string, n: number) => { const t = s.replace(/\s+/g, ' '); return t.length > n ? t.slice(0, n - 1) + '…' : t; };

/** Prints the selected samples (a table, or one full JSON record a line with --json); returns the exit code. */
export function samplesCommand(o: SamplesOptions, out: Out, err: Out): number {
  if (o.step !== undefined && o.steps) { err.write('rlhf samples: give --step N or --steps A:B, not both\n'); return 2; }
  const file = samplesFile(o.run, err);
  if (!file) return 1;
  const index = new SampleIndex(file);
  index.poll();
  if (index.problem) { err.write(`rlhf samples: ${index.problem}\n`); return 1; }
  const filter: SampleFilter = { prompt: o.prompt, rewardMin: o.minReward };
  if (o.step !== undefined) { filter.stepMin = o.step; filter.stepMax = o.step; }
  if (o.steps) [filter.stepMin, filter.stepMax] = o.steps;
  let { rows } = index.query(filter, { key: 'step', desc: false }, Number.MAX_SAFE_INTEGER);
  if (o.limit !== undefined && rows.length > o.limit) rows = rows.subarray(rows.length - o.limit);
  const BATCH = 1000;
  if (!o.json) out.write(`${'step'.padStart(6)} ${'#'.padStart(4)} ${'reward'.padStart(8)} ${'len'.padStart(5)}  prompt -> response\n`);
  for (let s = 0; s < rows.length; s += BATCH) {
    const batch = rows.subarray(s, s + BATCH);
    index.readMany(batch).forEach((r) => {
      if (!r) return;
      if (o.json) { out.write(JSON.stringify(r) + '\n'); return; }
      const len = r.response_length ?? r.tokens?.length ?? 0;
      out.write(`${String(r.step).padStart(6)} ${String(r.index).padStart(4)} ${r.reward.toFixed(3).padStart(8)} ${String(len).padStart(5)}${r.truncated ? '+' : ' '} ${oneLine(r.prompt, 50)} -> ${oneLine(r.response, 70)}\n`);
    });
  }
  if (!o.json) {
    err.write(`${rows.length.toLocaleString('en-US')} of ${index.size.toLocaleString('en-US')} samples\n`);
    for (const a of runAlerts(o.run)) err.write(`alert ${a.kind} at steps ${a.steps[0]}-${a.steps[1]}: ${a.message} (rlhf samples ${o.run} --step ${a.steps[1]})\n`);
  }
  return 0;
}

/** The reward-hacking alerts in a run's events.jsonl, streamed (only alert lines are parsed, as the dashboard parses them). */
export function runAlerts(run: string): AlertEvent[] {
  return readEvents<AlertEvent>(run, ALERT_EVENTS);
}
const ALERT_EVENTS = new Set(['alert']);

export interface LabelsExportOptions { run: string; output: string }

/** Writes the run's preference pairs to `output`; returns the exit code. */
export function labelsExportCommand(o: LabelsExportOptions, out: Out, err: Out): number {
  if (!fs.existsSync(o.run) || !fs.statSync(o.run).isDirectory()) { err.write(`rlhf labels export: ${o.run} is not a run folder\n`); return 1; }
  const labels = new Labels(o.run);
  if (labels.problem) { err.write(`rlhf labels export: ${labels.problem}\n`); return 1; }
  let n: number;
  try { n = labels.export(o.output); } catch (e) {
    err.write(`rlhf labels export: cannot write ${o.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; pick a writable path with -o\n`);
    return 1;
  }
  const c = labels.counts;
  out.write(`wrote ${n} preference pair${n === 1 ? '' : 's'} to ${o.output} (from ${c.preferences} preference${c.preferences === 1 ? '' : 's'}, ${c.good} good and ${c.bad} bad label${c.bad === 1 ? '' : 's'})\n`);
  return 0;
}
