// The rlhf CLI's command line (strict node:util parseArgs) and `rewards test` on hostile modules
// and a run whose samples.jsonl ends in a huge torn line — all as real processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers';

const CLI = path.resolve(__dirname, '../..', 'dist', 'cli.js');
const rlhf = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

test('unknown flags and bad values exit 2 with one line naming them', () => {
  for (const [args, want] of [
    [['rewards', 'test', 'x.yaml', '--run-dir', 'r'], /rlhf rewards test: Unknown option '--run-dir'/],
    [['rewards', 'test', 'x.yaml', '--last', 'abc'], /--last must be a whole number from 1 to 1000000, not 'abc'/],
    [['serve-rewards', 'x.yaml', '--port', '70000'], /--port must be a whole number from 0 to 65535/],
    [['runs', 'extra'], /rlhf runs: unexpected argument 'extra'/],
    [['train'], /rlhf train: give CONFIG/],
    [['bogus'], /rlhf: unknown command 'bogus'/],
  ] as [string[], RegExp][]) {
    const r = rlhf(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, want);
  }
});

test('rlhf --help names every command and flag; COMMAND --help prints that command', () => {
  const all = rlhf('--help');
  assert.equal(all.status, 0);
  for (const w of ['rlhf train', 'rlhf train-rm', '--margin', 'rlhf runs', 'rlhf stop', 'rlhf rewards test', 'rlhf serve-rewards', '--runs-dir', '--python', '--resume', '--node', '--run ', '--last', '--json', '--port', '--token']) {
    assert.ok(all.stdout.includes(w), w);
  }
  const one = rlhf('rewards', 'test', '--help');
  assert.equal(one.status, 0);
  assert.match(one.stdout, /^rlhf rewards test RULES .*--last N/);
  assert.ok(!one.stdout.includes('serve-rewards'));
});

function runWith(lines: string, tail = ''): string {
  const run = tempDir('cli-run');
  fs.writeFileSync(path.join(run, 'samples.jsonl'), lines);
  if (tail) fs.appendFileSync(path.join(run, 'samples.jsonl'), tail);
  return run;
}
const ROW = (i: number) => JSON.stringify({ step: 1, index: i, prompt: 'q', response: String(i), label: '1', reward: 0 }) + '\n';

test('rewards test: a module that hangs, exits or throws at load exits 2 with a message naming it', () => {
  const run = runWith(ROW(1));
  const dir = tempDir('cli-mod');
  for (const [file, src] of [['hang.reward.ts', 'for (;;) {}'], ['exit.reward.ts', 'process.exit(0)'], ['throw.reward.ts', 'throw new Error("nope")']]) {
    fs.writeFileSync(path.join(dir, file), `${src}\nexport default () => 1;`);
    const r = rlhf('rewards', 'test', path.join(dir, file), '--run', run);
    assert.equal(r.status, 2, `${file}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`rlhf rewards test: rule module .*${file.replace('.', '\\.')} failed to load`));
  }
});

test('rewards test on a run whose samples.jsonl ends in a 64 MB unterminated line scores the complete lines', () => {
  const run = runWith(ROW(1) + ROW(2) + ROW(3), `{"step": 9, "prompt": "${'z'.repeat(64 * 2 ** 20)}`);
  const dir = tempDir('cli-mod');
  fs.writeFileSync(path.join(dir, 'one.reward.ts'), 'export default (s: { response: string }) => Number(s.response);');
  const r = rlhf('rewards', 'test', path.join(dir, 'one.reward.ts'), '--run', run, '--json');
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { n: number; mean: number };
  assert.equal(rep.n, 3);
  assert.equal(rep.mean, 2);
});
