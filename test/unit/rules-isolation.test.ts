// Hostile rule modules against the real engine (evaluator processes) and the real stdio reward
// worker: what a rule can and cannot reach, load-time failures, memory, concurrency, and the
// worker's life ending with its parent's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { RewardEngine } from '../../src/core/rewards/engine';
import { rulesFromSpecs } from '../../src/core/rewards/load';
import { tempDir, until } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(ROOT, 'dist', 'reward-eval-worker.js');
const engines: RewardEngine[] = [];
after(async () => { for (const e of engines) await e.close(); });
const dir = tempDir('hostile');
/** An engine over one rule module with the given source. */
function moduleEngine(name: string, source: string, opts: ConstructorParameters<typeof RewardEngine>[1] = {}): RewardEngine {
  fs.writeFileSync(path.join(dir, name), source);
  const e = new RewardEngine(rulesFromSpecs([{ kind: 'module', path: name, name: 'm' }], dir), { workerScript: WORKER, workers: 1, timeBudgetMs: 500, ...opts });
  engines.push(e);
  return e;
}
const S = (response: string) => ({ prompt: 'q', response, label: '1' });
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('a module whose top level hangs, exits, throws or throws 20 MB fails to load with a message naming it', async () => {
  const cases: [string, string, RegExp][] = [
    ['hang.reward.ts', 'for (;;) {}\nexport default () => 1;', /hang\.reward\.ts failed to load: its top level exceeded the time budget of 500 ms/],
    ['exit.reward.ts', 'process.exit(0);\nexport default () => 1;', /exit\.reward\.ts failed to load: process is not defined \(rules run without Node APIs/],
    ['throw.reward.ts', 'throw new Error("no config");\nexport default () => 1;', /throw\.reward\.ts failed to load: no config/],
    ['big.reward.ts', 'throw new Error("x".repeat(20 * 2 ** 20));\nexport default () => 1;', /big\.reward\.ts failed to load: x+… \(20971520 characters\)/],
  ];
  for (const [file, src, want] of cases) {
    const e = moduleEngine(file, src);
    const err = await e.ready().then(() => null, (x: Error) => x);
    assert.ok(err, `${file} should not load`);
    assert.match(err.message, want);
    assert.ok(err.message.length < 5000, `${file}: message of ${err.message.length} characters`);
    await assert.rejects(e.evaluate([S('a')]), want); // and scoring says the same, it does not hang
  }
});

test('rules reach no Node API: no process, require, child_process, file system or environment, even through constructors', async () => {
  const e = moduleEngine('reach.reward.ts', `
    export default (s: { response: string }) => {
      const g = globalThis as any;
      switch (s.response) {
        case 'cp': return g.process.getBuiltinModule('child_process').execSync('echo pwned').length;
        case 'environ': return g.process.getBuiltinModule('fs').readFileSync('/proc/self/environ').length;
        case 'require': return require('fs').readFileSync('/proc/self/environ').length;
        case 'ctor': return (() => 0).constructor('return typeof process')() === 'undefined' ? 7 : 0;
        case 'proto': return ({} as any).constructor.constructor('return typeof require')() === 'undefined' ? 7 : 0;
        case 'globals': return ['process', 'require', 'Buffer', 'setTimeout', 'fetch', 'SharedArrayBuffer'].filter((k) => k in g).length;
        default: return 1;
      }
    };`);
  const res = await e.evaluate(['cp', 'environ', 'require', 'ctor', 'proto', 'globals', 'ok'].map(S));
  assert.match(res[0].error!, /undefined \(reading 'getBuiltinModule'\)/);
  assert.match(res[1].error!, /undefined \(reading 'getBuiltinModule'\)/);
  assert.match(res[2].error!, /cannot import 'fs'/);
  assert.equal(res[3].reward, 7);
  assert.equal(res[4].reward, 7);
  assert.equal(res[5].reward, 1); // SharedArrayBuffer is a language built-in; none of the Node ones are there
  assert.equal(res[6].reward, 1);
});

test('memory: a rule filling ArrayBuffers is stopped at the cap on its own sample; the next sample is scored', async () => {
  const e = moduleEngine('buffers.reward.ts', `
    const keep: ArrayBuffer[] = [];
    export default (s: { response: string }) => {
      if (s.response === 'bomb') for (;;) keep.push(new Uint8Array(2 ** 26).fill(1).buffer);
      return 2;
    };`, { memoryMb: 128, timeBudgetMs: 20_000 });
  const res = await e.evaluate(['ok', 'bomb', 'ok'].map(S));
  assert.deepEqual(res.map((r) => r.reward), [2, 0, 2]);
  assert.match(res[1].error!, /memory cap of 128 MB/);
});

test('concurrent evaluate calls: a sample over the time budget in one call charges nobody else', async () => {
  const e = moduleEngine('slow.reward.ts', `export default (s: { response: string }) => { if (s.response === 'hang') for (;;) {} return s.response.length; };`, { workers: 2, timeBudgetMs: 300 });
  const a = e.evaluate(['aa', 'hang', 'aaa', 'a'].map(S));
  const b = e.evaluate(['bbbbb', 'bb', 'b', 'bbbb'].map(S));
  const [ra, rb] = await Promise.all([a, b]);
  assert.deepEqual(ra.map((r) => r.error ? 'E' : r.reward), [2, 'E', 3, 1]);
  assert.deepEqual(rb.map((r) => r.error ? 'E' : r.reward), [5, 2, 1, 4]);
});

test('the stdio reward worker: a hanging module is an init error within the budget, and the worker dies with its parent', { timeout: 120_000 }, async () => {
  fs.writeFileSync(path.join(dir, 'spin.reward.ts'), 'for (;;) {}\nexport default () => 1;');
  // a parent that starts dist/reward-worker.js (as the trainer does), relays its first line and its pid
  const parentSrc = `
    const { spawn } = require('node:child_process');
    const w = spawn(process.execPath, [${JSON.stringify(path.join(ROOT, 'dist', 'reward-worker.js'))}], { stdio: ['pipe', 'pipe', 'inherit'] });
    console.log(JSON.stringify({ pid: w.pid }));
    w.stdout.on('data', (d) => process.stdout.write(d));
    w.stdin.write(JSON.stringify({ v: 1, type: 'init', options: { rules: [{ kind: 'module', path: 'spin.reward.ts' }], base_dir: ${JSON.stringify(dir)}, time_budget_ms: 400 } }) + '\\n');
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', parentSrc], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (d) => { out += d; });
  await until(() => `three lines from the parent, got: ${out}`, () => out.split('\n').length >= 3, 60_000);
  const [pidLine, answer] = out.split('\n');
  const { pid } = JSON.parse(pidLine) as { pid: number };
  const msg = JSON.parse(answer) as { type: string; message: string };
  assert.equal(msg.type, 'error');
  assert.match(msg.message, /spin\.reward\.ts failed to load: its top level exceeded the time budget of 400 ms/);
  parent.kill('SIGKILL');
  await until(`reward worker ${pid} to exit with its parent`, () => !alive(pid), 30_000);
});
