// The rule engine: every rule kind, TypeScript modules, hostile rules, determinism, and the three
// ways it is used (stdio worker, CLI replay, OpenRLHF-compatible HTTP).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import Ajv from 'ajv';
import { RewardEngine } from '../../src/core/rewards/engine';
import { answersMatch, boxed, extractAnswer, lastNumber, numbersEqual, parseNumber, tokenCount } from '../../src/core/rewards/helpers';
import { ModuleCompileError, loadRules, rulesFromSpecs, rulesFromText } from '../../src/core/rewards/load';
import { replayRun } from '../../src/core/rewards/replay';
import { compileRules } from '../../src/core/rewards/rules';
import { serveRewards } from '../../src/core/rewards/serve';
import { diagnoseConfig } from '../../src/core/configDiagnostics';
import { tempDir, until } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(ROOT, 'dist', 'reward-eval-worker.js');
const engines: RewardEngine[] = [];
const engine = (specs: unknown[], opts: ConstructorParameters<typeof RewardEngine>[1] = {}, baseDir = ROOT) => {
  const e = new RewardEngine(rulesFromSpecs(specs, baseDir), { workerScript: WORKER, workers: 2, ...opts });
  engines.push(e);
  return e;
};
after(async () => { for (const e of engines) await e.close(); });
const tmp = () => tempDir('rules');
/** A JSON Schema from schemas/ (ajv and diagnoseConfig check the schema itself). */
const readSchema = (name: string): object => {
  const s: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', name), 'utf8'));
  assert.ok(typeof s === 'object' && s !== null, `${name} is not a JSON object`);
  return s;
};
const S = (response: string, label: unknown = '42', prompt = 'q') => ({ prompt, response, label });

test('helpers: numeric forms, extraction, counting', () => {
  assert.equal(parseNumber('1/2'), 0.5);
  assert.equal(parseNumber('50%'), 0.5);
  assert.equal(parseNumber('\\frac{1}{2}'), 0.5);
  assert.equal(parseNumber('1,234'), 1234);
  assert.ok(Number.isNaN(parseNumber('abc')));
  assert.ok(numbersEqual('0.5', '1/2') && numbersEqual('50%', 0.5) && !numbersEqual('0.5', '0.51'));
  assert.ok(numbersEqual('100', '100.00001', 1e-6));
  assert.equal(lastNumber('first 3, then 1,234.5 apples'), '1234.5');
  assert.equal(boxed('so \\boxed{\\frac{1}{2}} done'), '\\frac{1}{2}');
  assert.equal(extractAnswer('Answer: x=17; ok', { regex: 'x=(\\d+)' }), '17');
  assert.equal(extractAnswer('noise {"result": {"answer": 9}} end', { json: 'result.answer' }), '9');
  assert.ok(answersMatch('Paris.', 'paris') && !answersMatch(null, '1'));
  assert.equal(tokenCount('Hello, world!'), 4);
});

test('every declarative rule kind, weights and the per-rule breakdown', async () => {
  const e = engine([
    { name: 'ans', kind: 'answer_match', extract: 'boxed', tolerance: 1e-3 },
    { name: 'fmt', kind: 'format', pattern: '.*\\\\boxed\\{.*\\}', weight: 0.5 },
    { kind: 'regex', pattern: 'because', flags: 'i', reward: 0.2 },
    { kind: 'length_penalty', unit: 'words', max: 3, per_unit: 0.1 },
    { kind: 'contains', text: ['therefore', 'thus'] },
    { kind: 'not_contains', text: 'I cannot', reward: 0, otherwise: -1 },
  ]);
  const [good, bad] = await e.evaluate([S('Because thus \\boxed{1/2}', '0.5'), S('I cannot answer', '0.5')]);
  assert.deepEqual(good.breakdown, { ans: 1, fmt: 1, regex: 0.2, length_penalty: 0, contains: 1, not_contains: 0 });
  assert.equal(good.reward, 1 + 0.5 + 0.2 + 0 + 1 + 0);
  assert.deepEqual(bad.breakdown, { ans: 0, fmt: 0, regex: 0, length_penalty: 0, contains: 0, not_contains: -1 });
  assert.ok(Math.abs(bad.reward - -1) < 1e-12);
  const [long] = await e.evaluate([S('Because thus \\boxed{0.5} and more words here', '1/2')]);
  assert.ok(Math.abs(long.breakdown.length_penalty - -0.4) < 1e-12);
});

test('bad rules are refused with the rule and the fix named', () => {
  assert.throws(() => compileRules([{ kind: 'regexp', pattern: 'x' }]), /reward\.rules\[0\]: unknown kind 'regexp'; use one of answer_match/);
  assert.throws(() => compileRules([{ kind: 'regex', pattern: '(' }]), /reward\.rules\[0\]: invalid pattern/);
  assert.throws(() => compileRules([{ name: 'a', kind: 'contains', text: 'x' }, { name: 'a', kind: 'contains', text: 'y' }]), /used twice/);
  assert.throws(() => rulesFromSpecs([{ kind: 'module', path: 'nope.reward.ts' }], tmp()), /not found; fix the path/);
});

test('TypeScript rule modules: types stripped, helpers passed, breakdown kept; syntax errors carry positions', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'm.reward.ts'), `
    import type { Rule } from './rlhf-rewards';
    interface Extra { bonus: number }
    const extra: Extra = { bonus: 0.25 };
    const rule: Rule = (s, h) => ({ reward: (h.answersMatch(h.lastNumber(s.response), s.label) ? 1 : 0) + extra.bonus, breakdown: { bonus: extra.bonus } });
    export default rule;`);
  const e = engine([{ kind: 'module', path: 'm.reward.ts', name: 'm' }], {}, dir);
  const [r] = await e.evaluate([S('it is 42')]);
  assert.equal(r.reward, 1.25);
  assert.deepEqual(r.breakdown, { m: 1.25, 'm.bonus': 0.25 });
  fs.writeFileSync(path.join(dir, 'bad.reward.ts'), 'export default (s) => {\n  return s.response.length +;\n};\n');
  try { loadRules(path.join(dir, 'bad.reward.ts')); assert.fail('should not compile'); } catch (err) {
    assert.ok(err instanceof ModuleCompileError);
    assert.equal(err.diagnostics[0].line, 2);
    assert.match(err.message, /bad\.reward\.ts:2:\d+: /);
  }
  // an unsaved editor buffer wins over the file on disk
  const set = rulesFromText(path.join(dir, 'bad.reward.ts'), 'export default () => 3;');
  const e2 = new RewardEngine(set, { workerScript: WORKER, workers: 1 });
  engines.push(e2);
  assert.equal((await e2.evaluate([S('x')]))[0].reward, 3);
});

test('hostile rules: loop, throw, huge string, NaN, unbounded allocation — each a recorded error within budget, the rest scored', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'hostile.reward.ts'), `
    export default (s: { response: string }) => {
      switch (s.response) {
        case 'loop': for (;;) {}
        case 'throw': throw new Error('boom');
        case 'huge': return 'x'.repeat(2 ** 30).length;
        case 'nan': return NaN;
        case 'string': return 'one' as unknown as number;
        case 'alloc': { const a: number[][] = []; for (;;) a.push(new Array(1e6).fill(1)); }
        default: return 1;
      }
    };`);
  const e = engine([{ kind: 'module', path: 'hostile.reward.ts' }], { timeBudgetMs: 300, memoryMb: 64, fallback: -5, workers: 1 }, dir);
  const inputs = ['ok', 'loop', 'ok', 'throw', 'huge', 'nan', 'string', 'alloc', 'ok'];
  const t0 = Date.now();
  const res = await e.evaluate(inputs.map((r) => S(r)));
  const took = Date.now() - t0;
  const errs = res.map((r) => r.error ?? '');
  assert.deepEqual(res.map((r) => r.reward), [1, -5, 1, -5, -5, -5, -5, -5, 1]);
  assert.match(errs[1], /time budget of 300 ms/);
  assert.match(errs[3], /threw: boom/);
  assert.match(errs[4], /Invalid string length|memory cap|threw/);
  assert.match(errs[5], /NaN, not a finite number/);
  assert.match(errs[6], /string, not a finite number/);
  assert.match(errs[7], /memory cap of 64 MB|crashed|ended the worker/);
  assert.ok(took < 20_000, `took ${took} ms`);
});

test('same inputs, same outputs (Math.random is seeded per sample)', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'r.reward.ts'), 'export default () => Math.random();');
  const a = await engine([{ kind: 'module', path: 'r.reward.ts' }], {}, dir).evaluate([S('a'), S('b'), S('a')]);
  const b = await engine([{ kind: 'module', path: 'r.reward.ts' }], { workers: 1 }, dir).evaluate([S('a'), S('b'), S('a')]);
  assert.deepEqual(a.map((r) => r.reward), b.map((r) => r.reward));
  assert.equal(a[0].reward, a[2].reward);
  assert.notEqual(a[0].reward, a[1].reward);
});

test('stdio reward worker speaks schemas/reward-worker.schema.json', async () => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(readSchema('reward-worker.schema.json'));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'reward-worker.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: unknown[] = [];
  let buf = '';
  child.stdout.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); } });
  const reqs = [
    { v: 1, type: 'init', options: { rules: [{ name: 'correct', kind: 'answer_match', extract: 'full' }], time_budget_ms: 500 } },
    { v: 1, type: 'score', id: 7, items: [{ prompt: '1+1=', response: '2', label: '2' }, { prompt: '1+1=', response: '3', label: '2' }] },
  ];
  for (const r of reqs) { assert.ok(validate(r)); child.stdin.write(JSON.stringify(r) + '\n'); }
  await until('two lines from the reward worker', () => lines.length >= 2, 10_000, 20);
  child.stdin.end();
  for (const l of lines) assert.ok(validate(l), JSON.stringify(validate.errors));
  assert.deepEqual(lines[0], { v: 1, type: 'ready', rules: ['correct'] });
  assert.deepEqual(lines[1], { v: 1, type: 'result', id: 7, rewards: [1, 0], errors: [null, null], breakdown: [{ correct: 1 }, { correct: 0 }] });
});

test('replay on recorded samples: mean, distribution, and the samples whose reward changed', async () => {
  const run = tmp();
  const rows = [
    { step: 1, index: 0, prompt: '1+1=', response: '2', label: '2', reward: 1 },
    { step: 1, index: 1, prompt: '1+2=', response: '4', label: '3', reward: 0 },
    { step: 2, index: 0, prompt: '2+2=', response: '4.0', label: '4', reward: 0 },
  ];
  fs.writeFileSync(path.join(run, 'samples.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"torn":');
  const e = engine([{ kind: 'answer_match', extract: 'full' }]);
  const rep = await replayRun(e, run, 2);
  assert.equal(rep.n, 2);
  assert.equal(rep.mean, 0.5);
  assert.equal(rep.recordedMean, 0);
  assert.deepEqual(rep.differ.map((d) => [d.step, d.recorded, d.now]), [[2, 0, 1]]);
  assert.equal(rep.histogram.reduce((a, b) => a + b.count, 0), 2);
});

test('serve-rewards: OpenRLHF JSON on 127.0.0.1 with a bearer token; empty requests answered', async () => {
  const e = engine([{ kind: 'answer_match', extract: 'full' }]);
  const srv = await serveRewards(e, { token: 'tok' });
  try {
    assert.match(srv.headerUrl, /^http:\/\/127\.0\.0\.1:\d+\/get_reward$/);
    const post = (body: object, auth = 'Bearer tok') => fetch(srv.headerUrl, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post({ query: [] }, 'Bearer nope')).status, 401);
    const r = await post({ query: ['1+1=2', '1+1=5'], prompts: ['1+1=', '1+1='], labels: ['2', '2'] });
    assert.deepEqual(await r.json(), { rewards: [1, 0], scores: [1, 0], extra_logs: { answer_match: [1, 0] } });
    assert.deepEqual(await (await post({ query: [], prompts: [], labels: [] })).json(), { rewards: [], scores: [], extra_logs: {} });
  } finally { await srv.close(); }
});

test('config diagnostics point at the offending YAML node', () => {
  const schema = readSchema('config.schema.json');
  const text = 'model:\n  policy: m\ndata:\n  prompts: p.jsonl\nreward:\n  rules:\n    - kind: answer_mtch\n    - kind: regex\n      pattern: "("\ntrain:\n  lr: fast\n  bogus: 1\n';
  const probs = diagnoseConfig(text, schema);
  const at = (needle: string) => probs.find((p) => text.slice(p.start, p.end).includes(needle));
  assert.match(at('answer_mtch')!.message, /reward\.rules\.0\.kind: must be one of "answer_match"/);
  assert.match(at('fast')!.message, /train\.lr: must be number/);
  assert.match(at('bogus')!.message, /unknown key 'bogus'/);
  const fixed = text.replace('answer_mtch', 'answer_match').replace('fast', '0.1').replace('  bogus: 1\n', '');
  const rest = diagnoseConfig(fixed, schema);
  assert.equal(rest.length, 1);
  assert.match(rest[0].message, /reward\.rules\[1\].*invalid pattern/);
  assert.ok(fixed.slice(rest[0].start, rest[0].end).includes('pattern'));
  assert.deepEqual(diagnoseConfig(fs.readFileSync(path.join(ROOT, 'examples/arithmetic/config.yaml'), 'utf8'), schema), []);
});

test('the New Reward Rules scaffold type-checks with its .d.ts alone (no npm install)', () => {
  const dir = tmp();
  for (const [src, dst] of [['rlhf-rewards.d.ts', 'rlhf-rewards.d.ts'], ['example.reward.ts', 'example.reward.ts'], ['rewards-tsconfig.json', 'tsconfig.json']]) {
    fs.copyFileSync(path.join(ROOT, 'media', src), path.join(dir, dst));
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require(path.join(ROOT, 'node_modules', 'typescript')) as typeof import('typescript');
  const cfg = ts.getParsedCommandLineOfConfigFile(path.join(dir, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
  const program = ts.createProgram(cfg.fileNames, cfg.options);
  const diags = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diags, []);
  assert.ok(cfg.fileNames.some((f) => f.endsWith('example.reward.ts')));
  // and a type error is caught: helpers are typed
  fs.writeFileSync(path.join(dir, 'wrong.reward.ts'), "import type { Rule } from './rlhf-rewards';\nconst r: Rule = (s, h) => h.lastNumber(42);\nexport default r;\n");
  const cfg2 = ts.getParsedCommandLineOfConfigFile(path.join(dir, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
  const d2 = ts.getPreEmitDiagnostics(ts.createProgram(cfg2.fileNames, cfg2.options));
  assert.ok(d2.length > 0);
});

