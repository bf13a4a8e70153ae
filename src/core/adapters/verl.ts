// verl: the `file` logger's JSONL (one line {"step": N, "data": {metric: value}} per step, at
// $VERL_FILE_LOGGER_PATH or <root>/<project>/<experiment>.jsonl; verl/utils/tracking.py FileLogger,
// opened with "wb", so a resumed run truncates it) and the rollout dumps of
// trainer.rollout_data_dir (<step>.jsonl, one line {input, output, gts, score, step, ...extra}
// per rollout; verl/trainer/ppo/ray_trainer.py _write_generations).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SampleItem } from '../protocol';
import type { FrameworkSource, RunSink } from './externalRun';
import { openGuarded } from '../run/files';
import { SampleFiles, isStep, num, numericFields, text } from './sampleFiles';
import { JsonlTail, listDir, type JsonRecord } from './tail';

const DUMP_FILE = /^(\d+)\.jsonl$/;
/** A file-logger line: {step, data}. Its step is checked where it is used (a step of 1e400 is refused there, with a message). */
const isVerlLine = (r: unknown): r is { step: number; data: JsonRecord } =>
  typeof r === 'object' && r !== null && typeof (r as JsonRecord).step === 'number'
  && typeof (r as JsonRecord).data === 'object' && (r as JsonRecord).data !== null;

/** The first line of a file parsed as JSON (undefined when it has none, is no JSON, or is no regular file: never opened then). */
export function firstJsonLine(file: string): unknown {
  let fd: number | undefined;
  try {
    fd = openGuarded(file, 'foreign-log')?.fd;
    if (fd === undefined) return undefined;
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const s = buf.subarray(0, n).toString('utf8');
    const nl = s.indexOf('\n');
    return JSON.parse(nl >= 0 ? s.slice(0, nl) : s) as unknown;
  } catch { return undefined; } finally { if (fd !== undefined) fs.closeSync(fd); }
}

/**
 * verl file-logger JSONLs in DIR or up to two folders down, newest first: <root>/<project>/<experiment>.jsonl
 * from logs/, and logs/<project>/<experiment>.jsonl from the run folder above it (FileLogger's default root).
 */
export function findVerlLogs(dir: string, depth = 2): string[] {
  const candidates: string[] = [];
  const walk = (d: string, left: number) => {
    for (const e of listDir(d)) {
      if (e.isFile() && e.name.endsWith('.jsonl') && !DUMP_FILE.test(e.name)) candidates.push(path.join(d, e.name));
      else if (e.isDirectory() && left > 0 && !e.name.startsWith('.')) walk(path.join(d, e.name), left - 1);
    }
  };
  walk(dir, depth);
  const mtime = (f: string) => { try { return fs.statSync(f).mtimeMs; } catch { return 0; } };
  return candidates.filter((f) => isVerlLine(firstJsonLine(f))).sort((a, b) => mtime(b) - mtime(a));
}

/** The run folder of DIR: the folder above logs/ when DIR is logs/ or logs/<project> (where the rollout dumps are looked for). */
export function verlRunRoot(dir: string): string {
  if (path.basename(dir) === 'logs') return path.dirname(dir);
  if (path.basename(path.dirname(dir)) === 'logs') return path.dirname(path.dirname(dir));
  return dir;
}

/** `<project>/<experiment>` of a file-logger JSONL (its folder and its name). */
export const verlRunName = (file: string): string => `${path.basename(path.dirname(file))}/${path.basename(file, '.jsonl')}`;

/** Folders (DIR and two levels down) holding <step>.jsonl dumps; those named like val* hold validation dumps. */
export function findDumpDirs(dir: string, depth = 2): string[] {
  const entries = listDir(dir);
  const out = entries.some((e) => e.isFile() && DUMP_FILE.test(e.name)) ? [dir] : [];
  if (depth > 0) for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) out.push(...findDumpDirs(path.join(dir, e.name), depth - 1));
  return out;
}
const isValidationDir = (d: string) => /val/i.test(path.basename(d));

function dumpItem(r: JsonRecord, index: number): SampleItem | undefined {
  if (r.input === undefined && r.output === undefined) return undefined;
  const score = num(r.score);
  const rewards: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) if (!['score', 'step'].includes(k) && num(v) !== undefined) rewards[k] = v as number;
  return { index, prompt: text(r.input), response: text(r.output), label: r.gts ?? undefined, reward: score ?? Number.NaN, rewards };
}

export class VerlSource implements FrameworkSource {
  readonly framework = 'verl';
  private log: JsonlTail | undefined;
  private cut = false; // the log was rewritten and no record has come since
  private dumps = new SampleFiles(dumpItem);
  private said = false;

  /** `target` is the run folder, or the logger's JSONL itself. */
  constructor(readonly target: string) {}

  get metricsFile(): string | undefined { return this.log?.bytes.file; }

  /** `<project>/<experiment>` from the file logger's path, once there is one. */
  get name(): string | undefined {
    const file = this.log?.bytes.file ?? (this.rootDir() === this.target ? findVerlLogs(this.target)[0] : this.target);
    return file && verlRunName(file);
  }

  poll(sink: RunSink): void {
    this.pollMetrics(sink);
    const found = new Map<string, number>();
    const root = verlRunRoot(this.rootDir());
    for (const d of findDumpDirs(root)) {
      if (isValidationDir(d)) continue;
      for (const e of listDir(d)) {
        const m = DUMP_FILE.exec(e.name);
        if (m && e.isFile()) found.set(path.join(d, e.name), Number(m[1]));
      }
    }
    this.dumps.poll(found, sink);
    if (!this.log && !this.said) {
      this.said = true; // said once; the files are still looked for at every poll
      sink.error(`${this.target}: no verl file-logger JSONL (looked for <experiment>.jsonl with {"step", "data"} lines in it or up to two folders down, as logs/<project>/<experiment>.jsonl)${found.size ? '; only the rollout dumps are shown' : ' and no <step>.jsonl rollout dumps'}`);
    }
  }

  private rootDir(): string {
    try { return fs.statSync(this.target).isFile() ? path.dirname(this.target) : this.target; } catch { return this.target; }
  }

  private pollMetrics(sink: RunSink): void {
    if (!this.log) {
      const file = this.rootDir() === this.target ? findVerlLogs(this.target)[0] : this.target;
      if (!file) return;
      this.log = new JsonlTail(file);
    }
    const { records, restarted, problem } = this.log.poll();
    if (problem) sink.error(problem);
    this.cut ||= restarted; // a resumed run reopened the log with "wb": its first step starts the new history
    for (const r of records) {
      if (!isVerlLine(r)) continue;
      if (!isStep(r.step)) { sink.error(`${this.log.bytes.file}: a line with step ${String(r.step)}, not a whole number from 0 to 2^53: skipped`); continue; }
      if (this.cut) { sink.truncate(r.step); this.cut = false; }
      sink.metrics(r.step, numericFields(r.data));
    }
  }
}
