// `rlhf watch DIR` (a line per new step, until interrupted) and `rlhf watch DIR --once [--json]`
// (read everything there is, print the run model, exit). The CLI parses the flags and calls this.
// Every file is read through the run folder's guard (a FIFO or a link to a device is refused, never
// waited on), each poll reads a bounded amount, and both modes stop when `signal` aborts (SIGINT, SIGTERM).
import type { MetricsEvent } from '../protocol';
import { formatNumber } from '../format';
import { AdapterError, openExternalRun, type ExternalRun, type Framework } from './index';

export interface WatchOptions {
  dir: string;
  once?: boolean;
  json?: boolean;
  /** Skip detection. */
  framework?: Framework;
  intervalMs?: number;
  /** Both modes stop when this aborts (the CLI aborts on SIGINT and SIGTERM). */
  signal?: AbortSignal;
}

/** The panels a live line shows, in order, when the run has them. */
const LINE_KEYS = ['reward_mean', 'kl', 'policy_loss', 'entropy', 'response_length_mean', 'lr'];

export interface RunDescription {
  framework: Framework;
  dir: string;
  steps: number;
  lastStep: number | null;
  latest: Record<string, number | null>;
  latestEval: Record<string, number | null>;
  samplesPerStep: Record<string, number>;
  lastSamples: { step: number; items: { prompt: string; response: string; reward: number; rewards: Record<string, number> }[] } | null;
  errors: string[];
}

/** The run model as plain JSON: what `--once --json` prints. */
export function describeRun(run: ExternalRun): RunDescription {
  const m = run.model;
  const latestOf = (s: typeof m.metrics) => Object.fromEntries(Object.keys(s.values).map((k) => [k, s.last(k)]));
  const last = m.lastSamples;
  return {
    framework: run.framework,
    dir: run.dir,
    steps: m.metrics.length,
    lastStep: m.metrics.length ? m.step : null,
    latest: latestOf(m.metrics),
    latestEval: latestOf(m.evals),
    samplesPerStep: Object.fromEntries([...run.sampleCounts].sort((a, b) => a[0] - b[0]).map(([s, n]) => [String(s), n])),
    lastSamples: last && { step: last.step, items: last.items.map((it) => ({ prompt: it.prompt, response: it.response, reward: it.reward, rewards: it.rewards })) },
    errors: [...run.errors],
  };
}

/** Reads until a poll brings nothing new (a large file takes several polls), or until `signal` aborts. */
export async function readAll(run: ExternalRun, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted && (await run.poll()).length > 0) {
    await new Promise<void>((resolve) => setImmediate(resolve)); // a signal handler runs between polls
  }
}

export function stepLine(run: ExternalRun, e: MetricsEvent): string {
  const parts = [`step ${e.step}`];
  for (const k of LINE_KEYS) {
    const v = e.values[k];
    if (typeof v === 'number') parts.push(`${k} ${formatNumber(v)}`);
  }
  const n = run.sampleCounts.get(e.step);
  if (n) parts.push(`samples ${n}`);
  return parts.join('  ');
}

/** Runs the command; resolves to the exit code. Errors are one line on `err`. */
export async function watchCommand(opts: WatchOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let run: ExternalRun;
  try { run = openExternalRun(opts.dir, opts.framework); } catch (e) {
    if (e instanceof AdapterError) { err.write(`rlhf watch: ${e.message}\n`); return 2; }
    throw e;
  }
  if (opts.once) {
    await readAll(run, opts.signal);
    const d = describeRun(run);
    if (opts.json) out.write(`${JSON.stringify(d, null, 2)}\n`);
    else out.write(summaryText(d));
    for (const e of d.errors) err.write(`rlhf watch: ${e}\n`);
    return 0;
  }
  out.write(`watching ${run.dir} (${run.framework}); Ctrl-C to stop\n`);
  let printed = -Infinity;
  run.onEvents((events) => {
    for (const e of events) {
      if (e.type === 'log' && e.level === 'error') err.write(`rlhf watch: ${e.message}\n`);
      if (e.type === 'metrics' && e.step > printed) { printed = e.step; out.write(`${stepLine(run, e)}\n`); }
    }
  });
  run.start(opts.intervalMs ?? 1000);
  await new Promise<void>((resolve) => {
    if (opts.signal?.aborted) resolve();
    opts.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  run.dispose();
  return 0;
}

function summaryText(d: RunDescription): string {
  const lines = [`${d.framework} run in ${d.dir}: ${d.steps} steps${d.lastStep !== null ? `, last ${d.lastStep}` : ''}`];
  for (const [k, v] of Object.entries(d.latest)) lines.push(`  ${k}  ${v === null ? '--' : formatNumber(v)}`);
  const counts = Object.entries(d.samplesPerStep);
  if (counts.length) lines.push(`samples per step: ${counts.map(([s, n]) => `${s}:${n}`).join(' ')}`);
  return `${lines.join('\n')}\n`;
}
