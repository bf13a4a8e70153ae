// The playground ("RLHF: Try Checkpoint"): its page and message contract (a title cannot inject
// markup, the CSP allows only the nonce'd style and script, malformed messages are refused on both
// sides), and its host session on the real thing: the embedded example's model exported by the
// trainer's exporter (a real process, progress lines reported as they come), run on onnxruntime-node.
// Tokens reach the page one message each while generation is still running, add up to exactly the
// non-streaming greedy answer, the run's rules score each answer, and Stop ends generation mid-answer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { playgroundHtml } from '../../webview/playground/html';
import {
  isHostToPlayground, isPlaygroundToHost, MAX_NEW_TOKENS_LIMIT, MAX_PROMPT_CHARS, type HostToPlayground,
} from '../../webview/playground/protocol';
import { exportOnnx, OnnxExportError } from '../../src/core/onnx/exportOnnx';
import { encodePrompt, generate } from '../../src/core/onnx/generate';
import { loadOnnxCausalLM, type OnnxCausalLM } from '../../src/core/onnx/model';
import { PlaygroundSession, runDatasetPrompts, type PlaygroundChoice } from '../../src/sessions/playgroundSession';
import { RewardEngine } from '../../src/core/rewards/engine';
import { rulesFromSpecs } from '../../src/core/rewards/load';
import { installLayout } from '../../src/core/training';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const WORKER = path.join(ROOT, 'dist', 'reward-eval-worker.js');
const settings = { temperature: 0, topP: 1, maxNewTokens: 8, greedy: true };

test('a title like <img src=x onerror=alert(1)> is inert in the playground page; the CSP has no unsafe source', () => {
  for (const title of ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "x' onload='alert(1)"]) {
    const html = playgroundHtml({ title, nonce: 'n0nce', cspSource: 'vscode-resource:', script: 'p.js' });
    assert.ok(!html.includes(title), title);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.match(html, /<script nonce="n0nce" src="p\.js"><\/script>/);
    const csp = /content="([^"]*)"/.exec(html)![1].replace(/&#39;/g, "'");
    assert.ok(!csp.includes('unsafe'), csp);
    assert.match(csp, /script-src 'nonce-n0nce'/);
    assert.match(csp, /default-src 'none'/);
  }
});

test('page -> host messages are validated: settings ranges, two columns, a prompt of bounded size', () => {
  const ok = { type: 'generate', prompt: '1+1=', models: ['a', null], settings };
  assert.ok(isPlaygroundToHost(ok));
  assert.ok(isPlaygroundToHost({ type: 'ready' }) && isPlaygroundToHost({ type: 'stop' }));
  const bad: unknown[] = [
    null, 'generate', { type: 'eval' }, { ...ok, prompt: '' }, { ...ok, prompt: 'x'.repeat(MAX_PROMPT_CHARS + 1) },
    { ...ok, models: ['a'] }, { ...ok, models: [null, null] }, { ...ok, models: ['a', 3] }, { ...ok, models: ['', null] },
    { ...ok, settings: { ...settings, topP: 0 } }, { ...ok, settings: { ...settings, topP: 1.5 } },
    { ...ok, settings: { ...settings, temperature: -1 } }, { ...ok, settings: { ...settings, temperature: Number.NaN } },
    { ...ok, settings: { ...settings, maxNewTokens: 0 } }, { ...ok, settings: { ...settings, maxNewTokens: 2.5 } },
    { ...ok, settings: { ...settings, maxNewTokens: MAX_NEW_TOKENS_LIMIT + 1 } }, { ...ok, settings: { ...settings, greedy: 'yes' } },
    { ...ok, settings: undefined },
  ];
  for (const m of bad) assert.ok(!isPlaygroundToHost(m), JSON.stringify(m));
});

test('host -> page messages are validated: columns in range, numbers finite', () => {
  const stats = { tokens: 3, stoppedBy: 'eos', firstTokenMs: 1.2, totalMs: 3.4, tokensPerSecond: null, device: 'cpu' };
  const good: HostToPlayground[] = [
    { type: 'init', title: 't', prompt: 'p', choices: [{ id: 'a', label: 'A' }], selected: ['a', null], settings, rewards: null },
    { type: 'token', column: 1, index: 0, text: '4' }, { type: 'done', column: 0, text: '42', stats: { ...stats, stoppedBy: 'eos' } },
    { type: 'reward', column: 0, reward: 1, breakdown: { correct: 1 } }, { type: 'status', column: 0, message: 'loading' },
    { type: 'error', column: 1, message: 'x' },
  ];
  for (const m of good) assert.ok(isHostToPlayground(m), JSON.stringify(m));
  const bad: unknown[] = [
    { type: 'token', column: 2, index: 0, text: 'x' }, { type: 'token', column: -1, index: 0, text: 'x' }, { type: 'token', column: 0, index: -1, text: 'x' },
    { type: 'token', column: '0', index: 0, text: 'x' }, { type: 'reward', column: 0, reward: Number.NaN, breakdown: {} },
    { type: 'reward', column: 0, reward: 1, breakdown: { a: 'x' } }, { type: 'done', column: 0, text: 'x', stats: { ...stats, tokensPerSecond: 'fast' } },
    { type: 'init', title: 't', prompt: 'p', choices: [{ id: 'a', label: 'A' }], selected: ['a'], settings, rewards: null },
    { type: 'html', column: 0, html: '<b>' },
  ];
  for (const m of bad) assert.ok(!isHostToPlayground(m), JSON.stringify(m));
});

function pythonMissing(): string | undefined {
  if (!fs.existsSync(PY)) return `${PY} is missing (npm run setup creates it)`;
  if (!fs.existsSync(path.join(EX, 'model', 'config.json'))) return 'examples/arithmetic/model is not built (the first training run builds it)';
  if (!fs.existsSync(WORKER)) return 'dist/reward-eval-worker.js is missing: node esbuild.mjs';
  const r = spawnSync(PY, ['-c', 'import onnx, onnxruntime, torch, transformers'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `.venv lacks onnx/onnxruntime: ${r.stderr.trim().split('\n').pop()}`;
}
const skip = pythonMissing();

let tmp = '';
let exported = '';
let progress: string[] = [];
let model: OnnxCausalLM;
let engine: RewardEngine;
const evalPrompts = () => fs.readFileSync(path.join(EX, 'data', 'eval.jsonl'), 'utf8').split('\n').filter(Boolean)
  .map((l) => JSON.parse(l) as { prompt: string; answer: string });

before(async () => {
  if (skip) return;
  tmp = tempDir('playground');
  exported = path.join(tmp, 'onnx');
  progress = [];
  await exportOnnx({ python: PY, layout: installLayout(ROOT), checkpoint: path.join(EX, 'model'), out: exported, onProgress: (m) => progress.push(m) });
  model = await loadOnnxCausalLM(exported, { device: 'cpu' });
  engine = new RewardEngine(rulesFromSpecs([{ name: 'correct', kind: 'answer_match', extract: 'full' }], EX), { workers: 1, workerScript: WORKER });
});

after(async () => {
  await engine?.close();
  await model?.session.release();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Without end-of-sequence ids the model writes max-new-tokens tokens: an answer long enough to stop for sure. */
function noEos(dir: string): void {
  for (const f of ['config.json', 'generation_config.json']) {
    const file = path.join(dir, f);
    if (fs.existsSync(file)) fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), eos_token_id: null }));
  }
}

/** A session on the export, recording what it posts and whether generation was still running at each post. */
function session(opts: { prepare?: boolean; onPost?: (m: HostToPlayground, s: PlaygroundSession) => void } = {}) {
  const posted: { m: HostToPlayground; pending: boolean }[] = [];
  const labels = new Map(evalPrompts().map((p) => [p.prompt, p.answer]));
  const choice: PlaygroundChoice = { id: 'ckpt', label: 'embedded model', dir: opts.prepare ? path.join(tmp, 'later') : exported };
  let pending = false;
  const s = new PlaygroundSession({
    title: 'arithmetic', prompt: '30+12=', choices: [choice], selected: ['ckpt', null], device: 'cpu', workerScript: path.join(ROOT, 'dist', 'onnx-worker.js'),
    rewards: { engine, describe: 'correct' }, labelOf: (p) => labels.get(p),
    prepare: opts.prepare ? (c, status) => { status('copying'); fs.cpSync(exported, c.dir, { recursive: true }); noEos(c.dir); return Promise.resolve(); } : undefined,
  }, (m) => {
    assert.ok(isHostToPlayground(m), `the host posts only valid messages: ${JSON.stringify(m)}`);
    posted.push({ m, pending });
    opts.onPost?.(m, s);
  });
  const run = async (m: unknown) => {
    s.handle(m);
    pending = true;
    await s.running;
    pending = false;
  };
  return { s, posted, run };
}

test('the trainer exporter reports its stages while it runs, and fails in one line on an architecture it cannot export', { skip, timeout: 300_000 }, async () => {
  assert.ok(progress.some((p) => p.startsWith('tracing')), progress.join(' | '));
  assert.ok(progress.some((p) => p.startsWith('done')), progress.join(' | '));
  const t5 = path.join(tmp, 't5');
  fs.mkdirSync(t5);
  fs.writeFileSync(path.join(t5, 'config.json'), JSON.stringify({ model_type: 't5', architectures: ['T5Model'], d_model: 16, num_layers: 1, num_heads: 2, d_kv: 8, d_ff: 32, vocab_size: 50 }));
  await assert.rejects(exportOnnx({ python: PY, layout: installLayout(ROOT), checkpoint: t5, out: path.join(tmp, 't5-out') }), (e: Error) => {
    assert.ok(e instanceof OnnxExportError);
    assert.match(e.message, /^cannot export T5Model: it is not a causal language model/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});

test('streamed tokens arrive one message each during generation and equal the non-streaming greedy answer on 20 prompts; the rules score it', { skip, timeout: 300_000 }, async () => {
  const { s, posted, run } = session();
  await run({ type: 'ready' });
  const init = posted.find((p) => p.m.type === 'init')?.m;
  assert.ok(init && init.type === 'init' && init.prompt === '30+12=' && init.rewards === 'correct');
  let scored = 0;
  for (const { prompt, answer } of evalPrompts().slice(0, 20)) {
    posted.length = 0;
    const reference = await generate(model, encodePrompt(model, prompt), { maxNewTokens: settings.maxNewTokens, greedy: true });
    await run({ type: 'generate', prompt, models: ['ckpt', null], settings });
    const tokens = posted.filter((p) => p.m.type === 'token');
    const done = posted.findIndex((p) => p.m.type === 'done');
    assert.equal(tokens.length, reference.tokens.length, prompt);
    assert.deepEqual(tokens.map((t) => (t.m as { index: number }).index), reference.tokens.map((_, i) => i));
    assert.ok(tokens.every((t) => t.pending), 'each token is posted while generation still runs');
    assert.ok(posted.indexOf(tokens[tokens.length - 1]) < done, 'all tokens before done');
    assert.equal(tokens.map((t) => (t.m as { text: string }).text).join(''), reference.text);
    const d = posted[done].m as Extract<HostToPlayground, { type: 'done' }>;
    assert.equal(d.text, reference.text);
    assert.equal(d.stats.tokens, reference.tokens.length);
    assert.equal(d.stats.device, 'cpu');
    const reward = posted.find((p) => p.m.type === 'reward')?.m as Extract<HostToPlayground, { type: 'reward' }>;
    const [expected] = await engine.evaluate([{ prompt, response: reference.text, label: answer }]);
    assert.deepEqual({ reward: reward.reward, breakdown: reward.breakdown }, { reward: expected.reward, breakdown: expected.breakdown });
    scored += reward.reward;
  }
  // the rules saw the dataset labels: the warm-started model answers some prompts right, not all wrong
  assert.ok(scored > 0, 'some answers score as correct');
  await s.dispose();
});

test('Stop during generation ends the answer within a few tokens; a model without an export is exported first', { skip, timeout: 300_000 }, async () => {
  // Stop as the first token reaches the page (as the page's Stop message would arrive)
  const { s, posted, run } = session({ prepare: true, onPost: (m, s) => { if (m.type === 'token' && m.index === 0) s.handle({ type: 'stop' }); } });
  s.handle({ type: 'ready' });
  await run({ type: 'generate', prompt: '30+12=', models: ['ckpt', null], settings: { ...settings, maxNewTokens: MAX_NEW_TOKENS_LIMIT } });
  const statuses = posted.filter((p) => p.m.type === 'status').map((p) => (p.m as { message: string }).message);
  // the exporter's lines reach the column, saying what is exported (the first one at once)
  assert.ok(statuses.includes('exporting embedded model to ONNX: starting the exporter (Python, torch)…')
    && statuses.includes('exporting embedded model to ONNX: copying'), statuses.join(' | '));
  const done = posted.find((p) => p.m.type === 'done')?.m as Extract<HostToPlayground, { type: 'done' }>;
  assert.equal(done.stats.stoppedBy, 'aborted');
  assert.ok(done.stats.tokens >= 1 && done.stats.tokens < MAX_NEW_TOKENS_LIMIT, `${done.stats.tokens} of ${MAX_NEW_TOKENS_LIMIT} tokens`);
  assert.equal(posted.filter((p) => p.m.type === 'token').length, done.stats.tokens);
  // a bad message changes nothing
  const before = posted.length;
  s.handle({ type: 'generate', prompt: '', models: ['ckpt', null], settings });
  s.handle({ type: 'generate', prompt: 'x', models: ['nope', null], settings: { ...settings, topP: 2 } });
  await s.running;
  assert.equal(posted.length, before);
  await s.dispose();
});

test('the dataset prefill reads the run config the trainer writes (absolute data.prompts, prompt_key, label_key) with the trainer\'s reader', () => {
  const dir = tempDir('playground-run');
  fs.writeFileSync(path.join(dir, 'q.jsonl'), '{"q": "2+2=", "a": "4"}\n\n{"q": "3+3=", "a": "6"}\n');
  fs.writeFileSync(path.join(dir, 'config.yaml'), `data:\n  prompts: ${path.join(dir, 'q.jsonl')}\n  prompt_key: q\n  label_key: a\n`);
  assert.deepEqual(runDatasetPrompts(dir), [{ prompt: '2+2=', label: '4' }, { prompt: '3+3=', label: '6' }]);
  // label_key left out: the schema's default 'label' (this reader once defaulted to 'answer'), input_template applied
  fs.writeFileSync(path.join(dir, 'r.jsonl'), '{"prompt": "1+1", "label": "2", "answer": "x"}\n');
  fs.writeFileSync(path.join(dir, 'config.yaml'), `data:\n  prompts: ${path.join(dir, 'r.jsonl')}\n  input_template: "Q: {} A:"\n`);
  assert.deepEqual(runDatasetPrompts(dir), [{ prompt: 'Q: 1+1 A:', label: '2' }]);
  // a file the trainer refuses (a line that is not JSON) prefills nothing rather than a guess
  fs.writeFileSync(path.join(dir, 'r.jsonl'), '{"prompt": "1+1", "label": "2"}\nnot json\n');
  assert.deepEqual(runDatasetPrompts(dir), []);
  assert.deepEqual(runDatasetPrompts(path.join(dir, 'missing')), []);
  fs.rmSync(dir, { recursive: true, force: true });
});
