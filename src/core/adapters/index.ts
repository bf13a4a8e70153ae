// Watching another framework's run: detect the framework from a folder's files, open it as an
// ExternalRun (the same RunModel as a native run, polled incrementally).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { entryProblem } from '../run/files';
import { ExternalRun, type FrameworkSource } from './externalRun';
import { FRAMEWORKS, type Framework } from './metricNames';
import { TensorBoardSource, findEventDirs } from './openrlhf';
import { NemoRlSource, findNemoRlLogDir } from './nemoRl';
import { PrimeRlSource } from './primeRl';
import { listDir } from './tail';
import { TrlSource, findTrainerState, hasCompletions } from './trl';
import { VerlSource, findDumpDirs, findVerlLogs, firstJsonLine } from './verl';

export { ExternalRun, type FrameworkSource, type RunSink } from './externalRun';
export { FRAMEWORKS, NAME_TABLES, type Framework } from './metricNames';

export class AdapterError extends Error {}

/**
 * The framework whose files DIR holds, or undefined. Checked from the most specific layout on:
 * prime-rl's metrics.jsonl (+ rollouts/step_N), TRL's trainer_state.json / completions/*.parquet,
 * NeMo-RL's train_data_step{N}.jsonl / val_data_step{N}.jsonl (in DIR or a log dir below it), verl's
 * file-logger JSONL or <step>.jsonl dumps, then TensorBoard event files (OpenRLHF).
 */
export function detectFramework(dir: string): Framework | undefined {
  let st: fs.Stats;
  try { st = fs.statSync(dir); } catch { return undefined; }
  if (st.isFile()) return dir.endsWith('.jsonl') && isVerlFirstLine(dir) ? 'verl' : undefined;
  if (isPrimeRl(dir)) return 'prime-rl';
  if (findTrainerState(dir) || hasCompletions(dir)) return 'trl';
  if (findNemoRlLogDir(dir)) return 'nemo-rl';
  if (findVerlLogs(dir).length || findDumpDirs(dir).length) return 'verl';
  if (findEventDirs(dir).length) return 'openrlhf';
  return undefined;
}

function isPrimeRl(dir: string): boolean {
  const first = firstJsonLine(path.join(dir, 'metrics.jsonl')) as Record<string, unknown> | undefined;
  if (typeof first?.step === 'number' && !('data' in first)) return true;
  return listDir(path.join(dir, 'rollouts')).some((e) => e.isDirectory() && /^step_\d+$/.test(e.name));
}

function isVerlFirstLine(file: string): boolean {
  const r = firstJsonLine(file) as Record<string, unknown> | undefined;
  return typeof r?.step === 'number' && typeof r.data === 'object' && r.data !== null;
}

export function sourceFor(framework: Framework, dir: string): FrameworkSource {
  switch (framework) {
    case 'verl': return new VerlSource(dir);
    case 'openrlhf': return new TensorBoardSource(dir);
    case 'trl': return new TrlSource(dir);
    case 'prime-rl': return new PrimeRlSource(dir);
    case 'nemo-rl': return new NemoRlSource(dir);
  }
}

/**
 * A watched run's id: `framework:name`, made unique against `taken`; no '/' or '..' (the dashboard's
 * messages refuse run ids with them), so verl's `project/experiment` reads `verl:project:experiment`.
 */
export function watchedRunId(run: { framework: Framework; name: string }, taken: (id: string) => boolean): string {
  const base = `${run.framework}:${run.name.replace(/[/\\]/g, ':').replace(/\.\.+/g, '.') || 'run'}`;
  let id = base;
  for (let n = 2; taken(id); n++) id = `${base} (${n})`;
  return id;
}

/**
 * The run the status bar follows once `chosen` became the active run: a native run; a watched run of
 * another framework (read-only, no trainer of ours) leaves it on the run it followed before.
 */
export function statusBarRun(followed: string | undefined, chosen: string | undefined, isWatched: (id: string) => boolean): string | undefined {
  return chosen !== undefined && !isWatched(chosen) ? chosen : followed;
}

/** Opens DIR as a run of `framework` (detected when not given); throws AdapterError with a one-line reason. */
export function openExternalRun(dir: string, framework?: Framework): ExternalRun {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs)) throw new AdapterError(`${dir}: no such file or folder`);
  if (framework && !FRAMEWORKS.includes(framework)) throw new AdapterError(`unknown framework "${String(framework)}": use one of ${FRAMEWORKS.join(', ')}`);
  const fw = framework ?? detectFramework(abs);
  if (!fw) {
    // a run file that is there but no regular file (a FIFO, a link to a device) was never opened: say so
    const bad = ['metrics.jsonl', 'trainer_state.json'].map((n) => entryProblem(path.join(abs, n), 'foreign-log')).filter(Boolean);
    throw new AdapterError(`${dir}: no run files of ${FRAMEWORKS.join(', ')} found (looked for metrics.jsonl + rollouts/, trainer_state.json or completions/*.parquet, train_data_step<N>.jsonl, a verl file-logger .jsonl or <step>.jsonl dumps, events.out.tfevents.*): point at the run's output folder${bad.length ? `; ${bad.join('; ')}` : ''}`);
  }
  return new ExternalRun(abs, sourceFor(fw, abs));
}
