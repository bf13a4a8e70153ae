// rlhf serve-rewards as a real process, driven by a real HTTP client (fetch): the token in the URL
// (OpenRLHF sends no header) or in the header, hostile bodies, concurrent requests where one hangs,
// and many large bodies at once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir, until } from '../helpers';

const CLI = path.resolve(__dirname, '../..', 'dist', 'cli.js');
let server: ChildProcess;
let url = '';
let headerUrl = '';

before(async () => {
  const dir = tempDir('serve');
  fs.writeFileSync(path.join(dir, 'r.reward.ts'), `export default (s: { response: string; label: unknown }) => {
    if (s.response.startsWith('hang')) for (;;) {}
    return s.response.trim() === String(s.label) ? 1 : 0;
  };`);
  server = spawn(process.execPath, [CLI, 'serve-rewards', path.join(dir, 'r.reward.ts'), '--token', 's3cret'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  server.stdout!.on('data', (d) => { out += d; });
  await until(() => `serve-rewards to print its URLs, got: ${out}`, () => /other clients/.test(out));
  url = /--reward\.remote_url (\S+)/.exec(out)![1];
  headerUrl = /POST (\S+) with the header/.exec(out)![1];
});
after(() => { server.kill('SIGTERM'); });

const post = (u: string, body: string, headers: Record<string, string> = {}) => fetch(u, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
const q = (pairs: [string, string][]) => JSON.stringify({ query: pairs.map(([p, r]) => p + r), prompts: pairs.map(([p]) => p), labels: pairs.map(() => '4') });

test('the printed URL carries the token: OpenRLHF\'s header-less client is served; the header form still works', async () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/s3cret\/get_reward$/);
  const r = await post(url, q([['2+2=', '4'], ['2+2=', '5']]));
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { rewards: [1, 0], scores: [1, 0], extra_logs: { r: [1, 0] } });
  assert.equal((await post(headerUrl, q([['2+2=', '4']]), { Authorization: 'Bearer s3cret' })).status, 200);
  assert.equal((await post(headerUrl, q([['2+2=', '4']]))).status, 401);
  assert.equal((await post(url.replace('s3cret', 'wrong'), q([['2+2=', '4']]))).status, 401);
  assert.equal((await post(url.replace('s3cret', '%E0%A4%A'), q([['2+2=', '4']]))).status, 401);
});

test('every malformed body gets a 4xx with a message, and the server lives on', async () => {
  const bodies = ['null', '5', '"str"', '[]', '{}', '{"query":[{"toString":1}]}', '{"query":"abc"}', '{"query":[1,2]}',
    '{"query":["a","b"],"prompts":["a"]}', '{"query":["a"],"labels":[1,2]}', '{"query":["a"],"labels":"x"}', '{"query":', '\u0000'];
  for (const b of bodies) {
    const r = await post(url, b);
    assert.equal(r.status, 400, b);
    const j = (await r.json()) as { error: string };
    assert.ok(j.error.length > 5, b);
  }
  assert.equal((await post(url, q([['2+2=', '4']]))).status, 200);
});

test('concurrent requests: one whose sample hangs gets its own error reward; the others their own rewards', async () => {
  const hang = post(url, q([['2+2=', '4'], ['x', 'hang'], ['2+2=', '5']]));
  const others = Array.from({ length: 6 }, (_, i) => post(url, q([['2+2=', i % 2 ? '4' : '5'], ['2+2=', i % 2 ? '5' : '4']])));
  const [h, ...rest] = await Promise.all([hang, ...others]);
  assert.deepEqual(((await h.json()) as { rewards: number[] }).rewards, [1, 0, 0]);
  for (const [i, r] of rest.entries()) assert.deepEqual(((await r.json()) as { rewards: number[] }).rewards, i % 2 ? [1, 0] : [0, 1]);
});

test('many large bodies at once: bounded in-flight memory (503 beyond it), every request answered, server alive', { timeout: 120_000 }, async () => {
  const big = JSON.stringify({ query: Array.from({ length: 4 }, () => 'y'.repeat(15 * 2 ** 20)) }); // ~60 MiB each
  const results = await Promise.all(Array.from({ length: 8 }, () => post(url, big).then((r) => r.status, () => 'reset')));
  assert.ok(results.every((s) => s === 200 || s === 503 || s === 'reset'), String(results));
  assert.ok(results.includes(503), `no request was refused: ${results.join(',')}`);
  assert.equal((await post(url, q([['2+2=', '4']]))).status, 200);
});

test('requests do not share latency: 4 good samples are answered before another request\'s 16 hanging ones', { timeout: 120_000 }, async () => {
  const order: string[] = [];
  const hang = post(url, q(Array.from({ length: 16 }, (): [string, string] => ['x', 'hang']))).then(async (r) => { order.push('hang'); return (await r.json()) as { rewards: number[]; errors: string[] }; });
  await new Promise((r) => setTimeout(r, 100)); // the hanging request is taken first
  const good = post(url, q([['2+2=', '4'], ['2+2=', '5'], ['2+2=', '4'], ['2+2=', '5']])).then(async (r) => { order.push('good'); return (await r.json()) as { rewards: number[] }; });
  const [h, g] = await Promise.all([hang, good]);
  assert.deepEqual(order, ['good', 'hang']);
  assert.deepEqual(g.rewards, [1, 0, 1, 0]);
  assert.deepEqual(h.rewards, new Array(16).fill(0));
  assert.ok(h.errors.every((e) => /time budget/.test(e)), JSON.stringify(h.errors));
});

test('after one 60 MB sample the evaluator over its memory cap is restarted (cause on stderr); later samples get their rewards', { timeout: 180_000 }, async () => {
  const dir = tempDir('serve');
  fs.writeFileSync(path.join(dir, 'rules.yaml'), 'reward:\n  rules:\n    - name: correct\n      kind: answer_match\n      extract: full\n');
  const srv = spawn(process.execPath, [CLI, 'serve-rewards', path.join(dir, 'rules.yaml'), '--token', 't', '--memory-mb', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  srv.stdout.on('data', (d) => { out += d; });
  srv.stderr.on('data', (d) => { err += d; });
  try {
    for (const end = Date.now() + 60_000; !/other clients/.test(out) && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    const u = /--reward\.remote_url (\S+)/.exec(out)![1];
    const eight = Array.from({ length: 8 }, (_, i): [string, string] => ['2+2=', i % 2 ? '4' : '5']);
    const big = (await (await post(u, JSON.stringify({ query: ['x'.repeat(60e6)], labels: ['4'] }))).json()) as { rewards: number[]; errors?: string[] };
    assert.deepEqual(big.rewards, [0]);
    assert.match(big.errors?.[0] ?? '', /memory cap of 64 MB/); // an error in the response, not a silent 0
    for (let k = 0; k < 4; k++) {
      const r = (await (await post(u, q(eight))).json()) as { rewards: number[]; errors?: string[] };
      assert.deepEqual(r.rewards, [0, 1, 0, 1, 0, 1, 0, 1], `request ${k} after the big one: ${JSON.stringify(r.errors)}`);
      assert.equal(r.errors, undefined);
    }
    for (const end = Date.now() + 30_000; !/restarting it/.test(err) && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    assert.match(err, /rule evaluator \d+: still holds \d+ MB more than at start after a batch \(60000041 characters of samples\), over half its memory cap of 64 MB; restarting it/);
    assert.match(err, /1 of 1 samples got the fallback reward 0: rule exceeded the memory cap/);
  } finally { srv.kill('SIGTERM'); }
});
