// Hostile runs of other frameworks (issue 23): what `rlhf watch` and the Runs view read from a verl,
// TRL, prime-rl or OpenRLHF folder is bounded and never blocks — a FIFO or a link to /dev/zero in place
// of a run file, a 3.5 KB Parquet file that decodes to 1.4 GB of text, a Parquet file of 300,000
// rows, a TensorBoard record of 200 MB, a verl line with step 1e400 — and `rlhf watch` stops on
// SIGINT and SIGTERM whatever it is reading.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { openExternalRun, type ExternalRun } from '../../src/core/adapters/index';
import { describeRun, readAll } from '../../src/core/adapters/watchCommand';
import { maskedCrc32c } from '../../src/core/adapters/tfrecord';

const ROOT = path.resolve(__dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/frameworks');
const CLI = process.env.RLHF_TEST_CLI ?? path.join(ROOT, 'dist', 'cli.js');
const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `rlhf-hostile-fw-${tag}-`));
const mkfifo = (p: string) => { const r = spawnSync('mkfifo', [p]); assert.equal(r.status, 0, String(r.stderr)); };
const rlhf = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, ['--max-old-space-size=768', CLI, ...args], { encoding: 'utf8', timeout, cwd: ROOT, killSignal: 'SIGKILL' });

async function read(dir: string): Promise<ExternalRun> {
  const run = openExternalRun(dir);
  await readAll(run);
  return run;
}

const verlLine = (step: number | string, reward: number) => `{"step": ${step}, "data": {"critic/score/mean": ${reward}, "actor/pg_loss": 0.5}}`;

test('verl: a line with step 1e400 (or 1e300, or -1) is skipped with a message; the latest metrics stay', async () => {
  const dir = tmp('verl-step');
  fs.writeFileSync(path.join(dir, 'exp.jsonl'), [verlLine(1, 0.1), verlLine(2, 0.2), verlLine('1e400', 9), verlLine('1e300', 9), verlLine(-1, 9), verlLine(3, 0.3)].join('\n') + '\n');
  const run = await read(dir);
  assert.deepEqual(run.model.metrics.step, [1, 2, 3]);
  const d = describeRun(run);
  assert.equal(d.lastStep, 3);
  assert.equal(d.latest.reward_mean, 0.3);
  assert.equal(d.latest.policy_loss, 0.5);
  assert.equal(run.errors.length, 3, run.errors.join('\n'));
  assert.match(run.errors[0], /exp\.jsonl: a line with step Infinity, not a whole number from 0 to 2\^53: skipped/);
});

test('TRL: a 3.5 KB completions Parquet file that decodes to 1.4 GB of text shows its first samples and says why', async () => {
  const dir = tmp('parquet-bomb');
  fs.mkdirSync(path.join(dir, 'completions'));
  const n = 60_000, big = 'x'.repeat(24 * 1024);
  const buf = parquetWriteBuffer({ columnData: [
    { name: 'step', data: new Array<bigint>(n).fill(1n), type: 'INT64' },
    { name: 'prompt', data: new Array<string>(n).fill(big), type: 'STRING' },
    { name: 'completion', data: new Array<string>(n).fill('y'), type: 'STRING' },
    { name: 'reward', data: new Array<number>(n).fill(1), type: 'DOUBLE' },
  ] });
  assert.ok(buf.byteLength < 64 * 1024, `the bomb is small (${buf.byteLength} bytes)`);
  fs.writeFileSync(path.join(dir, 'completions', 'completions_00001.parquet'), Buffer.from(buf));
  const run = await read(dir);
  const items = run.samplesByStep.get(1) ?? [];
  assert.ok(items.length > 0 && items.length < n, `${items.length} samples kept`);
  const chars = items.reduce((a, it) => a + it.prompt.length + it.response.length, 0);
  assert.ok(chars <= 32 * 2 ** 20, `${chars} characters kept`);
  assert.match(run.errors.join('\n'), new RegExp(`completions_00001\\.parquet: its text is more than 32 Mi characters; the first ${items.length} of ${n} samples are shown`));
  // what --once --json prints stays printable
  assert.ok(JSON.stringify(describeRun(run)).length < 48 * 2 ** 20);
});

test('TRL: a Parquet file of 300,000 rows is refused before it is decoded', async () => {
  const dir = tmp('parquet-rows');
  fs.mkdirSync(path.join(dir, 'completions'));
  const n = 300_000;
  const buf = parquetWriteBuffer({ columnData: [
    { name: 'step', data: new Array<bigint>(n).fill(2n), type: 'INT64' },
    { name: 'prompt', data: new Array<string>(n).fill('p'), type: 'STRING' },
    { name: 'completion', data: new Array<string>(n).fill('c'), type: 'STRING' },
  ] });
  fs.writeFileSync(path.join(dir, 'completions', 'completions_00002.parquet'), Buffer.from(buf));
  const run = await read(dir);
  assert.equal(run.samplesByStep.size, 0);
  assert.match(run.errors.join('\n'), /completions_00002\.parquet: not read: 300,000 rows, more than the 200,000 read from one file/);
});

test('TensorBoard: a 200 MB record (its length checksum right) is skipped without being held; the records after it are read', async () => {
  const src = fs.readdirSync(path.join(FIX, 'openrlhf/reinforce_tiny')).find((f) => f.startsWith('events.out.tfevents.'))!;
  const fixture = fs.readFileSync(path.join(FIX, 'openrlhf/reinforce_tiny', src));
  const dir = tmp('tb-big');
  const file = path.join(dir, 'events.out.tfevents.1.host');
  const length = 200 * 2 ** 20;
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(length));
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  fs.writeFileSync(file, head);
  fs.truncateSync(file, 12 + length + 4); // the record's data: a hole, no disk used
  fs.appendFileSync(file, fixture);
  const run = await read(dir);
  assert.match(run.errors.join('\n'), new RegExp(`record at byte 0: ${length} bytes, more than the 16777216 read: skipped`));
  assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4]);
});

test('a FIFO or a link to /dev/zero in place of a framework\'s run file is refused by name, never read or waited on', () => {
  // TRL: trainer_state.json a FIFO, a completions file a link to /dev/zero
  const trl = tmp('trl');
  mkfifo(path.join(trl, 'trainer_state.json'));
  fs.mkdirSync(path.join(trl, 'completions'));
  fs.symlinkSync('/dev/zero', path.join(trl, 'completions', 'completions_00001.parquet'));
  let r = rlhf(['watch', trl, '--once']);
  assert.equal(r.error, undefined, 'rlhf watch --once did not answer');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /trainer_state\.json is a FIFO \(named pipe\), not a regular file/);
  assert.match(r.stderr, /completions_00001\.parquet is a link to a character device, not a regular file/);
  // prime-rl: its metrics.jsonl a FIFO (detection never opens it), a traces file a FIFO
  const prime = tmp('prime');
  fs.cpSync(path.join(FIX, 'prime-rl'), prime, { recursive: true });
  fs.rmSync(path.join(prime, 'metrics.jsonl'));
  mkfifo(path.join(prime, 'metrics.jsonl'));
  const traces = path.join(prime, 'rollouts/step_2/train/effective/traces.jsonl');
  fs.rmSync(traces, { force: true });
  mkfifo(traces);
  r = rlhf(['watch', prime, '--once', '--json']);
  assert.equal(r.error, undefined, 'rlhf watch --once did not answer');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /metrics\.jsonl is a FIFO/);
  assert.match(r.stderr, /traces\.jsonl is a FIFO/);
  const d = JSON.parse(r.stdout) as { framework: string; samplesPerStep: Record<string, number> };
  assert.equal(d.framework, 'prime-rl');
  assert.ok(d.samplesPerStep['1'] > 0, 'the other steps\' samples are read');
  // nothing detectable but a FIFO: exit 2, and the FIFO named
  const only = tmp('only-fifo');
  mkfifo(path.join(only, 'metrics.jsonl'));
  r = rlhf(['watch', only, '--once']);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no run files .*metrics\.jsonl is a FIFO/);
});

/** Starts `rlhf watch DIR`, waits for `ready` in its output, sends `signal`; its exit code, or 'hung' past the deadline. */
async function watchThenSignal(dir: string, ready: RegExp, signal: NodeJS.Signals): Promise<{ code: number | null | 'hung'; out: string }> {
  const child = spawn(process.execPath, ['--max-old-space-size=768', CLI, 'watch', dir, '--interval', '100'], { cwd: ROOT });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!ready.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill(signal);
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
  if (code === 'hung') child.kill('SIGKILL');
  return { code, out };
}

test('rlhf watch on a folder with a FIFO stops on SIGINT and on SIGTERM (exit 0), having said what the FIFO is', async () => {
  const trl = tmp('watch-sigint');
  mkfifo(path.join(trl, 'trainer_state.json'));
  let r = await watchThenSignal(trl, /trainer_state\.json is a FIFO/, 'SIGINT');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^watching .*\(trl\); Ctrl-C to stop$/m);
  const prime = tmp('watch-sigterm');
  fs.cpSync(path.join(FIX, 'prime-rl'), prime, { recursive: true });
  const traces = path.join(prime, 'rollouts/step_2/train/effective/traces.jsonl');
  fs.rmSync(traces, { force: true });
  mkfifo(traces);
  r = await watchThenSignal(prime, /traces\.jsonl is a FIFO/, 'SIGTERM');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^step 3 /m);
});
