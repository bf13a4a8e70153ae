// The playground's pure parts (#22 item 9): its starting settings are the run's rollout sampling and
// say so; the speed figure (decode tokens/s from 8 decode tokens on, else "n tokens in X ms"; a
// session figure as sum over sum); the exporter's progress lines reach every column waiting on the
// export; and a model without an export is exported into a cache outside the run folder.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { sampleTopP } from '../../src/core/onnx/generate';
import { exportCacheDir, playgroundSettings, runChoices, runSampling } from '../../src/core/onnx/playgroundRun';
import { DEFAULT_SETTINGS, PlaygroundSession, type PlaygroundChoice } from '../../src/sessions/playgroundSession';
import {
  addToTally, decodeRate, isHostToPlayground, isPlaygroundToHost, MIN_RATE_TOKENS, speedText, tallyRate, type HostToPlayground,
} from '../../webview/playground/protocol';
import { tempDir } from '../helpers';

const tmp = tempDir('playground-unit');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(name: string, config: string | null, events: object[] = []): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  if (config !== null) fs.writeFileSync(path.join(dir, 'config.yaml'), config);
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  return dir;
}

// ---- 1. settings ------------------------------------------------------------------------------

test('a run\'s playground starts from its rollout sampling (config.yaml rollout), and says so', () => {
  const dir = run('cfg', 'rollout:\n  temperature: 1.0\n  top_p: 0.9\n  top_k: 40\n  max_new_tokens: 32\n');
  const s = playgroundSettings(dir);
  assert.deepEqual(s.settings, { temperature: 1, topP: 0.9, topK: 40, maxNewTokens: 32, greedy: false });
  assert.match(s.source, /^from the run's rollout settings \(config\.yaml rollout: temperature 1, top-p 0\.9, top-k 40, 32 tokens\)$/);
  assert.notDeepEqual(s.settings, DEFAULT_SETTINGS, 'not the playground\'s own 0.7 / 0.95');
  // a key the config leaves out is the trainer's default (temperature 1, top-p 1, top-k off)
  const d = runSampling(run('cfg-defaults', 'rollout:\n  max_new_tokens: 6\n  top_k: null\n'));
  assert.deepEqual(d?.settings, { temperature: 1, topP: 1, topK: 0, maxNewTokens: 6, greedy: false });
});

test('without a rollout in config.yaml the settings come from run_started.sampling; without either, the defaults say so', () => {
  const started = { v: 1, type: 'run_started', time: 1, config: {}, sampling: { do_sample: true, temperature: 0.8, top_p: 1, top_k: 0, max_new_tokens: 16 } };
  const s = playgroundSettings(run('events', null, [{ v: 1, type: 'log', time: 0, level: 'info', message: 'x' }, started]));
  assert.deepEqual(s.settings, { temperature: 0.8, topP: 1, topK: 0, maxNewTokens: 16, greedy: false });
  assert.match(s.source, /^from the run's rollout settings \(run_started sampling: /);
  const none = playgroundSettings(run('none', 'model: {policy: x}\n'));
  assert.deepEqual(none.settings, DEFAULT_SETTINGS);
  assert.match(none.source, /^playground defaults \(the run records no rollout sampling\)/);
  assert.match(playgroundSettings(undefined).source, /^playground defaults \(not opened on a run\)/);
});

test('the page gets the run\'s settings and where they came from in init; top-k is validated', () => {
  const posted: HostToPlayground[] = [];
  const { settings, source } = playgroundSettings(run('init', 'rollout: {temperature: 1.0, top_p: 1.0, top_k: 50, max_new_tokens: 8}\n'));
  const s = new PlaygroundSession({ title: 't', prompt: 'p', choices: [{ id: 'a', label: 'A', dir: tmp }], selected: ['a'], settings, settingsSource: source },
    (m) => posted.push(m));
  s.handle({ type: 'ready' });
  const init = posted[0];
  assert.ok(isHostToPlayground(init) && init.type === 'init');
  assert.deepEqual(init.settings, { temperature: 1, topP: 1, topK: 50, maxNewTokens: 8, greedy: false });
  assert.equal(init.settingsSource, source);
  const gen = { type: 'generate', prompt: 'p', models: ['a', null], settings: { ...settings } };
  assert.ok(isPlaygroundToHost(gen));
  assert.ok(!isPlaygroundToHost({ ...gen, settings: { ...settings, topK: -1 } }));
  assert.ok(!isPlaygroundToHost({ ...gen, settings: { ...settings, topK: 2.5 } }));
});

test('top-k keeps only the k most likely tokens, then top-p on their renormalised mass', () => {
  const row = Float32Array.from([0, 3, 1, 2]); // most likely: 1, 3, 2, 0
  const seen = new Set<number>();
  let r = 0;
  const random = () => (r = (r + 0.137) % 1);
  for (let i = 0; i < 200; i++) seen.add(sampleTopP(row, 1, 1, random, 2));
  assert.deepEqual([...seen].sort(), [1, 3]);
  // top-k 2 then top-p 0.5: token 1 alone holds e^3/(e^3+e^2) = 0.73 of the two
  for (let i = 0; i < 50; i++) assert.equal(sampleTopP(row, 1, 0.5, random, 2), 1);
  seen.clear();
  for (let i = 0; i < 300; i++) seen.add(sampleTopP(row, 1, 1, random, 0));
  assert.equal(seen.size, 4, 'top-k 0 is off');
});

// ---- 2. speed -----------------------------------------------------------------------------------

test('decode tokens/s excludes the first token, and is null below 8 decode tokens (3-token answers swung 254-2341)', () => {
  assert.equal(MIN_RATE_TOKENS, 8);
  // 3 tokens: 2 decode tokens in 0.854 ms and in 7.87 ms were "2341" and "254" tokens/s
  assert.equal(decodeRate(3, 10, 10.854), null);
  assert.equal(decodeRate(3, 10, 17.87), null);
  assert.equal(decodeRate(8, 10, 50), null, '7 decode tokens');
  assert.equal(decodeRate(9, 10, 50), 200, '8 decode tokens in 40 ms');
  assert.equal(decodeRate(21, 100, 300), 100, '(21 - 1) tokens / (300 - 100) ms; the first token\'s 100 ms is not in it');
  assert.equal(decodeRate(1, 10, 10), null);
  assert.equal(decodeRate(20, 10, 10), null, 'no time: no rate');
});

test('a short answer reads "n tokens in X ms"; the session rate is all decode tokens / all decode time', () => {
  const short = { tokens: 3, firstTokenMs: 12, totalMs: 14.6, tokensPerSecond: null };
  assert.equal(speedText(short), '3 tokens in 15 ms');
  assert.equal(speedText({ tokens: 1, firstTokenMs: 12, totalMs: 12, tokensPerSecond: null }), '1 token in 12 ms');
  assert.equal(speedText({ tokens: 21, firstTokenMs: 100, totalMs: 300, tokensPerSecond: 100 }), '100.0 tokens/s');
  let t = addToTally(undefined, short);
  assert.deepEqual({ ...t, ms: Math.round(t.ms * 10) / 10 }, { answers: 1, tokens: 2, ms: 2.6 });
  assert.equal(speedText(short, t), '3 tokens in 15 ms', 'one answer: no session figure');
  for (let i = 0; i < 3; i++) t = addToTally(t, { tokens: 4, firstTokenMs: 10, totalMs: 16 }); // 3 decode tokens in 6 ms each
  assert.deepEqual({ ...t, ms: Math.round(t.ms * 10) / 10 }, { answers: 4, tokens: 11, ms: 20.6 });
  assert.equal(tallyRate(t)!.toFixed(1), (11 / 0.0206).toFixed(1));
  assert.equal(speedText(short, t), `3 tokens in 15 ms · session ${(11 / 0.0206).toFixed(1)} tokens/s over 4 answers`);
  assert.equal(tallyRate({ answers: 3, tokens: 7, ms: 5 }), null, 'below 8 decode tokens in all');
});

// ---- 3. the export's progress in the column ----------------------------------------------------

test('the exporter\'s progress lines reach every column waiting on the export, prefixed with what is exported', async () => {
  const posted: HostToPlayground[] = [];
  const choice: PlaygroundChoice = { id: 'c', label: 'run step 3 (exports first)', dir: path.join(tmp, 'no-export'), source: tmp };
  let prepared = 0;
  const s = new PlaygroundSession({
    title: 't', prompt: 'p', choices: [choice], selected: ['c', 'c'],
    prepare: (_c, status) => { prepared++; status('loading the checkpoint'); status('tracing LlamaForCausalLM'); return Promise.reject(new Error('stop here')); },
  }, (m) => posted.push(m));
  s.handle({ type: 'generate', prompt: 'p', models: ['c', 'c'], settings: DEFAULT_SETTINGS });
  await s.running;
  assert.equal(prepared, 1, 'one export for both columns');
  for (const column of [0, 1]) {
    const lines = posted.filter((m) => m.type === 'status' && m.column === column).map((m) => (m as { message: string }).message);
    assert.deepEqual(lines, ['exporting run step 3 to ONNX: starting the exporter (Python, torch)…',
      'exporting run step 3 to ONNX: loading the checkpoint', 'exporting run step 3 to ONNX: tracing LlamaForCausalLM'], `column ${column}`);
    assert.ok(posted.some((m) => m.type === 'error' && m.column === column && m.message === 'stop here'), `column ${column} ends with the failure`);
  }
  await s.dispose();
});

// ---- 4. exports outside the run folder ---------------------------------------------------------

function checkpoint(runDir: string, step: number, exported = false): string {
  const dir = path.join(runDir, 'checkpoints', `step-${String(step).padStart(6, '0')}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'COMPLETE'), '');
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'model.safetensors'), 'w');
  if (exported) { fs.mkdirSync(path.join(dir, 'onnx')); fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), ''); }
  return dir;
}

test('the playground exports a model without an export into the cache, never into the run folder; an explicit export is used in place', () => {
  const policy = path.join(tmp, 'models', 'tiny');
  fs.mkdirSync(policy, { recursive: true });
  fs.writeFileSync(path.join(policy, 'config.json'), '{}');
  const runDir = run('with-ckpts', `model:\n  policy: ${policy}\n`);
  const fresh = checkpoint(runDir, 1);
  const exported = checkpoint(runDir, 2, true);
  const cache = path.join(tmp, 'global-storage', 'onnx-cache');
  const choices = runChoices(runDir, 'r', cache);
  const byId = new Map(choices.map((c) => [c.id, c]));
  const inRun = (p: string) => !path.relative(runDir, p).startsWith('..');

  const c1 = byId.get(fresh)!;
  assert.ok(!inRun(c1.dir), `step 1 exports to ${c1.dir}, outside ${runDir}`);
  assert.equal(path.dirname(c1.dir), cache);
  assert.equal(c1.source, fresh);
  assert.match(c1.label, /^r step 1 \(exports first\)$/);
  const c2 = byId.get(exported)!;
  assert.equal(c2.dir, exported, 'Export as ONNX wrote into the checkpoint: the playground runs that export');
  assert.equal(c2.source, undefined);
  const initial = choices.find((c) => c.initial)!;
  assert.ok(initial && !inRun(initial.dir) && path.dirname(initial.dir) === cache && initial.source === policy, JSON.stringify(initial));
  for (const c of choices) if (c.source) assert.ok(!inRun(c.dir), c.dir);
});

test('the cache folder of a model is stable, and changes when its weights are saved again', () => {
  const runDir = run('cache-key', null);
  const ckpt = checkpoint(runDir, 7);
  const cache = path.join(tmp, 'cache');
  const a = exportCacheDir(cache, ckpt);
  assert.equal(exportCacheDir(cache, ckpt), a);
  assert.match(path.basename(a), /^step-000007-[0-9a-f]{16}$/);
  assert.notEqual(exportCacheDir(cache, checkpoint(run('cache-key-2', null), 7)), a, 'another run\'s step 7');
  fs.writeFileSync(path.join(ckpt, 'model.safetensors'), 'new weights');
  assert.notEqual(exportCacheDir(cache, ckpt), a, 'saved again');
});
