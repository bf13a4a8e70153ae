// "Compare Estimators" (rlhf compare, and the extension's command): one config trained with several
// advantage estimators on the same prompts and seeds, each a normal run folder under one directory,
// then a Markdown report with SVG charts — the REINFORCE++ paper's Figure 1 panels and its Figure 3
// frontier (reward against cumulative KL) — and, for each of the paper's claims, what these runs show.
// vscode-free: the CLI, the extension and the tests share it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { chartSvg, type SvgSeries } from './charts/svg';
import { DashboardData, PANELS, type XAxis } from './charts/data';
import { formatDuration, formatNumber } from './format';
import { createRunDir, launchTrainer, stopRun, type TrainerHandle } from './launcher';
import { probeBeforeTorch } from './python';
import type { SeriesChunk } from './protocol';
import type { Estimator } from './presets';
import { RunModel } from './run/runModel';
import { RunWatcher } from './run/runWatcher';
import { layoutEnv, validateConfig, type InstallLayout } from './training';
import { chooseNode, type NodeCommand } from './trainerEnv';
import { loadSchema, POLICY_SCHEMA_FILE } from './schemas';

/** The estimators the trainer knows (schemas/config.schema.json, algorithm.estimator). */
export const ESTIMATORS = ['reinforce_pp', 'reinforce_pp_baseline', 'grpo', 'rloo', 'dr_grpo', 'ppo'] as const satisfies readonly Estimator[];
/** The paper's comparison: REINFORCE++, REINFORCE++-baseline, GRPO, RLOO. */
export const DEFAULT_ESTIMATORS = ['reinforce_pp', 'reinforce_pp_baseline', 'grpo', 'rloo'];
export const DEFAULT_SEEDS = 2;

export interface CompareRun {
  estimator: string;
  seed: number;
  /** The run folder; null when the run never started (cancelled before, or refused at start). */
  runDir: string | null;
  model: RunModel;
  /** Why it did not run to the end, when it did not (a start error, a stop). */
  problem?: string;
}

export interface CompareOptions {
  python: string | { path: string; origin?: string };
  layout: InstallLayout;
  config: string;
  /** Where the run folders go (a runs directory: the Runs view lists them). */
  outDir: string;
  /** Where report.md and its figures go; default outDir. */
  reportDir?: string;
  estimators: string[];
  seeds: number;
  /** Overrides train.max_steps for every run. */
  maxSteps?: number;
  /** Runs at a time (default 1: one after another). */
  parallel?: number;
  nodePath?: string;
  /** A line to show: the plan, each run's start, progress and end. */
  onLine?: (line: string) => void;
  /** Aborting stops the runs in flight (finish the step, checkpoint) and starts no more; the report covers what ran. */
  signal?: AbortSignal;
}

export interface CompareResult { runs: CompareRun[]; reportPath: string; claims: Claim[]; cancelled: boolean; seconds: number }

export class CompareError extends Error {}

// ---- planning ------------------------------------------------------------------------------

interface Job { estimator: string; seed: number; index: number }

/** Every estimator x seed, seed-major so that an early stop still has each estimator once. */
export function planJobs(estimators: string[], seeds: number[]): Job[] {
  return seeds.flatMap((seed) => estimators.map((estimator) => ({ estimator, seed }))).map((j, index) => ({ ...j, index }));
}

/** The validated --estimators list (a comma list of ESTIMATORS, no repeats); CompareError names the bad one. */
export function parseEstimators(text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of list) {
    if (!(ESTIMATORS as readonly string[]).includes(e)) throw new CompareError(`unknown estimator '${e}'; use a comma list of ${ESTIMATORS.join(', ')}`);
  }
  if (new Set(list).size !== list.length) throw new CompareError(`an estimator is named twice in '${text}'`);
  if (!list.length) throw new CompareError(`no estimator in '${text}'; use a comma list of ${ESTIMATORS.join(', ')}`);
  return list;
}

interface BaseConfig { doc: YAML.Document; name: string; seed: number; maxSteps: number; text: string }

function readBase(config: string, schemasDir: string, maxSteps?: number): BaseConfig {
  const text = fs.readFileSync(config, 'utf8');
  const doc = YAML.parseDocument(text);
  if (doc.errors.length) throw new CompareError(`${config}: ${doc.errors[0].message.split('\n')[0]}; fix the YAML (rlhf validate ${config})`);
  // the schema holds the defaults (one config definition): a config without seed or max_steps gets them
  const schema = loadSchema<
    { properties: { seed: { default: number }; train: { properties: { max_steps: { default: number | null } } } } }>(POLICY_SCHEMA_FILE, schemasDir);
  const num = (v: unknown, d: number | null): number | null => (typeof v === 'number' ? v : d);
  const name = doc.get('name');
  const steps = maxSteps ?? num(doc.getIn(['train', 'max_steps']), schema.properties.train.properties.max_steps.default);
  if (!steps) throw new CompareError(`${config}: train.max_steps is not set; set it (or pass --max-steps) so every run trains the same number of steps`);
  return { doc, text, name: typeof name === 'string' ? name : path.basename(config).replace(/\.ya?ml$/, ''),
    seed: num(doc.get('seed'), schema.properties.seed.default) ?? 0, maxSteps: steps };
}

/**
 * The config of one run, written next to the original so that its relative paths (model, data, rule
 * modules) resolve as they do there; removed once the run has ended (the run folder keeps the
 * resolved copy; the trainer deletes it once read, so a killed compare leaves none). Hidden, and named
 * after this process, so parallel compares do not collide.
 */
function writeRunConfig(base: BaseConfig, config: string, estimator: string, seed: number): string {
  const doc = base.doc.clone();
  doc.set('name', `${base.name}-${estimator}-s${seed}`);
  doc.set('seed', seed);
  doc.setIn(['algorithm', 'estimator'], estimator);
  doc.setIn(['train', 'max_steps'], base.maxSteps);
  const file = path.join(path.dirname(config), `.rlhf-compare-${process.pid}-${estimator}-s${seed}.yaml`);
  // the note goes last: lines keep their numbers, so the trainer's `file:line` messages point into the original
  fs.writeFileSync(file, `${doc.toString()}# written by rlhf compare from ${path.basename(config)}; removed when the run ends\n`);
  return file;
}

/** Seconds for the whole plan: the trainer's start plus its steps, per run; `stepSeconds` from a measurement. */
export function estimateSeconds(runs: number, steps: number, parallel: number, stepSeconds = ESTIMATE.stepSeconds): number {
  const perRun = ESTIMATE.startSeconds + steps * stepSeconds;
  return Math.ceil(runs / Math.max(1, parallel)) * perRun;
}
/**
 * The trainer's start and one step of the lengthgame example, measured on 2 CPU cores shared with
 * other work (load 4-6: 8 runs of 60 steps in 13.5 min, docs/compare.md); after each run the lines
 * say what is left from the runs' measured time instead.
 */
const ESTIMATE = { startSeconds: 15, stepSeconds: 1.3 };

// ---- running -------------------------------------------------------------------------------

export async function runCompare(o: CompareOptions): Promise<CompareResult> {
  const t0 = Date.now();
  const say = o.onLine ?? (() => undefined);
  const config = path.resolve(o.config);
  const base = readBase(config, o.layout.schemasDir, o.maxSteps);
  const seeds = Array.from({ length: o.seeds }, (_, i) => base.seed + i);
  const jobs = planJobs(o.estimators, seeds);
  const parallel = Math.max(1, Math.min(o.parallel ?? 1, jobs.length));
  say(`${jobs.length} runs (${o.estimators.join(', ')} x seeds ${seeds.join(', ')}), ${base.maxSteps} steps each, ` +
    `${parallel} at a time; estimate ${formatDuration(estimateSeconds(jobs.length, base.maxSteps, parallel))}`);
  const launch = await checkFirst(o, base, config, say);
  fs.mkdirSync(o.outDir, { recursive: true });

  const runs: CompareRun[] = jobs.map((j) => ({ estimator: j.estimator, seed: j.seed, runDir: null, model: new RunModel() }));
  const live = new Map<number, TrainerHandle>();
  const onAbort = () => {
    say('stopping: the runs in flight finish their step and checkpoint; no more runs start');
    for (const h of live.values()) void stopRun(h.runDir, h, 30_000, undefined, 'rlhf compare (stopped)');
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  const durations: number[] = [];
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !o.signal?.aborted) {
      const job = jobs[next++];
      const started = Date.now();
      await runOne(o, launch, base, config, job, jobs.length, runs[job.index], live, say);
      durations.push((Date.now() - started) / 1000);
      const left = jobs.length - next + live.size;
      if (left > 0 && !o.signal?.aborted) {
        const avg = durations.reduce((a, b) => a + b, 0) / durations.length;
        say(`about ${formatDuration(Math.ceil(left / parallel) * avg)} left (${left} run${left === 1 ? '' : 's'})`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  const ran = runs.filter((r) => r.runDir !== null);
  const claims = evaluateClaims(ran);
  const reportPath = writeReport(o.reportDir ?? o.outDir, ran, claims, { config, name: base.name, maxSteps: base.maxSteps, cancelled: !!o.signal?.aborted });
  return { runs: ran, reportPath, claims, cancelled: !!o.signal?.aborted, seconds: (Date.now() - t0) / 1000 };
}

interface Launch { python: string; node: NodeCommand }

/**
 * The interpreter's probe, then the trainer's validate once per estimator, before anything runs: a
 * config that cannot train one of them fails at once, and the runs start without validating again
 * (the seed is the only other difference, and no check depends on it).
 */
async function checkFirst(o: CompareOptions, base: BaseConfig, config: string, say: (l: string) => void): Promise<Launch> {
  const python = typeof o.python === 'string' ? o.python : o.python.path;
  // each check takes a Python start (seconds): each is said as it begins, so the compare is never silent
  say(`checking ${python}…`);
  const probe = await probeBeforeTorch(python, typeof o.python === 'string' ? undefined : o.python.origin);
  if (!probe.ok) throw new CompareError(`${probe.problem ?? 'Python is not usable'}${probe.fix ? `; fix: ${probe.fix}` : ''}`);
  const node = chooseNode({ setting: o.nodePath });
  for (const [i, estimator] of o.estimators.entries()) {
    say(`checking ${path.basename(config)} with estimator ${estimator} (${i + 1}/${o.estimators.length})…`);
    const file = writeRunConfig(base, config, estimator, base.seed);
    try {
      await validateConfig(python, o.layout, file, node);
    } catch (e) {
      const msg = (e as Error).message.replace(file, config);
      throw new CompareError(msg.includes(config) ? `estimator ${estimator}: ${msg}` : `${config} with estimator ${estimator}: ${msg}`);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }
  say(`config checked for ${o.estimators.join(', ')}`);
  return { python, node };
}

async function runOne(o: CompareOptions, launch: Launch, base: BaseConfig, config: string, job: Job, total: number, run: CompareRun,
  live: Map<number, TrainerHandle>, say: (l: string) => void): Promise<void> {
  const tag = `[${job.index + 1}/${total}] ${job.estimator} seed ${job.seed}`;
  const file = writeRunConfig(base, config, job.estimator, job.seed);
  let watcher: RunWatcher | undefined;
  try {
    const handle = launchTrainer({ python: launch.python, trainerDir: o.layout.trainerDir, schemasDir: o.layout.schemasDir, config: file,
      runDir: createRunDir(o.outDir, `${base.name}-${job.estimator}-s${job.seed}`), rewardWorker: o.layout.rewardWorker,
      env: layoutEnv(o.layout, launch.node), ownedByParent: true });
    handle.child.ref(); // a headless compare waits for its trainers
    live.set(job.index, handle);
    if (o.signal?.aborted) void stopRun(handle.runDir, handle, 30_000, undefined, 'rlhf compare (stopped)');
    run.runDir = handle.runDir;
    say(`${tag}: ${path.basename(handle.runDir)} (pid ${handle.pid})`);
    watcher = new RunWatcher(handle.runDir);
    run.model = watcher.model;
    let lastShown = 0;
    watcher.onEvents(() => {
      const m = watcher!.model;
      const every = Math.max(1, Math.round((m.totalSteps ?? base.maxSteps) / 6));
      if (m.step >= lastShown + every) { lastShown = m.step; say(`${tag}: ${progressLine(m)}`); }
    });
    watcher.start(500);
    await handle.exited;
    live.delete(job.index);
    watcher.poll();
    const m = watcher.model;
    if (m.state !== 'completed') run.problem = `${m.state}${m.error ? `: ${m.error}` : ''} at step ${m.step}`;
    say(`${tag}: ${m.state} at step ${m.step}; ${progressLine(m)}`);
  } finally {
    watcher?.dispose();
    fs.rmSync(file, { force: true });
  }
}

const fmt = (v: number | null | undefined, d = 3): string => formatNumber(v, d);

function progressLine(m: RunModel): string {
  const last = (k: string) => m.metrics.last(k);
  return `step ${m.step}/${m.totalSteps ?? '?'}  reward ${fmt(last('reward_mean'))}  length ${fmt(last('response_length_mean'), 2)}  kl ${fmt(last('kl'), 4)}`;
}

// ---- what the runs show (pure) -------------------------------------------------------------

export interface RunStats {
  steps: number;
  rewardStart: number | null; rewardEnd: number | null;
  lengthStart: number | null; lengthEnd: number | null;
  /** (lengthEnd - lengthStart) / lengthStart */
  lengthGrowth: number | null;
  /** The last value of the cumulative-KL axis (the dashboard's definition). */
  cumulativeKl: number;
  /** (rewardEnd - rewardStart) / cumulativeKl; null without KL. */
  rewardPerKl: number | null;
}

/** The share of a run's first and last steps averaged for its start and end values (one noisy step is not the run). */
export const WINDOW = 0.1;
/** Fewer logged steps than this is not enough to speak of growth. */
export const MIN_STEPS = 10;

function windowMean(col: (number | null)[] | undefined, fromEnd: boolean): number | null {
  if (!col?.length) return null;
  const n = Math.max(1, Math.round(col.length * WINDOW));
  const vals = (fromEnd ? col.slice(-n) : col.slice(0, n)).filter((v): v is number => v !== null && Number.isFinite(v));
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
}

/** A run's series on the dashboard's axes (the same cumulative-KL definition, the same smoothing). */
function dashboardOf(m: RunModel, smoothing = 0): DashboardData {
  const d = new DashboardData();
  d.setSmoothing(smoothing);
  const empty: SeriesChunk = { step: [], samples: [], time: [], values: {} };
  d.reset(m.metrics.slice(), empty);
  return d;
}

export function runStats(m: RunModel): RunStats {
  const v = m.metrics.values;
  const rewardStart = windowMean(v.reward_mean, false), rewardEnd = windowMean(v.reward_mean, true);
  const lengthStart = windowMean(v.response_length_mean, false), lengthEnd = windowMean(v.response_length_mean, true);
  const kl = dashboardOf(m).x('kl');
  const cumulativeKl = kl.length ? kl[kl.length - 1] : 0;
  return {
    steps: m.metrics.length, rewardStart, rewardEnd, lengthStart, lengthEnd,
    lengthGrowth: lengthStart && lengthEnd !== null ? (lengthEnd - lengthStart) / lengthStart : null,
    cumulativeKl,
    rewardPerKl: cumulativeKl > 1e-9 && rewardStart !== null && rewardEnd !== null ? (rewardEnd - rewardStart) / cumulativeKl : null,
  };
}

export type Verdict = 'held' | 'did not hold' | 'cannot tell' | 'not enough data';
export interface Claim {
  id: 'length' | 'reward_per_kl' | 'stability'; claim: string; verdict: Verdict; shows: string;
  /** With 'cannot tell': why ("12 steps, 1 seed: need at least 50 steps and 2 seeds per estimator"). */
  why?: string;
}

/** The verdict as the report and the CLI print it: "cannot tell (12 steps, 1 seed: need at least …)". */
export const verdictText = (c: Claim): string => (c.why ? `${c.verdict} (${c.why})` : c.verdict);

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

/** GRPO "grows" when its response length ends this much above its start; REINFORCE++ is "stable" when it grows less than half as much. */
export const LENGTH_GROWTH = 0.1;

/**
 * The rule for telling (docs/compare.md): a verdict needs every compared run to have at least TELL_STEPS
 * logged steps (so the start and end windows, 10% each, average 5 steps or more) and every compared
 * estimator at least TELL_SEEDS seeds (one seed has no seed-to-seed spread to set a difference against).
 * Then a difference counts only when it is more than TELL_SE standard errors of the difference (Welch:
 * sqrt(s_a^2/n_a + s_b^2/n_b) over the per-seed values); within that it is "cannot tell". The stability
 * claim compares spreads themselves: one must be more than STABILITY_RATIO times the other.
 */
export const TELL_STEPS = 50;
export const TELL_SEEDS = 2;
export const TELL_SE = 2;
export const STABILITY_RATIO = 2;

interface EstimatorStats { estimator: string; runs: RunStats[] }

function byEstimator(runs: { estimator: string; model: RunModel }[]): Map<string, EstimatorStats> {
  const out = new Map<string, EstimatorStats>();
  for (const r of runs) {
    const s = runStats(r.model);
    if (s.steps < MIN_STEPS) continue;
    const e = out.get(r.estimator) ?? { estimator: r.estimator, runs: [] };
    e.runs.push(s);
    out.set(r.estimator, e);
  }
  return out;
}

/** The paper's method among the runs: REINFORCE++, else REINFORCE++-baseline. */
function paperMethod(by: Map<string, EstimatorStats>): EstimatorStats | undefined {
  return by.get('reinforce_pp') ?? by.get('reinforce_pp_baseline');
}

const values = (e: EstimatorStats, f: (s: RunStats) => number | null): number[] => e.runs.map(f).filter((v): v is number => v !== null);
const avg = (e: EstimatorStats, f: (s: RunStats) => number | null): number | null => {
  const xs = values(e, f);
  return xs.length ? mean(xs) : null;
};
const pct = (v: number | null): string => (v === null ? '--' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(0)}%`);
const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

/** Why the compared estimators' runs are too few or too short for any verdict, or undefined when they are enough. */
export function cannotTell(compared: EstimatorStats[], seeds = TELL_SEEDS): string | undefined {
  const steps = Math.min(...compared.flatMap((e) => e.runs.map((s) => s.steps)));
  const fewest = Math.min(...compared.map((e) => e.runs.length));
  if (steps >= TELL_STEPS && fewest >= seeds) return undefined;
  return `${plural(steps, 'step')}, ${plural(fewest, 'seed')}: need at least ${TELL_STEPS} steps per run and ${seeds} seeds per estimator`;
}

type Side = 'above' | 'below' | 'within';
/** Whether `diff` (a difference of per-seed means) is clearly above 0, clearly below, or within TELL_SE standard errors `se`. */
const side = (diff: number, se: number): Side => (diff > TELL_SE * se ? 'above' : diff < -TELL_SE * se ? 'below' : 'within');
/** The squared standard error of k * mean(xs). */
const se2 = (xs: number[], k = 1): number => (xs.length > 1 ? (k * std(xs)) ** 2 / xs.length : 0);

/**
 * The paper's claims, each with what these runs show. Runs with fewer than MIN_STEPS logged steps do
 * not count; a verdict needs TELL_STEPS steps and TELL_SEEDS seeds, and a difference beyond the
 * seed-to-seed spread (cannotTell, side). Pure: the report and the tests call it on RunModels.
 */
export function evaluateClaims(runs: { estimator: string; model: RunModel }[]): Claim[] {
  const by = byEstimator(runs);
  const p = paperMethod(by);
  return [lengthClaim(by, p), rewardPerKlClaim(by, p), stabilityClaim(by, p)];
}

function lengthClaim(by: Map<string, EstimatorStats>, p: EstimatorStats | undefined): Claim {
  const claim = 'REINFORCE++ keeps the response length stable where GRPO\'s grows (Figure 1: length hacking).';
  const grpo = by.get('grpo');
  const shows = [...by.values()].map((e) => `${e.estimator} ${fmt(avg(e, (s) => s.lengthStart), 2)} -> ${fmt(avg(e, (s) => s.lengthEnd), 2)} (${pct(avg(e, (s) => s.lengthGrowth))})`).join('; ');
  const gp = p && avg(p, (s) => s.lengthGrowth), gg = grpo && avg(grpo, (s) => s.lengthGrowth);
  if (!p || !grpo || gp === null || gp === undefined || gg === null || gg === undefined) {
    return { id: 'length', claim, verdict: 'not enough data', shows: `needs runs of reinforce_pp (or reinforce_pp_baseline) and grpo with at least ${MIN_STEPS} steps. ${shows}` };
  }
  const detail = `Start -> end (mean of the first and last ${WINDOW * 100}% of steps): ${shows}`;
  const why = cannotTell([p, grpo]);
  if (why) return { id: 'length', claim, verdict: 'cannot tell', why, shows: `GRPO's length grew ${pct(gg)}, ${p.estimator}'s ${pct(gp)}. ${detail}` };
  const g = values(grpo, (s) => s.lengthGrowth), q = values(p, (s) => s.lengthGrowth);
  const grew = side(gg - LENGTH_GROWTH, Math.sqrt(se2(g)));
  const half = side(gg / 2 - gp, Math.sqrt(se2(g, 0.5) + se2(q)));
  const verdict: Verdict = grew === 'below' || half === 'below' ? 'did not hold' : grew === 'above' && half === 'above' ? 'held' : 'cannot tell';
  const text = grew === 'below' ? `GRPO's length grew ${pct(gg)}, under the ${pct(LENGTH_GROWTH)} that counts as growth`
    : half === 'below' ? `${p.estimator}'s length grew ${pct(gp)}, not less than half of GRPO's ${pct(gg)}`
      : verdict === 'held' ? `GRPO's length grew ${pct(gg)}, ${p.estimator}'s ${pct(gp)} (less than half)`
        : `GRPO's length grew ${pct(gg)}, ${p.estimator}'s ${pct(gp)}: the difference is within the seed-to-seed spread`;
  return { id: 'length', claim, verdict, ...(verdict === 'cannot tell' ? { why: `within ${TELL_SE} standard errors of the seed-to-seed spread` } : {}), shows: `${text}. ${detail}` };
}

function rewardPerKlClaim(by: Map<string, EstimatorStats>, p: EstimatorStats | undefined): Claim {
  const claim = 'REINFORCE++ gains more reward per unit of KL from the reference than the other estimators (Figure 3).';
  const ratio = (e: EstimatorStats) => avg(e, (s) => s.rewardPerKl);
  const shows = [...by.values()].map((e) => `${e.estimator} ${fmt(avg(e, (s) => s.rewardEnd !== null && s.rewardStart !== null ? s.rewardEnd - s.rewardStart : null))} reward over cumulative KL ${fmt(avg(e, (s) => s.cumulativeKl), 4)} = ${fmt(ratio(e))}`).join('; ');
  const others = [...by.values()].filter((e) => e !== p);
  if (!p || !others.length || ratio(p) === null || others.some((e) => ratio(e) === null)) {
    return { id: 'reward_per_kl', claim, verdict: 'not enough data', shows: `needs reinforce_pp and another estimator, each with a logged kl above 0 (algorithm.kl.coef > 0). ${shows}` };
  }
  const best = others.reduce((a, b) => (ratio(a)! >= ratio(b)! ? a : b));
  const cant = cannotTell([p, ...others]);
  if (cant) return { id: 'reward_per_kl', claim, verdict: 'cannot tell', why: cant, shows: `${p.estimator} ${fmt(ratio(p))} reward per unit KL, the best other (${best.estimator}) ${fmt(ratio(best))}. ${shows}` };
  const rp = values(p, (s) => s.rewardPerKl), rb = values(best, (s) => s.rewardPerKl);
  // a loss divided by a large KL is "less negative": without a gain there is no reward per KL to win on
  const gained = side(ratio(p)!, Math.sqrt(se2(rp)));
  const beats = side(ratio(p)! - ratio(best)!, Math.sqrt(se2(rp) + se2(rb)));
  const verdict: Verdict = gained === 'below' || beats === 'below' ? 'did not hold' : gained === 'above' && beats === 'above' ? 'held' : 'cannot tell';
  const why = gained === 'below' ? `${p.estimator} gained no reward (${fmt(ratio(p))} per unit KL)`
    : `${p.estimator} ${fmt(ratio(p))} reward per unit KL, the best other (${best.estimator}) ${fmt(ratio(best))}` +
      (verdict === 'cannot tell' ? ': the difference is within the seed-to-seed spread' : '');
  return { id: 'reward_per_kl', claim, verdict, ...(verdict === 'cannot tell' ? { why: `within ${TELL_SE} standard errors of the seed-to-seed spread` } : {}), shows: `${why}. ${shows}` };
}

function stabilityClaim(by: Map<string, EstimatorStats>, p: EstimatorStats | undefined): Claim {
  const claim = 'REINFORCE++ is more stable: its final reward varies less across seeds than the other estimators\'.';
  const spread = (e: EstimatorStats) => {
    const ends = values(e, (s) => s.rewardEnd);
    return ends.length >= 2 ? std(ends) : null;
  };
  const shows = [...by.values()].map((e) => `${e.estimator} ${spread(e) === null ? `-- (${e.runs.length} seed)` : `${fmt(spread(e), 4)} over ${e.runs.length} seeds`}`).join('; ');
  const others = [...by.values()].filter((e) => e !== p);
  if (!p || !others.length) {
    return { id: 'stability', claim, verdict: 'not enough data', shows: `needs runs of reinforce_pp and another estimator. Std of the final reward: ${shows}` };
  }
  const cant = cannotTell([p, ...others]);
  if (cant) return { id: 'stability', claim, verdict: 'cannot tell', why: cant, shows: `std of the final reward across seeds: ${shows}` };
  const sp = spread(p)!;
  // spreads from a few seeds are rough: one counts as smaller only when the other is STABILITY_RATIO times it
  const held = others.every((e) => spread(e)! > STABILITY_RATIO * sp);
  const lost = others.some((e) => sp > STABILITY_RATIO * spread(e)!);
  const verdict: Verdict = held ? 'held' : lost ? 'did not hold' : 'cannot tell';
  return { id: 'stability', claim, verdict, ...(verdict === 'cannot tell' ? { why: `no spread is ${STABILITY_RATIO}x another's` } : {}),
    shows: `std of the final reward across seeds: ${shows}` };
}

// ---- the report ----------------------------------------------------------------------------

/** One colour per estimator, the paper's method first; readable on light and dark backgrounds. */
const COLOURS = ['#1f77b4', '#2ca02c', '#d62728', '#ff7f0e', '#9467bd', '#8c564b'];
const colourOf = (estimator: string): string => COLOURS[Math.max(0, (ESTIMATORS as readonly string[]).indexOf(estimator)) % COLOURS.length];

/** The smoothing of the report's lines (the dashboard's EMA weight; the KL axis itself is never smoothed). */
const SMOOTHING = 0.6;

interface Figure { file: string; title: string; xTitle: string; yTitle: string; axis: XAxis; key: string }
const FIGURES: Figure[] = [
  { file: 'reward.svg', title: 'Reward (Figure 1)', xTitle: 'step', yTitle: 'reward', axis: 'step', key: 'reward' },
  { file: 'response_length.svg', title: 'Response length (Figure 1)', xTitle: 'step', yTitle: 'tokens', axis: 'step', key: 'response_length' },
  { file: 'kl.svg', title: 'KL (Figure 1)', xTitle: 'step', yTitle: 'KL', axis: 'step', key: 'kl' },
  { file: 'reward_vs_kl.svg', title: 'Reward against cumulative KL (Figure 3)', xTitle: 'cumulative KL', yTitle: 'reward', axis: 'kl', key: 'reward' },
];

/**
 * One chart of every run's line on a shared x column: the union of the runs' x values, each run null
 * where it has no point (the SVG draws across nulls), so runs with different x (cumulative KL) share it.
 */
function figureSvg(f: Figure, runs: CompareRun[], dashboards: DashboardData[]): string {
  const panel = PANELS.find((p) => p.key === f.key)!;
  const lines = dashboards.map((d) => {
    const c = d.columns(panel, f.axis);
    return { x: Array.from(c.x), y: c.lines[0].y };
  });
  const xs = [...new Set(lines.flatMap((l) => l.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const cols = lines.map((l) => {
    const col: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    l.x.forEach((x, i) => { col[at.get(x)!] = l.y[i] ?? null; });
    return col;
  });
  const series: SvgSeries[] = runs.map((r) => ({ label: `${r.estimator} seed ${r.seed}`, color: colourOf(r.estimator), width: 1.5 }));
  const svg = chartSvg({ title: f.title, xTitle: f.xTitle, yTitle: f.yTitle, width: 640, height: 300,
    xRange: xs.length ? [xs[0], xs[xs.length - 1]] : [0, 1], yLog: false, columns: [xs, ...cols], series });
  return svg.replace('</svg>', `${legend(runs)}</svg>`);
}

/** A legend on the title row, right-aligned: one swatch per estimator. */
function legend(runs: CompareRun[]): string {
  const names = [...new Set(runs.map((r) => r.estimator))];
  let x = 630;
  return names.reverse().map((n) => {
    x -= n.length * 6.5 + 22;
    return `<rect x="${x}" y="8" width="12" height="3" fill="${colourOf(n)}"/><text x="${x + 16}" y="14">${n}</text>`;
  }).join('') + '\n';
}

export function writeReport(outDir: string, runs: CompareRun[], claims: Claim[], meta: { config: string; name?: string; maxSteps: number; cancelled: boolean }): string {
  const figDir = path.join(outDir, 'figures');
  fs.mkdirSync(figDir, { recursive: true });
  const withData = runs.filter((r) => r.model.metrics.length > 0);
  const dashboards = withData.map((r) => dashboardOf(r.model, SMOOTHING)); // one per run, for every figure
  for (const f of FIGURES) fs.writeFileSync(path.join(figDir, f.file), figureSvg(f, withData, dashboards));
  const rel = (p: string) => path.relative(outDir, p) || '.';
  const rows = runs.map((r) => {
    const s = runStats(r.model);
    return `| ${r.estimator} | ${r.seed} | ${r.runDir ? rel(r.runDir) : '--'} | ${s.steps} | ${fmt(s.rewardStart)} -> ${fmt(s.rewardEnd)} | ` +
      `${fmt(s.lengthStart, 2)} -> ${fmt(s.lengthEnd, 2)} | ${fmt(s.cumulativeKl, 4)} | ${r.problem ?? 'completed'} |`;
  });
  const md = `# Compare estimators: ${meta.name ?? path.basename(meta.config)}

${meta.cancelled ? '**Stopped before every run finished: the report covers the runs below.**\n\n' : ''}Config: \`${meta.config}\`, ${meta.maxSteps} steps per run; each run is a run folder here (open them in the Runs view or the dashboard).
Start and end values are the means of a run's first and last ${WINDOW * 100}% of steps; cumulative KL is the running sum of the per-step \`kl\` metric (negative steps add 0), the dashboard's KL axis.

## The paper's claims and what these runs show

A verdict needs at least ${TELL_STEPS} logged steps per run and ${TELL_SEEDS} seeds per estimator compared; then a difference counts only beyond ${TELL_SE} standard errors of the seed-to-seed spread (a spread only when ${STABILITY_RATIO}x another), else the verdict is **cannot tell**.

| claim | verdict | what these runs show |
|---|---|---|
${claims.map((c) => `| ${c.claim} | **${c.verdict}**${c.why ? ` (${c.why})` : ''} | ${c.shows.replace(/\|/g, '\\|')} |`).join('\n')}

## Figure 1: reward, response length and KL per step

Lines are smoothed (EMA ${SMOOTHING}); one line per run, one colour per estimator.

![reward](figures/reward.svg)

![response length](figures/response_length.svg)

![KL](figures/kl.svg)

## Figure 3: reward against cumulative KL

Higher and further left is more reward for less drift from the reference.

![reward against cumulative KL](figures/reward_vs_kl.svg)

## Runs

| estimator | seed | run folder | steps | reward | response length | cumulative KL | end |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
  const file = path.join(outDir, 'report.md');
  fs.writeFileSync(file, md);
  return file;
}

// ---- rlhf compare ---------------------------------------------------------------------------

export interface CompareCliOptions extends Omit<CompareOptions, 'onLine' | 'signal'> { out: NodeJS.WritableStream; err: NodeJS.WritableStream }

/**
 * `rlhf compare`: progress lines, Ctrl-C stops the run in flight cleanly and still writes the report
 * (a second Ctrl-C is left to the default: exit). Exit 0 when every run completed, 1 when one did not
 * or it was stopped, 2 for a config that cannot run.
 */
export async function compareCli(o: CompareCliOptions): Promise<number> {
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const r = await runCompare({ ...o, signal: abort.signal, onLine: (l) => o.out.write(`${l}\n`) });
    o.out.write(`\n${r.claims.map((c) => `${verdictText(c)}\n                ${c.claim}\n                ${c.shows}`).join('\n')}\n`);
    o.out.write(`report: ${r.reportPath} (${r.runs.length} runs in ${formatDuration(r.seconds)})\n`);
    return r.cancelled || r.runs.some((x) => x.problem) ? 1 : 0;
  } catch (e) {
    if (!(e instanceof CompareError)) throw e;
    o.err.write(`rlhf compare: ${e.message}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
