// npm run bench:latency — not a test: the latency budget of issue #22, measured through the same core code
// the extension runs (src/core/training startTraining as the editor's ▷ calls it, runStore's listing as the
// Runs view lists, quickCheck as the editor checks an edit, compare as Compare Estimators runs), on the
// embedded example (examples/arithmetic, its model built). Prints, for each budget, measured / budget = ratio.
//   1. ▷ → run row: startTraining(checks 'in-trainer') until listRunsAsync lists the run (live, 'starting');
//      the first ▷ of a session (the interpreter's probe not yet remembered) and a later one.
//   2. ▷ → first chart point: until events.jsonl holds the first point a chart draws (eval at step 0, or the
//      first metrics), and the first metrics line (the reward chart).
//   3. Config edit → diagnostics: the editor's delay after an edit plus the check without Python (schema and
//      batch arithmetic), median of 50 edits; and the trainer's validate of the same text, cold and answered
//      from the cache (same text, unchanged model folder).
//   4. Compare: the time to its first progress line, and to the first line naming the config being checked.
//   `--only edit` / `--only compare`: that part alone.
//   Also, for comparison, the old ▷ (checks 'first': probe + validate before the folder exists).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { runCompare } from '../../src/core/compare';
import { trainerValidate } from '../../src/core/configCheck';
import { stopRun, type TrainerHandle } from '../../src/core/launcher';
import { ConfigSchemas } from '../../src/core/rewardModel';
import { factsKey, positionProblems, quickProblems, ValidationCache } from '../../src/core/quickCheck';
import { listRunsAsync } from '../../src/core/run/runStore';
import { installLayout, startTraining } from '../../src/core/training';
import { readEvents } from '../../src/core/run/events';
import type { TrainerEvent } from '../../src/core/protocol';
import { until } from '../../test/helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = process.env.RLHF_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const layout = installLayout(ROOT);
/** The extension's delay after an edit before the checks without Python run (src/extension/configValidation.ts QUICK_DELAY_MS). */
const QUICK_DELAY_MS = 150;

const BUDGET = { row: 1000, chart: 5000, edit: 1500, compare: 1000 };

const rows: string[] = [];
function report(what: string, ms: number, budget: number): void {
  const line = `${what}: ${Math.round(ms)} ms / ${budget} ms = ${(ms / budget).toFixed(2)}${ms <= budget ? '' : '  (over budget)'}`;
  rows.push(line);
  console.log(line);
}
const info = (what: string, ms: number): void => { console.log(`  ${what}: ${Math.round(ms)} ms`); };

/** The example's config with absolute paths, in a workspace of its own; `edit` changes the parsed config. */
function workspace(edit: (cfg: Record<string, Record<string, unknown>>) => void = () => undefined): { ws: string; config: string; runs: string } {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-latency-'));
  const cfg = YAML.parse(fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>; // not a run-folder name: the example's config
  cfg.model.policy = path.join(EX, 'model');
  cfg.data.prompts = path.join(EX, 'data', 'train.jsonl');
  cfg.data.eval_prompts = path.join(EX, 'data', 'eval.jsonl');
  cfg.train.max_steps = 3;
  cfg.checkpoint.every_steps = null;
  edit(cfg);
  const config = path.join(ws, 'config.yaml'); // not a run-folder name: the example's config
  fs.writeFileSync(config, YAML.stringify(cfg));
  return { ws, config, runs: path.join(ws, 'runs') };
}

const TYPES = new Set(['run_started', 'progress', 'eval', 'metrics']);
/** The trainer's events so far (the chart's kinds and the progress lines that time its phases). */
const trainerEvents = (runDir: string) => readEvents(runDir, TYPES);

/** One ▷: ms to the run row, to the first chart point and to the first metrics line; the run is stopped after. */
async function start(label: string, checks: 'first' | 'in-trainer', measureChart: boolean): Promise<{ row: number; chart?: number; metrics?: number }> {
  const { config, runs } = workspace();
  const t0 = performance.now();
  const wall0 = Date.now();
  let rowAt: number | undefined;
  // the Runs view's listing, polled while the start runs (the extension also lists at once when the trainer is spawned)
  const listing = until('the run row', async () => {
    const found = (await listRunsAsync(runs)).find((r) => r.alive && (r.status?.state === 'starting' || r.status?.state === 'running'));
    return found ? (rowAt = performance.now() - t0) : undefined;
  }, 300_000, 5);
  const handle: TrainerHandle = await startTraining({ python: PY, layout, config, runsDir: runs, checks });
  await listing;
  const row = rowAt!;
  console.log(`${label}: run row after ${Math.round(row)} ms (the start resolved after ${Math.round(performance.now() - t0)} ms)`);
  let chart: number | undefined;
  let metrics: number | undefined;
  if (measureChart) {
    await until('the first metrics line', () => {
      const types = trainerEvents(handle.runDir).map((e) => e.type);
      if (chart === undefined && (types.includes('eval') || types.includes('metrics'))) chart = performance.now() - t0;
      if (types.includes('metrics')) metrics = performance.now() - t0;
      return metrics;
    }, 300_000, 10);
  }
  if (measureChart) {
    // where the trainer's part went: its own event times (wall clock) from the ▷
    const events = trainerEvents(handle.runDir);
    const logged = (message: string) => (e: TrainerEvent) => e.type === 'progress' && e.message === message;
    const at = (pick: (e: TrainerEvent) => boolean) => { const e = events.find(pick); return e ? `${Math.round(e.time * 1000 - wall0)} ms` : '–'; };
    console.log(`  trainer: run_started ${at((e) => e.type === 'run_started')}, models loaded ${at(logged('loading prompts and reward sources'))}, ready ${at(logged('ready'))}, eval at step 0 ${at((e) => e.type === 'eval')}, step 1 ${at((e) => e.type === 'metrics')}`);
  }
  await stopRun(handle.runDir, handle, 30_000);
  return { row, chart, metrics };
}

async function editBudget(): Promise<void> {
  const text = fs.readFileSync(path.join(EX, 'config.yaml'), 'utf8'); // not a run-folder name: the example's config
  const schema = new ConfigSchemas(layout.schemasDir).schemaFor(text);
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    // an edit that breaks the batch arithmetic (train.batch_size no longer divides the rollout's samples)
    const edited = text.replace(/^( {2}batch_size:) 64$/m, `$1 ${60 + (i % 3)}`);
    const t = performance.now();
    const found = quickProblems(edited, schema);
    times.push(performance.now() - t);
    if (!found.some((p) => p.field === 'train.batch_size')) throw new Error('the edit was not diagnosed');
  }
  times.sort((a, b) => a - b);
  report('config edit → diagnostics (batch rules, schema; no Python)', QUICK_DELAY_MS + times[25], BUDGET.edit);
  info(`of which the check itself (median of 50)`, times[25]);
  // the trainer's validate (what needs the model: positions, tokenizer; paths, reward code): a Python start, once
  // per text; its model facts are kept per model folder and prompt files
  const { config } = workspace();
  const valid = fs.readFileSync(config, 'utf8');
  const cache = new ValidationCache<Awaited<ReturnType<typeof trainerValidate>>>();
  let t = performance.now();
  const answer = await trainerValidate(PY, layout, config, { runsDir: path.dirname(config), facts: true });
  cache.set(cache.key(config, valid), answer);
  info('the trainer\'s validate of a text (after typing stops: +1500 ms; a Python start)', performance.now() - t);
  if (!answer.facts) throw new Error('validate printed no facts');
  const facts = new Map([[factsKey(valid, config), answer.facts]]);
  // an edit the model decides: max_new_tokens beyond the model's positions, checked from the kept facts
  const pTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const edited = valid.replace(/^( {2}max_new_tokens:) \d+$/m, `$1 ${60 + (i % 3)}`);
    const t1 = performance.now();
    const kept = facts.get(factsKey(edited, config));
    const found = kept ? [...quickProblems(edited, schema), ...positionProblems(edited, schema, kept)] : [];
    pTimes.push(performance.now() - t1);
    if (!found.some((p) => p.field === 'rollout.max_new_tokens')) throw new Error('the length edit was not diagnosed');
  }
  pTimes.sort((a, b) => a - b);
  report('config edit → diagnostics (prompt length vs the model\'s positions, from kept model facts; no Python)', QUICK_DELAY_MS + pTimes[25], BUDGET.edit);
  info('of which the check itself (median of 50)', pTimes[25]);
  t = performance.now();
  if (!cache.get(cache.key(config, valid))) throw new Error('not cached');
  report('config edit → diagnostics, the trainer\'s answer for a text already checked against an unchanged model folder', performance.now() - t, BUDGET.edit);
}

async function compareBudget(): Promise<void> {
  // n_samples_per_prompt 4: the estimators that compare samples of a prompt need 2 or more
  const { config, runs } = workspace((cfg) => { cfg.rollout.n_samples_per_prompt = 4; });
  const abort = new AbortController();
  const t0 = performance.now();
  let first: number | undefined;
  let checking: number | undefined;
  const done = runCompare({ python: PY, layout, config, outDir: runs, estimators: ['reinforce_pp', 'grpo'], seeds: 1, maxSteps: 2, signal: abort.signal,
    onLine: (line) => {
      const at = performance.now() - t0;
      first ??= at;
      if (checking === undefined && /^checking .* with estimator/.test(line)) checking = at;
      console.log(`  compare +${Math.round(at)} ms: ${line}`);
      if (/^config checked/.test(line)) abort.abort(); // the checks are what this measures: no run starts
    } });
  await done;
  report('Compare → first progress line', first!, BUDGET.compare);
  report('Compare → first line naming the config being checked', checking!, BUDGET.compare);
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(EX, 'model', 'config.json'))) throw new Error(`${EX}/model is not built: rlhf train examples/arithmetic/config.yaml once (or python -m rlhf_trainer.bootstrap model ${EX}/model)`);
  if (!fs.existsSync(layout.rewardWorker)) throw new Error('dist/ is not built: node esbuild.mjs');
  let load = '';
  try { load = execFileSync('uptime', { encoding: 'utf8' }).trim(); } catch { /* no uptime */ }
  console.log(`latency budget (issue #22), ${new Date().toISOString()}, ${os.cpus().length} CPUs; ${load}`);
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  if (only === 'edit') { await editBudget(); return; }
  if (only === 'compare') { await compareBudget(); return; }
  if (only === 'start') {
    for (let i = 0; i < 3; i++) { const r = await start(`▷ ${i + 1}`, 'in-trainer', true); report(`▷ ${i + 1} → first chart point`, r.chart!, BUDGET.chart); }
    return;
  }
  const before = await start('old ▷ (probe + validate, then the folder)', 'first', true);
  const cold = await start('▷, first of a session (probe not yet remembered)', 'in-trainer', true);
  const warm = await start('▷, a later one', 'in-trainer', true);
  console.log('');
  report('▷ → run row (first ▷ of a session)', cold.row, BUDGET.row);
  report('▷ → run row (later ▷)', warm.row, BUDGET.row);
  report('▷ → first chart point (first ▷ of a session)', cold.chart!, BUDGET.chart);
  report('▷ → first chart point (later ▷)', warm.chart!, BUDGET.chart);
  info('▷ → first metrics line (later ▷)', warm.metrics!);
  info('old ▷ → run row', before.row);
  info('old ▷ → first chart point', before.chart!);
  info('old ▷ → first metrics line', before.metrics!);
  await editBudget().catch((e: unknown) => console.error(`config edit part failed: ${String(e)}`));
  await compareBudget().catch((e: unknown) => console.error(`compare part failed: ${String(e)}`));
  let after = '';
  try { after = execFileSync('uptime', { encoding: 'utf8' }).trim(); } catch { /* no uptime */ }
  console.log(`\nsummary (at the start: ${load}; at the end: ${after}):`);
  for (const r of rows) console.log(`  ${r}`);
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
