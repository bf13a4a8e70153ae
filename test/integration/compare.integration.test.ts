// Integration: `rlhf compare` drives the real trainer (project .venv) on a copy of the lengthgame
// example with a briefly warm-started model: run folders, report.md, SVGs that parse as XML, and a
// Ctrl-C that stops the run in flight and still writes the report.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { tempDir, until } from '../helpers';
import { runProcesses } from '../../src/core/run/runStore';

// sax is the strict XML parser already in node_modules (via @vscode/vsce's xml2js); strict mode throws on any malformed XML
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sax = require('sax') as { parser(strict: boolean): { onerror: (e: Error) => void; onopentag: (t: { name: string }) => void; write(s: string): { close(): void } } };

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EX = path.join(ROOT, 'examples', 'lengthgame');

/** The example's committed files in a temp folder, with its own model built by the bootstrap (a short warm start). */
function exampleCopy(): string {
  const dir = tempDir('compare');
  const ex = path.join(dir, 'ex');
  fs.mkdirSync(ex);
  for (const f of ['config.yaml', 'verbosity.reward.js', 'data']) fs.cpSync(path.join(EX, f), path.join(ex, f), { recursive: true });
  const built = spawnSync(PY, ['-m', 'rlhf_trainer.bootstrap', 'model', path.join(ex, 'model'), '--task', 'lengthgame', '--steps', '20'],
    { cwd: path.join(ROOT, 'trainer'), encoding: 'utf8', timeout: 300_000 });
  assert.equal(built.status, 0, `bootstrap failed: ${built.stderr}`);
  return ex;
}

function compare(args: string[]): ChildProcess & { output: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'compare', ...args], { cwd: ROOT, env: { ...process.env, RLHF_PYTHON: PY }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return Object.assign(child, { output: () => out, done });
}

/** The root element names of an SVG; throws when it is not well-formed XML. */
function parseXml(text: string): string[] {
  const names: string[] = [];
  const p = sax.parser(true);
  p.onerror = (e) => { throw e; };
  p.onopentag = (t) => names.push(t.name);
  p.write(text).close();
  return names;
}

/** The run folders in `out` (none while it does not exist yet). */
const runDirsOf = (out: string): string[] => (fs.existsSync(out) ? fs.readdirSync(out) : []).map((n) => path.join(out, n))
  .filter((d) => fs.existsSync(path.join(d, 'events.jsonl'))).sort();
const statusOf = (d: string): { state: string; step: number } => JSON.parse(fs.readFileSync(path.join(d, 'status.json'), 'utf8')) as { state: string; step: number };


test('rlhf compare: a run folder per estimator on the same seed, report.md with verdicts, SVG charts that parse', { timeout: 900_000 }, async () => {
  const ex = exampleCopy();
  const out = path.join(path.dirname(ex), 'out');
  const c = compare([path.join(ex, 'config.yaml'), '--estimators', 'reinforce_pp,grpo', '--seeds', '1', '--max-steps', '3', '-o', out]);
  assert.equal(await c.done, 0, c.output());
  assert.match(c.output(), /2 runs \(reinforce_pp, grpo x seeds 42\), 3 steps each, 1 at a time; estimate \d/);
  assert.match(c.output(), /\[2\/2\] grpo seed 42: completed at step 3/);

  const runs = runDirsOf(out);
  assert.equal(runs.length, 2);
  const configs = runs.map((d) => YAML.parse(fs.readFileSync(path.join(d, 'config.yaml'), 'utf8')) as { seed: number; algorithm: { estimator: string }; train: { max_steps: number } });
  assert.deepEqual(configs.map((k) => k.algorithm.estimator).sort(), ['grpo', 'reinforce_pp']);
  assert.deepEqual(configs.map((k) => k.seed), [42, 42]);
  for (const d of runs) assert.deepEqual(statusOf(d), { ...statusOf(d), state: 'completed', step: 3 });
  // the per-run configs written next to the original are gone
  assert.deepEqual(fs.readdirSync(ex).filter((f) => f.startsWith('.rlhf-compare')), []);

  const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  for (const claim of ['response length stable where GRPO', 'more reward per unit of KL', 'varies less across seeds']) assert.ok(report.includes(claim), claim);
  // 3 steps are fewer than a verdict needs, and one seed has no spread
  assert.equal(report.match(/\*\*not enough data\*\*/g)?.length, 3);
  assert.match(report, /\| reinforce_pp \| 42 \| \d{8}-\d{6}-lengthgame-reinforce_pp-s42 \| 3 \|/);
  for (const f of ['reward', 'response_length', 'kl', 'reward_vs_kl']) {
    assert.ok(report.includes(`(figures/${f}.svg)`), f);
    const names = parseXml(fs.readFileSync(path.join(out, 'figures', `${f}.svg`), 'utf8'));
    assert.equal(names[0], 'svg');
    assert.equal(names.filter((n) => n === 'polyline').length, 2, `${f}: a line per run`);
  }
  fs.rmSync(path.dirname(ex), { recursive: true, force: true });
});

/** A long compare on a copy of the example, sent `sig` once its first run has trained a step (or the wait failed). */
async function compareUntilFirstStep(estimators: string, sig: NodeJS.Signals) {
  const ex = exampleCopy();
  const out = path.join(path.dirname(ex), 'out');
  const c = compare([path.join(ex, 'config.yaml'), '--estimators', estimators, '--seeds', '1', '--max-steps', '2000', '-o', out]);
  const firstStep = () => runDirsOf(out).some((d) => fs.readFileSync(path.join(d, 'events.jsonl'), 'utf8').includes('"type":"metrics"'));
  try {
    await until('the first run\'s first step', firstStep, 600_000, 200);
  } finally {
    c.kill(sig); // also when the wait failed, so the test ends
  }
  return { ex, out, c };
}

test('rlhf compare: Ctrl-C stops the run in flight cleanly, starts no other, and still writes the report', { timeout: 900_000 }, async () => {
  const { ex, out, c } = await compareUntilFirstStep('reinforce_pp,grpo', 'SIGINT'); // the compare stops its trainer
  assert.equal(await c.done, 1, c.output());
  assert.match(c.output(), /stopping: the runs in flight finish their step/);
  const runs = runDirsOf(out);
  assert.equal(runs.length, 1, 'no run starts after Ctrl-C');
  assert.equal(statusOf(runs[0]).state, 'stopped');
  const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(report, /Stopped before every run finished/);
  assert.match(report, /\| reinforce_pp \| 42 \| .*stopped at step \d+/);
  fs.rmSync(path.dirname(ex), { recursive: true, force: true });
});

test('rlhf compare killed (SIGKILL): its trainer stops with it and no temporary config stays next to the user\'s', { timeout: 900_000 }, async () => {
  const { ex, out, c } = await compareUntilFirstStep('reinforce_pp', 'SIGKILL'); // no handler runs: only the trainer itself can notice
  await c.done;
  const [run] = runDirsOf(out);
  try {
    await until('the trainer to record its end', () => statusOf(run).state !== 'running', 300_000);
    await until('every trainer process to be gone', () => runProcesses(run).length === 0, 60_000);
    assert.equal(statusOf(run).state, 'stopped');
    assert.deepEqual(fs.readdirSync(ex).filter((n) => n.startsWith('.rlhf-compare-')), []);
  } finally {
    for (const p of runProcesses(run)) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
  fs.rmSync(path.dirname(ex), { recursive: true, force: true });
});
