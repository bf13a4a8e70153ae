// A config with several semantic problems: `rlhf validate` (and trainerValidate, which the editor's
// diagnostics use) gives every one at its line, not only the first; a valid config gets its estimate lines.
// Real trainer (project .venv), real CLI (dist/cli.js).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { estimateHead, parseTrainerProblem, trainerValidate } from '../../src/core/configCheck';
import { installLayout } from '../../src/core/training';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const rlhf = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, RLHF_PYTHON: PY }, timeout: 280_000 });

// each edit of the embedded preset makes one problem: [edit, field, the text of the line it is at, message]
const EDITS: [(t: string) => string, string, string, RegExp][] = [
  [(t) => t.replace('estimator: reinforce_pp', 'estimator: grpo'), 'rollout.n_samples_per_prompt', 'n_samples_per_prompt:', /needs n_samples_per_prompt >= 2/],
  [(t) => t.replace('max_new_tokens: 6', 'max_new_tokens: 100'), 'rollout.max_new_tokens', 'max_new_tokens:', /beyond the model's 64 positions/],
  [(t) => t.replace('micro_batch_size: 64 ', 'micro_batch_size: 48 '), 'train.batch_size', '  batch_size: 64', /not a multiple of micro_batch_size 48/],
  [(t) => t.replace(/mode: reward/, 'mode: loss'), 'algorithm.kl.estimator', 'estimator: k1', /k1 as a loss has no useful gradient/],
];

test('every semantic problem of a config at its line, from the CLI and from trainerValidate', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(CLI), 'run `node esbuild.mjs` first (dist/cli.js)');
  const ws = tempDir('multi');
  assert.equal(rlhf(ws, 'config', 'new', '--preset', 'arithmetic-cpu', '-o', 'good.yaml').status, 0);
  const good = fs.readFileSync(path.join(ws, 'good.yaml'), 'utf8');
  let text = good;
  for (const [edit] of EDITS) {
    const next = edit(text);
    assert.notEqual(next, text, `an edit changed nothing: ${edit.toString()}`);
    text = next;
  }
  fs.writeFileSync(path.join(ws, 'bad.yaml'), text);
  const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  const r = rlhf(ws, 'validate', 'bad.yaml');
  assert.equal(r.status, 2, r.stdout + r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, EDITS.length, r.stderr);
  for (const [, field, needle, message] of EDITS) {
    const hit = lines.find((l) => l.startsWith(`bad.yaml:${lineOf(needle)}: ${field}: `));
    assert.ok(hit, `no bad.yaml:${lineOf(needle)}: ${field}: line in\n${r.stderr}`);
    assert.match(hit, message);
  }

  // what the editor runs: each problem parsed to its line and field (one diagnostic each)
  const layout = installLayout(ROOT);
  const v = await trainerValidate(PY, layout, path.join(ws, 'bad.yaml'));
  const parsed = v.problems.map(parseTrainerProblem);
  assert.deepEqual(parsed.map((p) => [p.line, p.field]).sort(), EDITS.map(([, field, needle]) => [lineOf(needle), field]).sort());
  assert.deepEqual(v.estimates, []);

  // the valid config: no problems, and its memory estimate (no earlier run in this runs folder: no time estimate)
  const ok = await trainerValidate(PY, layout, path.join(ws, 'good.yaml'), { runsDir: path.join(ws, 'runs') });
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.estimates.length, 1, ok.estimates.join('\n'));
  assert.match(estimateHead(ok.estimates[0]), /^memory per device ~ [\d.]+ MiB$/);
  const cli = rlhf(ws, 'validate', 'good.yaml');
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /^estimate: memory per device ~ [\d.]+ MiB \(policy /m);
  fs.rmSync(ws, { recursive: true, force: true });
});
