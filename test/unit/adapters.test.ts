// Run adapters: each framework's fixture (written by that framework's own code, see
// test/fixtures/frameworks/gen_*.py) read into the run model, compared with what the generator
// passed to the framework (expected.json); files still being written; corrupted TensorBoard records.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { detectFramework, openExternalRun, statusBarRun, watchedRunId, AdapterError, type ExternalRun } from '../../src/core/adapters/index';
import { ACTIVE_MS } from '../../src/core/adapters/externalRun';
import { PANELS, panelsFor, type Panel } from '../../src/core/charts/data';
import { readAll, watchCommand, type RunDescription } from '../../src/core/adapters/watchCommand';
import { maskedCrc32c } from '../../src/core/adapters/tfrecord';
import { tempDir, until } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/frameworks');
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   expected.json is each generator's free-form record of what it passed to the framework */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const expected = (fw: string): Json => JSON.parse(fs.readFileSync(path.join(FIX, fw, 'expected.json'), 'utf8')) as Json;
const tmp = (): string => tempDir('adapters');

/** The run model's value of `key` at `step` (null when the step has none). */
function at(run: ExternalRun, key: string, step: number, evals = false): number | null {
  const s = evals ? run.model.evals : run.model.metrics;
  const i = s.step.indexOf(step);
  assert.ok(i >= 0, `step ${step} is in the ${evals ? 'eval' : 'metric'} series (${s.step.join(',')})`);
  return s.values[key]?.[i] ?? null;
}
const close = (a: number | null, b: number, tol = 1e-6) => assert.ok(a !== null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≈ ${b}`);

async function opened(dir: string): Promise<ExternalRun> {
  const run = openExternalRun(dir);
  await readAll(run);
  return run;
}

/** TFRecord boundaries of an event file: [start, end) of each record. */
function records(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p + 12 <= buf.length;) {
    const len = Number(buf.readBigUInt64LE(p));
    out.push([p, p + 12 + len + 4]);
    p += 12 + len + 4;
  }
  return out;
}
const eventFile = (dir: string) => { const d = path.join(dir, 'reinforce_tiny'); return path.join(d, fs.readdirSync(d).find((f) => f.startsWith('events.out.tfevents.'))!); };

test('detects each framework from its files, and says what it looked for when none matches', () => {
  for (const fw of ['verl', 'openrlhf', 'trl', 'prime-rl', 'nemo-rl']) assert.equal(detectFramework(path.join(FIX, fw)), fw);
  const empty = tmp();
  assert.equal(detectFramework(empty), undefined);
  assert.throws(() => openExternalRun(empty), (e: Error) => e instanceof AdapterError && /no run files of verl, openrlhf, trl, prime-rl, nemo-rl/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => openExternalRun(path.join(empty, 'nope')), /no such file or folder/);
});

test('verl: file-logger steps and values under the panel names, rollout dumps as samples, val metrics as evals', async () => {
  const exp = expected('verl');
  const run = await opened(path.join(FIX, 'verl'));
  assert.equal(run.framework, 'verl');
  assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4, 5]);
  for (const [step, data] of Object.entries(exp.metrics as Record<string, Json>)) {
    const s = Number(step);
    close(at(run, 'reward_mean', s), data['critic/score/mean']);
    close(at(run, 'kl', s), data['actor/kl_loss']);
    close(at(run, 'policy_loss', s), data['actor/pg_loss']);
    close(at(run, 'entropy', s), data['actor/entropy']);
    close(at(run, 'lr', s), data['actor/lr']);
    close(at(run, 'response_length_mean', s), data['response_length/mean']);
    close(at(run, 'critic/rewards/mean', s), data['critic/rewards/mean']); // shadowed source keeps its name
  }
  close(at(run, 'eval_reward_mean', 5, true), exp.metrics['5']['val-core/arith/reward/mean@1']);
  assert.deepEqual([...run.sampleCounts.keys()], [2, 4]);
  for (const [step, items] of Object.entries(exp.samples as Record<string, Json[]>)) {
    const got = run.samplesByStep.get(Number(step))!;
    assert.deepEqual(got.map((i) => [i.prompt, i.response, i.label, i.reward, i.rewards.acc]), items.map((i) => [i.input, i.output, i.gts, i.score, i.score]));
  }
  assert.equal(run.model.lastSamples?.step, 4);
  assert.deepEqual(run.errors, []);
});

test('OpenRLHF: TensorBoard scalars and the generated_samples text from its TensorboardLogger', async () => {
  const exp = expected('openrlhf');
  const run = await opened(path.join(FIX, 'openrlhf'));
  assert.equal(run.framework, 'openrlhf');
  assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4]);
  for (const [step, st] of Object.entries(exp.metrics as Record<string, Json>)) {
    const s = Number(step);
    close(at(run, 'reward_mean', s), st['rollout/reward_mean'], 1e-6); // float32 in the file
    close(at(run, 'kl', s), st.kl);
    close(at(run, 'policy_loss', s), st.policy_loss);
    close(at(run, 'lr', s), st.actor_lr);
    close(at(run, 'response_length_mean', s), st.response_length);
    close(at(run, 'train/return', s), st.return);
    const [item] = run.samplesByStep.get(s)!;
    assert.equal(item.response, exp.samples[step].text);
    close(item.reward, exp.samples[step].reward, 1e-4); // written with 4 decimals
  }
  close(at(run, 'eval/pass1', 4, true), exp.eval['4'].pass1);
  assert.deepEqual(run.errors, []);
});

test('TRL: GRPOTrainer log_history and completions Parquet', async () => {
  const exp = expected('trl');
  const run = await opened(path.join(FIX, 'trl'));
  assert.equal(run.framework, 'trl');
  const logged = (exp.log_history as Json[]).filter((e) => 'reward' in e);
  assert.deepEqual(run.model.metrics.step, logged.map((e) => e.step as number));
  for (const e of logged) {
    close(at(run, 'reward_mean', e.step as number), e.reward as number);
    close(at(run, 'kl', e.step as number), e.kl as number);
    close(at(run, 'policy_loss', e.step as number), e.loss as number);
    close(at(run, 'lr', e.step as number), e.learning_rate as number);
    close(at(run, 'response_length_mean', e.step as number), e['completions/mean_length'] as number);
  }
  for (const [step, c] of Object.entries(exp.completions as Record<string, Json>)) {
    const items = run.samplesByStep.get(Number(step))!;
    assert.equal(items.length, c.rows);
    assert.equal(items[0].prompt, c.first.prompt);
    assert.equal(items[0].response, c.first.completion);
    assert.equal(items[0].rewards.exact, c.first.exact);
  }
});

test('prime-rl: trainer and orchestrator rows of a step merged; effective traces, else all', async () => {
  const exp = expected('prime-rl');
  const run = await opened(path.join(FIX, 'prime-rl'));
  assert.equal(run.framework, 'prime-rl');
  assert.deepEqual(run.model.metrics.step, [1, 2, 3]);
  for (const [step, m] of Object.entries(exp.metrics as Record<string, Json>)) {
    const s = Number(step);
    close(at(run, 'reward_mean', s), m['train/agg/effective/solver/reward/mean']);
    close(at(run, 'policy_loss', s), m['loss/mean']);
    close(at(run, 'entropy', s), m['entropy/all/mean']);
    close(at(run, 'mismatch_kl/all/mean', s), m['mismatch_kl/all/mean']);
    assert.equal(at(run, 'loss/nan_count', s), null);
    const items = run.samplesByStep.get(s)!;
    assert.deepEqual(items.map((i) => [i.prompt, i.response]), (exp.samples[step] as Json[]).map((i) => [i.prompt, i.response]));
    items.forEach((it, k) => close(it.reward, exp.samples[step][k].reward));
  }
});

test('NeMo-RL: train_data_step dumps as samples with per-token log-probs and advantages, reward and length per step, val dumps as evals', async () => {
  const exp = expected('nemo-rl');
  for (const dir of [path.join(FIX, 'nemo-rl'), path.join(FIX, 'nemo-rl/logs'), path.join(FIX, 'nemo-rl', exp.log_dir)]) {
    const run = await opened(dir);
    assert.equal(run.framework, 'nemo-rl');
    assert.deepEqual(run.model.metrics.step, [1, 2, 3]);
    for (const [step, t] of Object.entries(exp.train as Record<string, Json>)) {
      const s = Number(step);
      const rewards = t.rewards as number[];
      close(at(run, 'reward_mean', s), rewards.reduce((a, b) => a + b, 0) / rewards.length);
      const lengths = (t.response_tokens as number[][]).map((x) => x.length);
      close(at(run, 'response_length_mean', s), lengths.reduce((a, b) => a + b, 0) / lengths.length);
      const items = run.samplesByStep.get(s)!;
      assert.deepEqual(items.map((i) => [i.prompt, i.response, i.reward]), rewards.map((r, k) => [t.prompts[k], t.responses[k], r]));
      items.forEach((it, k) => {
        assert.deepEqual(it.tokens, (t.response_tokens[k] as number[]).map(String));
        assert.equal(it.response_length, t.response_tokens[k].length);
        it.logprobs!.forEach((v, j) => close(v, t.generation_logprobs[k][j]));
        it.advantages!.forEach((v, j) => close(v, t.advantages[k][j]));
        assert.equal(it.logprobs?.length, it.tokens?.length);
        assert.equal(it.advantages?.length, it.tokens?.length);
      });
    }
    assert.deepEqual(run.model.evals.step, Object.keys(exp.val).map(Number));
    for (const [step, v] of Object.entries(exp.val as Record<string, Json>)) {
      const rewards = v.rewards as number[];
      close(at(run, 'eval_reward_mean', Number(step), true), rewards.reduce((a, b) => a + b, 0) / rewards.length);
    }
    assert.equal(run.model.lastSamples?.step, 3);
    assert.deepEqual(run.errors, []);
  }
});

test('TensorBoard file still being written: records before the tear are read, the torn one waits', async () => {
  const src = eventFile(path.join(FIX, 'openrlhf'));
  const full = fs.readFileSync(src);
  const recs = records(full);
  const dir = tmp();
  const file = path.join(dir, path.basename(src));
  const tear = recs[Math.floor(recs.length / 2)][0] + 7; // inside a record's length header + a bit
  fs.writeFileSync(file, full.subarray(0, tear));
  const run = openExternalRun(dir);
  await readAll(run);
  const before = run.model.metrics.length;
  assert.ok(before > 0 && before < 4, `some steps before the tear (${before})`);
  fs.writeFileSync(file, full.subarray(0, recs[recs.length - 1][0] + 20)); // now torn inside the last record's data
  await readAll(run);
  fs.appendFileSync(file, full.subarray(recs[recs.length - 1][0] + 20));
  await readAll(run);
  assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4]);
  assert.deepEqual([...run.sampleCounts.keys()], [1, 2, 3, 4]);
  assert.deepEqual(run.errors, []);
});

test('TensorBoard: a record whose data CRC32C is wrong is reported and skipped; a bad length CRC stops the file', async () => {
  const full = fs.readFileSync(eventFile(path.join(FIX, 'openrlhf')));
  const recs = records(full);
  // sanity: the fixture's own checksums are what our CRC32C computes
  assert.equal(full.readUInt32LE(8), maskedCrc32c(full.subarray(0, 8)));
  const [s, e] = recs[3];
  const bad = Buffer.from(full);
  bad[s + 12 + 2] ^= 0x01; // one bit of record 3's data
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'events.out.tfevents.1.host'), bad);
  const run = openExternalRun(dir);
  await readAll(run);
  assert.equal(run.errors.length, 1);
  assert.match(run.errors[0], new RegExp(`record at byte ${s}: data checksum \\(CRC32C\\) does not match`));
  assert.ok(run.model.metrics.length >= 3, 'the records after the bad one are still read');

  const bad2 = Buffer.from(full);
  bad2[recs[3][0] + 8] ^= 0xff; // record 3's length checksum
  const dir2 = tmp();
  fs.writeFileSync(path.join(dir2, 'events.out.tfevents.1.host'), bad2);
  const run2 = openExternalRun(dir2);
  await readAll(run2);
  assert.match(run2.errors[0], /length checksum \(CRC32C\) does not match: the file is corrupted/);
  const tagsBefore = recs.slice(1, 3).length; // records 1..2 hold the first scalars
  assert.ok(run2.model.metrics.length >= 1 && run2.model.metrics.length <= tagsBefore, 'nothing after the bad header is decoded');
  void e;
});

test('verl: a partial last line waits; a resumed run that truncates the log replaces the re-reported steps', async () => {
  const lines = fs.readFileSync(path.join(FIX, 'verl/arith/grpo_tiny.jsonl'), 'utf8').split('\n').filter(Boolean);
  const dir = tmp();
  const log = path.join(dir, 'exp.jsonl');
  fs.writeFileSync(log, `${lines[0]}\n${lines[1]}\n${lines[2].slice(0, 40)}`);
  const run = openExternalRun(dir);
  assert.equal(run.framework, 'verl');
  await readAll(run);
  assert.deepEqual(run.model.metrics.step, [1, 2]);
  fs.appendFileSync(log, `${lines[2].slice(40)}\n${lines.slice(3).join('\n')}\n`);
  await readAll(run);
  assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4, 5]);
  // resume from step 2: verl opens the file with "wb", so it starts again at step 3 with new values
  const resumed = (step: number) => JSON.stringify({ step, data: { 'critic/score/mean': 10 + step } });
  fs.writeFileSync(log, `${resumed(3)}\n${resumed(4)}\n`);
  await readAll(run);
  assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4]);
  assert.equal(at(run, 'reward_mean', 4), 14);
  assert.equal(run.model.metrics.values.reward_mean[0], JSON.parse(lines[0]).data['critic/score/mean']);
});

test('TRL: a half-written completions Parquet file is not read until it is whole', async () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'completions'));
  const src = path.join(FIX, 'trl/completions/completions_00002.parquet');
  const dst = path.join(dir, 'completions/completions_00002.parquet');
  const bytes = fs.readFileSync(src);
  fs.writeFileSync(dst, bytes.subarray(0, bytes.length - 30));
  const run = openExternalRun(dir);
  assert.equal(run.framework, 'trl');
  await readAll(run);
  assert.equal(run.samplesByStep.size, 0);
  assert.deepEqual(run.errors, []);
  fs.writeFileSync(dst, bytes);
  await readAll(run);
  assert.equal(run.samplesByStep.get(2)?.length, 4);
});

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void { this.text += chunk.toString(); cb(); }
}

test('rlhf watch DIR --once --json prints framework, steps, latest metrics and samples per step', async () => {
  const out = new Sink(); const err = new Sink();
  const code = await watchCommand({ dir: path.join(FIX, 'verl'), once: true, json: true }, out, err);
  assert.equal(code, 0);
  const d = JSON.parse(out.text) as RunDescription;
  assert.equal(d.framework, 'verl');
  assert.equal(d.steps, 5);
  assert.equal(d.lastStep, 5);
  assert.equal(d.latest.reward_mean, expected('verl').metrics['5']['critic/score/mean']);
  assert.deepEqual(d.samplesPerStep, { 2: 3, 4: 3 });
  assert.equal(d.lastSamples?.step, 4);
  assert.equal(err.text, '');
  const code2 = await watchCommand({ dir: tmp(), once: true, json: true }, out, err);
  assert.equal(code2, 2);
  assert.match(err.text, /^rlhf watch: .*no run files/);
});

test('rlhf watch DIR (live) prints a line per new step as the run writes it', async () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'rollouts'));
  const row = (step: number) => `${JSON.stringify({ step, time: 1, 'train/agg/effective/solver/reward/mean': step / 10, 'loss/mean': 0.5 })}\n`;
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), row(1));
  const out = new Sink(); const ac = new AbortController();
  const done = watchCommand({ dir, intervalMs: 20, signal: ac.signal }, out, new Sink());
  const waitFor = (re: RegExp) => until(() => `${re} in ${out.text}`, () => re.test(out.text), 20_000, 20);
  await waitFor(/^step 1 {2}reward_mean 0\.1000? {2}policy_loss 0\.5/m);
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), row(2));
  await waitFor(/^step 2 {2}reward_mean 0\.2000? {2}policy_loss 0\.5/m);
  ac.abort();
  assert.equal(await done, 0);
  assert.match(out.text, /^watching .* \(prime-rl\)/);
});

test('Python\'s NaN in a verl rollout dump and in trainer_state.json reads as null instead of losing the file', async () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'rollout'));
  // what verl's json.dumps(entry) and transformers' json.dumps(state) write for a float("nan")
  fs.writeFileSync(path.join(dir, 'rollout/3.jsonl'), '{"input": "1+1=", "output": "NaN", "gts": "2", "score": NaN, "step": 3}\n');
  const run = openExternalRun(dir, 'verl');
  await readAll(run);
  const [item] = run.samplesByStep.get(3)!;
  assert.equal(item.response, 'NaN'); // a string "NaN" stays text
  assert.ok(Number.isNaN(item.reward));
  const trl = tmp();
  fs.writeFileSync(path.join(trl, 'trainer_state.json'), '{"log_history": [{"loss": 0.5, "reward": 0.1, "step": 1}, {"loss": NaN, "reward": -Infinity, "step": 2}]}');
  const t = await opened(trl);
  assert.deepEqual(t.model.metrics.step, [1, 2]);
  assert.equal(at(t, 'policy_loss', 2), null);
  assert.equal(at(t, 'reward_mean', 1), 0.1);
});

test('a poll reads only the bytes appended since the last one', async () => {
  const { JsonlTail } = await import('../../src/core/adapters/tail');
  const dir = tmp();
  const file = path.join(dir, 'm.jsonl');
  fs.writeFileSync(file, `${'{"step": 1, "x": 1}\n'.repeat(1000)}`);
  const tail = new JsonlTail(file);
  assert.equal(tail.poll().records.length, 1000);
  const size = fs.statSync(file).size;
  assert.equal(tail.bytes.offset, size);
  fs.appendFileSync(file, '{"step": 2, "x": 2}\n');
  const { records } = tail.poll();
  assert.deepEqual(records, [{ step: 2, x: 2 }]);
  assert.equal(tail.bytes.offset - size, 20);
});

test('TensorBoard torn at every byte: never an error, never a step too many, and whole again after the rest', async () => {
  const full = fs.readFileSync(eventFile(path.join(FIX, 'openrlhf')));
  const dir = tmp();
  const file = path.join(dir, 'events.out.tfevents.1.host');
  for (let cut = 0; cut <= full.length; cut += 1) {
    fs.writeFileSync(file, full.subarray(0, cut));
    const run = openExternalRun(dir, 'openrlhf');
    await readAll(run);
    assert.deepEqual(run.errors, [], `cut at ${cut}`);
    assert.ok(run.model.metrics.length <= 4);
    fs.appendFileSync(file, full.subarray(cut));
    await readAll(run);
    assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4], `cut at ${cut}`);
    assert.equal(run.sampleCounts.size, 4, `cut at ${cut}`);
  }
});

test('TensorBoard: every single-bit flip is caught by a CRC32C (reported, never decoded silently)', async () => {
  const full = fs.readFileSync(eventFile(path.join(FIX, 'openrlhf')));
  const dir = tmp();
  const file = path.join(dir, 'events.out.tfevents.1.host');
  let flips = 0;
  for (let byte = 0; byte < full.length; byte += 5) {
    const bad = Buffer.from(full);
    bad[byte] ^= 1 << (byte % 8);
    fs.writeFileSync(file, bad);
    const run = openExternalRun(dir, 'openrlhf');
    await readAll(run);
    // a flipped length is caught by its own checksum before the reader would wait for a longer record
    assert.ok(run.errors.length >= 1, `flip at byte ${byte} went unnoticed`);
    flips++;
  }
  assert.ok(flips > 500);
});

test('verl log torn at every byte: exactly the complete lines are read', async () => {
  const text = fs.readFileSync(path.join(FIX, 'verl/arith/grpo_tiny.jsonl'));
  const dir = tmp();
  const file = path.join(dir, 'exp.jsonl');
  for (let cut = 0; cut <= text.length; cut += 3) {
    fs.writeFileSync(file, text.subarray(0, cut));
    const run = openExternalRun(file, 'verl');
    await readAll(run);
    const complete = text.subarray(0, cut).toString().split('\n').length - 1;
    assert.equal(run.model.metrics.length, complete, `cut at ${cut}`);
    fs.appendFileSync(file, text.subarray(cut));
    await readAll(run);
    assert.equal(run.model.metrics.length, 5);
  }
});

/** A verl run folder as verl writes it: logs/<project>/<experiment>.jsonl (FileLogger's default root) and rollouts/<step>.jsonl (rollout_data_dir). */
function verlRunFolder(): string {
  const root = tmp();
  fs.mkdirSync(path.join(root, 'logs/arith'), { recursive: true });
  fs.copyFileSync(path.join(FIX, 'verl/arith/grpo_tiny.jsonl'), path.join(root, 'logs/arith/grpo_tiny.jsonl'));
  fs.cpSync(path.join(FIX, 'verl/rollout_data'), path.join(root, 'rollouts'), { recursive: true });
  return root;
}

test('verl as verl writes it: the run root, logs/ or logs/<project> each finds the metrics and the rollouts, named <project>/<experiment>', async () => {
  const root = verlRunFolder();
  for (const dir of [root, path.join(root, 'logs'), path.join(root, 'logs/arith')]) {
    assert.equal(detectFramework(dir), 'verl', dir);
    const run = await opened(dir);
    assert.deepEqual(run.model.metrics.step, [1, 2, 3, 4, 5], dir);
    assert.deepEqual([...run.sampleCounts.keys()], [2, 4], dir);
    assert.equal(run.name, 'arith/grpo_tiny');
    assert.equal(watchedRunId(run, () => false), 'verl:arith:grpo_tiny');
    assert.deepEqual(run.errors, []);
  }
  assert.equal(watchedRunId({ framework: 'verl', name: 'arith/grpo_tiny' }, (id) => id === 'verl:arith:grpo_tiny'), 'verl:arith:grpo_tiny (2)');
});

test('a verl folder without the file logger\'s JSONL says in one line what was looked for', async () => {
  const run = openExternalRun(tmp(), 'verl');
  await readAll(run);
  await readAll(run);
  assert.equal(run.errors.length, 1);
  assert.match(run.errors[0], /no verl file-logger JSONL \(looked for .*logs\/<project>\/<experiment>\.jsonl\) and no <step>\.jsonl rollout dumps/);
  assert.ok(!run.errors[0].includes('\n'));
  const dumpsOnly = tmp();
  fs.cpSync(path.join(FIX, 'verl/rollout_data'), path.join(dumpsOnly, 'rollouts'), { recursive: true });
  const run2 = await opened(dumpsOnly);
  assert.match(run2.errors.join('\n'), /only the rollout dumps are shown/);
  assert.deepEqual([...run2.sampleCounts.keys()], [2, 4]);
});

test('a watched run\'s state follows its files: idle when they have not changed for ACTIVE_MS, running when they do', async () => {
  const root = verlRunFolder();
  const old = (Date.now() - 2 * ACTIVE_MS) / 1000;
  for (const f of ['logs/arith/grpo_tiny.jsonl', 'logs/arith', 'logs', 'rollouts/2.jsonl', 'rollouts/4.jsonl', 'rollouts', '.']) fs.utimesSync(path.join(root, f), old, old);
  const run = openExternalRun(root);
  assert.equal(run.state(), 'idle'); // nothing read yet
  await readAll(run);
  assert.equal(run.state(), 'idle');
  fs.appendFileSync(path.join(root, 'logs/arith/grpo_tiny.jsonl'), `${JSON.stringify({ step: 6, data: { 'critic/score/mean': 0.9 } })}\n`);
  await readAll(run);
  assert.equal(run.state(), 'running');
  assert.equal(run.state(Date.now() + ACTIVE_MS + 1), 'idle');
  const fresh = await opened(verlRunFolder()); // files written just now
  assert.equal(fresh.state(), 'running');
});

test('the status bar follows native runs only: making a watched run active leaves it on the run it showed', () => {
  const watched = (id: string) => id.startsWith('verl:');
  assert.equal(statusBarRun(undefined, 'run-1', watched), 'run-1');
  assert.equal(statusBarRun('run-1', 'verl:arith:grpo_tiny', watched), 'run-1');
  assert.equal(statusBarRun(undefined, 'verl:arith:grpo_tiny', watched), undefined);
  assert.equal(statusBarRun('run-1', 'run-2', watched), 'run-2');
});

test('a watched run\'s dashboard shows only the panels of metrics it logged (no empty boxes); a native run keeps every policy panel', async () => {
  const run = await opened(path.join(FIX, 'nemo-rl'));
  const logged = (p: Panel) => p.keys.some((k) => (p.eval ? run.model.evals : run.model.metrics).values[k] !== undefined);
  assert.deepEqual(panelsFor(logged, true).map((p) => p.key), ['reward', 'eval', 'response_length']);
  assert.deepEqual(panelsFor(logged).map((p) => p.key), PANELS.filter((p) => !p.rm).map((p) => p.key));
});

test('NeMo-RL: a log dir\'s tensorboard/ event files are read with its dumps (and it is not taken for OpenRLHF)', async () => {
  const dir = tmp();
  fs.cpSync(path.join(FIX, 'nemo-rl/logs/exp_001'), path.join(dir, 'exp_001'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'exp_001/tensorboard'));
  const events = eventFile(path.join(FIX, 'openrlhf'));
  fs.copyFileSync(events, path.join(dir, 'exp_001/tensorboard', path.basename(events)));
  assert.equal(detectFramework(dir), 'nemo-rl');
  const run = await opened(dir);
  assert.equal(run.name, 'exp_001');
  close(at(run, 'train/kl', 1), expected('openrlhf').metrics['1'].kl); // a scalar of the event file, under its own tag
  assert.ok(run.samplesByStep.get(1)?.length);
  assert.deepEqual(run.errors, []);
});
