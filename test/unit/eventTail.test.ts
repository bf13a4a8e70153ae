import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { EventTail, MAX_LINE_BYTES } from '../../src/core/run/eventTail';
import { parseEventLine, type TrainerEvent } from '../../src/core/protocol';
import { RunModel, runSetup } from '../../src/core/run/runModel';
import { RunWatcher } from '../../src/core/run/runWatcher';
import { tempDir, until } from '../helpers';

const tmp = () => tempDir('tail');
/** A tail on a fresh events.jsonl path, collecting what it delivers. */
function newTail() {
  const file = path.join(tmp(), 'events.jsonl');
  const got: TrainerEvent[] = [];
  return { file, got, tail: new EventTail(file, (ev) => got.push(...ev)) };
}
const metrics = (step: number, reward: number) => JSON.stringify({ v: 1, type: 'metrics', time: 1000 + step, step, samples_seen: step * 8, values: { reward_mean: reward, kl: null } });

test('parseEventLine accepts valid events and rejects garbage without throwing', () => {
  assert.equal(parseEventLine(metrics(1, 0.5))?.type, 'metrics');
  for (const bad of ['', 'garbage', '{', '{"v":2,"type":"metrics","time":1}', '{"v":1,"type":"metrics","time":1,"step":"x","values":{}}',
    '{"v":1,"type":"from_the_future","time":1}', '[1,2]', '{"v":1,"type":"metrics","time":1,"step":1,"values":{"a":"b"}}', 'null']) {
    assert.equal(parseEventLine(bad), undefined, bad);
  }
});

test('partial lines wait for their newline; garbage lines are skipped; order is kept', () => {
  const { file, got, tail } = newTail();
  assert.equal(tail.poll(), 0); // no file yet
  const line1 = metrics(1, 0.1);
  fs.writeFileSync(file, line1.slice(0, 20));
  assert.equal(tail.poll(), 0);
  fs.appendFileSync(file, line1.slice(20) + '\nnot json at all\n{"v":1,"type":"metr');
  assert.equal(tail.poll(), 1);
  fs.appendFileSync(file, 'ics","time":5,"step":2,"samples_seen":16,"values":{"reward_mean":0.2}}\n' + metrics(3, 0.3) + '\r\n');
  assert.equal(tail.poll(), 2);
  assert.deepEqual(got.map((e) => (e as { step: number }).step), [1, 2, 3]);
  assert.equal(tail.stats.skipped, 1);
});

test('multi-byte characters split across reads are decoded correctly', () => {
  const { file, got, tail } = newTail();
  const line = Buffer.from(JSON.stringify({ v: 1, type: 'log', time: 1, level: 'info', message: 'réponse ✓ 答' }) + '\n');
  const cut = line.indexOf(Buffer.from('✓')) + 1; // inside the 3-byte sequence
  fs.writeFileSync(file, line.subarray(0, cut));
  tail.poll();
  fs.appendFileSync(file, line.subarray(cut));
  tail.poll();
  assert.equal((got[0] as { message: string }).message, 'réponse ✓ 答');
});

test('an over-long line is dropped without holding it in memory, and reading goes on', () => {
  const { file, got, tail } = newTail();
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < (MAX_LINE_BYTES >> 20) + 2; i++) { fs.writeSync(fd, block); }
  fs.writeSync(fd, '\n' + metrics(7, 0.7) + '\n');
  fs.closeSync(fd);
  tail.poll();
  assert.deepEqual(got.map((e) => e.type), ['metrics']);
  assert.equal(tail.stats.skipped, 1);
});

test('a truncated (rewritten) file is read again from the start', () => {
  const { file, got, tail } = newTail();
  fs.writeFileSync(file, metrics(1, 0.1) + '\n' + metrics(2, 0.2) + '\n');
  tail.poll();
  fs.writeFileSync(file, metrics(1, 0.9) + '\n');
  tail.poll();
  assert.equal(got.length, 3);
});

test('RunModel: resumed runs re-report steps and the newest values win; ETA from step times', () => {
  const m = new RunModel();
  const ev = (s: number, r: number, t = 1000 + s) => ({ v: 1 as const, type: 'metrics' as const, time: t, step: s, samples_seen: s, total_steps: 10, values: { reward_mean: r } });
  m.ingest([ev(1, 0.1), ev(2, 0.2), ev(3, 0.3), ev(2, 0.25), ev(3, 0.35), { ...ev(4, 0.4), values: { reward_mean: 0.4, kl: 0.01 } }]);
  assert.deepEqual(m.metrics.step, [1, 2, 3, 4]);
  assert.deepEqual(m.metrics.values.reward_mean, [0.1, 0.25, 0.35, 0.4]);
  assert.deepEqual(m.metrics.values.kl, [null, null, null, 0.01]);
  assert.equal(m.step, 4);
  assert.equal(m.eta(), 6);
  m.ingest([{ v: 1, type: 'run_finished', time: 2000, status: 'stopped', error: null }]);
  assert.equal(m.state, 'stopped');
});

const finished = JSON.stringify({ v: 1, type: 'run_finished', time: 2000, status: 'completed', error: null, step: 2 });

test('RunWatcher stops polling once the run has finished, and a finished run is never polled', async () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, metrics(1, 0.1) + '\n');
  const live = new RunWatcher(dir).start(20);
  try {
    await until('the first metrics row', () => live.model.metrics.length === 1);
    assert.equal(live.polling, true);
    fs.appendFileSync(file, metrics(2, 0.2) + '\n' + finished + '\n');
    await until('the watcher to stop', () => !live.polling);
    assert.equal(live.finished, true);
    assert.deepEqual(live.model.metrics.values.reward_mean, [0.1, 0.2]);
  } finally { live.dispose(); }

  const done = new RunWatcher(dir).start(20);
  assert.equal(done.model.state, 'completed');
  assert.equal(done.polling, false);
  done.dispose();
});

test('RunModel ETA: a short stall (a window reload on a busy machine) barely moves it', () => {
  const m = new RunModel();
  const row = (step: number, time: number): TrainerEvent => ({ v: 1, type: 'metrics', time, step, samples_seen: step, total_steps: 1000, values: {} });
  // 300 steps at 1 s/step, then a 10 s stall spread over 2 steps
  const rows = Array.from({ length: 300 }, (_, i) => row(i + 1, i + 1));
  rows.push(row(301, 305), row(302, 310));
  m.ingest(rows);
  const eta = m.eta()!;
  // 698 steps to go at the usual 1 s/step; the last 20 steps alone would say 977 s (40% off)
  assert.ok(Math.abs(eta - 698) / 698 < 0.15, `eta ${eta}`);
});

test('skipToEnd delivers only the events appended after it (a save request waits for the next checkpoint, not an old one)', () => {
  const file = path.join(tmp(), 'events.jsonl');
  const line = (step: number) => JSON.stringify({ v: 1, type: 'checkpoint', time: step, step, path: `/c/${step}` }) + '\n';
  fs.writeFileSync(file, line(1) + line(2));
  const got: TrainerEvent[] = [];
  const tail = new EventTail(file, (es) => got.push(...es)).skipToEnd();
  assert.equal(tail.poll(), 0);
  fs.appendFileSync(file, line(3));
  assert.equal(tail.poll(), 1);
  assert.deepEqual(got.map((e) => (e as { step: number }).step), [3]);
  const none = new EventTail(file + '.missing', () => undefined).skipToEnd(); // no file yet: from its start
  fs.writeFileSync(file + '.missing', line(4));
  assert.equal(none.poll(), 1);
});

test("run_started's precision, rollout engine and micro-batch choice become the run header's setup line", () => {
  const m = new RunModel();
  const started = { v: 1, type: 'run_started', time: 1, config: {}, device: 'cpu (2 threads)', world_size: 1, versions: {}, run_dir: '/r',
    rollout: { engine: 'static', requested: 'auto', compile: 'eager' },
    micro_batches: { micro_batch_tokens: null, micro_batch_size: 4 } } as const;
  m.ingest([started]);
  assert.equal(m.setup, 'rollout static (eager) · micro-batches ≤ 4 × longest');
  assert.equal(runSetup({ ...started, micro_batches: { micro_batch_tokens: 4096, micro_batch_size: 4 } }),
    'rollout static (eager) · micro-batches ≤ 4096 tokens');
  assert.equal(runSetup({ ...started, precision: 'bf16' }), 'bf16 · rollout static (eager) · micro-batches ≤ 4 × longest');
  assert.equal(runSetup({ ...started, rollout: undefined, micro_batches: undefined }), undefined); // older runs
});
