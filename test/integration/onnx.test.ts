// ONNX parity (issue 12's "Done when"): the embedded example is trained for 3 steps by the real
// trainer, its checkpoint exported by `python -m rlhf_trainer.onnx_export` (a real process, which
// also writes PyTorch's greedy tokens for 50 held-out prompts), and onnxruntime-node's greedy
// decoding with the KV cache must give exactly the same tokens. Also: `rlhf try`'s core on the
// export and on a checkpoint that has none, and the sampler's contract.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { loadOnnxCausalLM, type OnnxCausalLM } from '../../src/core/onnx/model';
import { encodePrompt, generate, sampleTopP, seededRandom } from '../../src/core/onnx/generate';
import { tryCommand, type TryIo } from '../../src/core/onnx/tryCommand';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const EX = path.join(ROOT, 'examples', 'arithmetic');
const PROMPTS = 50;
const MAX_NEW_TOKENS = 8;

interface Reference { prompt: string; prompt_ids: number[]; tokens: number[] }

/** Why the Python side cannot run here, or undefined. */
function pythonMissing(): string | undefined {
  if (!fs.existsSync(PY)) return `${PY} is missing (npm run setup creates it)`;
  const r = spawnSync(PY, ['-c', 'import onnx, onnxruntime, torch, transformers'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `.venv lacks onnx/onnxruntime (pip install -r trainer/requirements.txt): ${r.stderr.trim().split('\n').pop()}`;
}
const skipReason = pythonMissing();

function run(args: string[], cwd: string): string {
  const r = spawnSync(PY, args, { cwd, encoding: 'utf8', timeout: 400_000 });
  assert.equal(r.status, 0, `${args.slice(0, 3).join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let checkpoint = '';
let exported = '';
let reference: Reference[] = [];
let model: OnnxCausalLM;

before(async () => {
  if (skipReason) return;
  const tmp = tempDir('onnx');
  run(['-m', 'rlhf_trainer', 'run', '--config', path.join(EX, 'config.yaml'), '--run-dir', path.join(tmp, 'run'), '--max-steps', '3'], ROOT);
  const checkpoints = path.join(tmp, 'run', 'checkpoints');
  checkpoint = path.join(checkpoints, fs.readdirSync(checkpoints).filter((n) => fs.existsSync(path.join(checkpoints, n, 'config.json'))).sort().pop() ?? '');
  const prompts = path.join(tmp, 'prompts.jsonl');
  fs.writeFileSync(prompts, fs.readFileSync(path.join(EX, 'data', 'eval.jsonl'), 'utf8').split('\n').slice(0, PROMPTS).join('\n') + '\n');
  exported = path.join(tmp, 'onnx-export');
  const log = run(['-m', 'rlhf_trainer.onnx_export', checkpoint, '-o', exported, '--int8',
    '--reference-prompts', prompts, '--reference-max-new-tokens', String(MAX_NEW_TOKENS)], ROOT);
  assert.match(log, /^export: done in/m, 'the exporter reports progress and completion');
  reference = JSON.parse(fs.readFileSync(path.join(exported, 'onnx', 'reference_greedy.json'), 'utf8')) as Reference[];
  model = await loadOnnxCausalLM(exported, { device: 'cpu' });
});

test('onnxruntime-node greedy decoding = PyTorch greedy decoding of the trained checkpoint on 50 prompts', { skip: skipReason, timeout: 600_000 }, async () => {
  assert.equal(reference.length, PROMPTS);
  const got: Reference[] = [];
  for (const r of reference) {
    const ids = encodePrompt(model, r.prompt);
    const g = await generate(model, ids, { maxNewTokens: MAX_NEW_TOKENS, greedy: true });
    got.push({ prompt: r.prompt, prompt_ids: ids, tokens: g.tokens });
  }
  assert.deepEqual(got, reference);
  // not a vacuous match: the answers are digits ended by <eos>, not empty
  assert.ok(got.filter((g) => g.tokens.length > 1 && model.eos.has(g.tokens[g.tokens.length - 1])).length >= PROMPTS / 2);
});

test('sampling: the same seed gives the same tokens, and top-p that keeps one token is greedy', { skip: skipReason }, async () => {
  const ids = encodePrompt(model, reference[0].prompt);
  const opts = { maxNewTokens: MAX_NEW_TOKENS, temperature: 1.5, topP: 0.95 };
  const a = await generate(model, ids, { ...opts, seed: 7 });
  const b = await generate(model, ids, { ...opts, seed: 7 });
  assert.deepEqual(a.tokens, b.tokens);
  const nucleus = await generate(model, ids, { maxNewTokens: MAX_NEW_TOKENS, temperature: 1.5, topP: 1e-9, seed: 3 });
  assert.deepEqual(nucleus.tokens, reference[0].tokens);
  // streamed pieces add up to the answer; speed figures are measured
  const pieces: string[] = [];
  const s = await generate(model, ids, { maxNewTokens: MAX_NEW_TOKENS, greedy: true, onToken: (t) => pieces.push(t.text) });
  assert.equal(pieces.length, s.tokens.length);
  assert.equal(pieces.join(''), s.text);
  assert.ok(s.firstTokenMs > 0 && (s.tokensPerSecond === null || s.tokensPerSecond > 0));
});

test('sampleTopP keeps the smallest set reaching top-p and never returns a token outside it', () => {
  const row = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
  const random = seededRandom(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(sampleTopP(row, 1, 0.8, random));
  assert.deepEqual([...seen].sort(), [0, 1]);
  for (let i = 0; i < 2000; i++) seen.add(sampleTopP(row, 1, 1, random));
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
});

function capture(): TryIo & { stdout: () => string; stderr: () => string } {
  let out = '', err = '';
  return { out: (t) => { out += t; }, err: (t) => { err += t; }, stdout: () => out, stderr: () => err };
}

test('rlhf try: greedy --json on the export prints the same tokens as PyTorch; the int8 graph runs too', { skip: skipReason }, async () => {
  const io = capture();
  assert.equal(await tryCommand({ target: exported, prompt: reference[1].prompt, greedy: true, maxNewTokens: MAX_NEW_TOKENS, json: true }, io), 0, io.stderr());
  const printed = JSON.parse(io.stdout()) as { tokens: number[]; prompt_ids: number[]; text: string; device: string };
  assert.deepEqual(printed.tokens, reference[1].tokens);
  assert.deepEqual(printed.prompt_ids, reference[1].prompt_ids);
  assert.equal(printed.device, 'cpu');
  const q = capture();
  assert.equal(await tryCommand({ target: exported, prompt: reference[1].prompt, greedy: true, int8: true, maxNewTokens: 4 }, q), 0, q.stderr());
  assert.match(q.stdout(), /\ntokens: \d+/);
  assert.match(q.stderr(), /first token [\d.]+ ms/);
});

test('rlhf try: a checkpoint without an export, or a folder that is neither, fails with one line saying what to do', { skip: skipReason }, async () => {
  const io = capture();
  assert.equal(await tryCommand({ target: checkpoint, prompt: '1+1=' }, io), 2);
  assert.equal(io.stderr().trim().split('\n').length, 1);
  assert.ok(io.stderr().includes(`${checkpoint} is a checkpoint without an ONNX export; export it first: rlhf export ${checkpoint} --format onnx -o ${checkpoint}`), io.stderr());
  const empty = capture();
  assert.equal(await tryCommand({ target: os.tmpdir(), prompt: '1+1=' }, empty), 2);
  assert.match(empty.stderr(), /neither an ONNX export \(onnx\/model\.onnx\) nor a checkpoint/);
});

test('rlhf try: a 40,000-character prompt is one line (exit 2), not a crash; max new tokens past the model\'s positions is lowered, with a note', { skip: skipReason }, async () => {
  const huge = capture();
  assert.equal(await tryCommand({ target: exported, prompt: '12+30='.repeat(6667).slice(0, 40_000), greedy: true }, huge), 2);
  assert.deepEqual(huge.stderr().trim().split('\n'), [`rlhf try: the prompt has ${encodePrompt(model, '12+30='.repeat(6667).slice(0, 40_000)).length} tokens, `
    + 'beyond the model\'s 64 positions (max_position_embeddings in config.json): shorten the prompt']);
  // the CLI: onnxruntime-node crashes (exit 139) in a process with a 40,000-character argument, so that never gets to load it
  const cli = (...a: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'try', exported, ...a], { encoding: 'utf8', timeout: 120_000 });
  const long = '12+30='.repeat(6667).slice(0, 40_000);
  const argv = cli('--prompt', long, '--greedy');
  assert.equal(argv.status, 2, argv.stderr);
  assert.equal(argv.stderr, 'rlhf try: a --prompt of 40000 characters is too long for a command line here (onnxruntime-node crashes on one); write it to a file and pass --prompt-file FILE\n');
  const file = path.join(path.dirname(exported), 'long-prompt.txt');
  fs.writeFileSync(file, long);
  const viaFile = cli('--prompt-file', file, '--greedy');
  assert.equal(viaFile.status, 2, viaFile.stderr);
  assert.match(viaFile.stderr, /^rlhf try: the prompt has \d+ tokens, beyond the model's 64 positions \(max_position_embeddings in config\.json\): shorten the prompt\n$/);
  const over = capture(); // prompt + max new tokens past the positions: lowered to fit, and said so
  const ids = encodePrompt(model, reference[1].prompt).length;
  assert.equal(await tryCommand({ target: exported, prompt: reference[1].prompt, greedy: true, maxNewTokens: 64 }, over), 0, over.stderr());
  assert.match(over.stderr(), new RegExp(`rlhf try: max new tokens lowered from 64 to ${64 - ids}: the prompt has ${ids} tokens of the model's 64 positions`));
  // the playground's worker calls generate() itself: the same limits
  const g = await generate(model, encodePrompt(model, reference[1].prompt), { maxNewTokens: 64, greedy: true });
  assert.ok(g.tokens.length <= 64 - ids && /lowered from 64/.test(g.note ?? ''), JSON.stringify(g));
  await assert.rejects(generate(model, encodePrompt(model, '1+1='.repeat(100)), { maxNewTokens: 1 }), /beyond the model's 64 positions/);
});
