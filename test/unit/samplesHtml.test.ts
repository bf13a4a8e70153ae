// The sample browser page and its message contract: a run id cannot inject markup, the CSP allows
// only the nonce'd style and script, and invalid messages are refused on both sides; the host
// session answers a real samples.jsonl with windows of rows, never the whole selection.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { samplesHtml } from '../../webview/samples/html';
import { isSamplesHostToWebview, isSamplesWebviewToHost, MAX_WINDOW, type SamplesHostToWebview } from '../../webview/samples/protocol';
import { SamplesSession } from '../../src/sessions/samplesSession';
import { SAME_TEXT } from '../../src/core/samples/labels';
import { tempDir } from '../helpers';

test('a run id like <img src=x onerror=alert(1)> is inert in the samples page; the CSP has no unsafe source', () => {
  for (const runId of ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "x' onload='alert(1)"]) {
    const html = samplesHtml({ runId, nonce: 'n0nce', cspSource: 'vscode-resource:', script: 's.js', focusStep: 3 });
    assert.ok(!html.includes(runId), runId);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.match(html, /<script nonce="n0nce" src="s\.js"><\/script>/);
    assert.match(html, /data-focus-step="3"/);
    const csp = /content="([^"]*)"/.exec(html)![1].replace(/&#39;/g, "'");
    assert.ok(!csp.includes('unsafe'), csp);
    assert.match(csp, /script-src 'nonce-n0nce'/);
  }
});

test('messages are validated both ways', () => {
  assert.ok(isSamplesWebviewToHost({ type: 'query', seq: 1, filter: { stepMin: 1, text: 'x' }, sort: { key: 'reward', desc: true } }));
  assert.ok(!isSamplesWebviewToHost({ type: 'query', seq: 1, filter: { stepMin: 'a' }, sort: { key: 'reward', desc: true } }));
  assert.ok(!isSamplesWebviewToHost({ type: 'query', seq: 1, filter: {}, sort: { key: 'constructor', desc: true } }));
  assert.ok(!isSamplesWebviewToHost({ type: 'window', seq: 1, start: 0, count: MAX_WINDOW + 1 }));
  assert.ok(!isSamplesWebviewToHost({ type: 'label', row: 1, verdict: 'great' }));
  assert.ok(!isSamplesWebviewToHost({ type: 'prefer', chosen: 1, rejected: 1 }));
  assert.ok(!isSamplesWebviewToHost({ type: 'open', row: -1 }));
  assert.ok(isSamplesHostToWebview({ type: 'result', seq: 1, matched: 0, capped: false, histogram: null }));
  assert.ok(isSamplesHostToWebview({ type: 'result', seq: 1, matched: 2, capped: false, histogram: { lo: 0, hi: 1, counts: [1, 1] } }));
  for (const histogram of [undefined, { lo: 1, hi: 0, counts: [1] }, { lo: 0, hi: 1, counts: [] }, { lo: 0, hi: 1, counts: [-1] }, { lo: 0, hi: NaN, counts: [1] }, { lo: 0, hi: 1, counts: new Array(201).fill(0) }]) {
    assert.ok(!isSamplesHostToWebview({ type: 'result', seq: 1, matched: 1, capped: false, histogram }), JSON.stringify(histogram));
  }
  assert.ok(!isSamplesHostToWebview({ type: 'rows', seq: 1, start: 0, rows: [{ row: 0 }] }));
});

test('the session answers queries with windows of rows and writes labels to the run folder', () => {
  const run = tempDir('samples-session');
  const lines: string[] = [];
  for (let step = 1; step <= 300; step++) for (let i = 0; i < 4; i++) lines.push(JSON.stringify({ step, index: i, prompt: `p${step}`, response: `r${step}.${i}`, reward: i / 3, rewards: { r: i / 3 } }));
  fs.writeFileSync(path.join(run, 'samples.jsonl'), lines.join('\n') + '\n');
  const got: SamplesHostToWebview[] = [];
  const s = new SamplesSession(run, (m) => { assert.ok(isSamplesHostToWebview(m), JSON.stringify(m).slice(0, 200)); got.push(m); }, { focusStep: 7 });
  const last = () => got[got.length - 1];
  s.handle({ type: 'ready' });
  assert.deepEqual(last(), { type: 'init', info: { runId: path.basename(run), total: 1200, steps: s.index.steps(), rules: ['r'], rewardRange: [0, 1], readOnly: false }, focusStep: 7 });
  s.focus(42); // a chart click while the browser is open: the page re-initialises at the clicked step
  assert.deepEqual(last(), { type: 'init', info: { runId: path.basename(run), total: 1200, steps: s.index.steps(), rules: ['r'], rewardRange: [0, 1], readOnly: false }, focusStep: 42 });
  s.focus(9, { truncatedOnly: true }); // a truncation alert's Show samples: its step, its truncated samples
  assert.deepEqual(last(), { type: 'init', info: { runId: path.basename(run), total: 1200, steps: s.index.steps(), rules: ['r'], rewardRange: [0, 1], readOnly: false }, focusStep: 9, focusFilter: { truncatedOnly: true } });
  assert.ok(!isSamplesHostToWebview({ ...last(), focusFilter: { truncatedOnly: 'yes' } }));
  got.length = 1;
  s.handle({ type: 'query', seq: 1, filter: { rewardMin: 0.5 }, sort: { key: 'reward', desc: true } });
  const res = last();
  assert.ok(res.type === 'result' && res.histogram);
  assert.deepEqual({ ...res, histogram: undefined }, { type: 'result', seq: 1, matched: 600, capped: false, histogram: undefined });
  // the matched rewards are 2/3 and 1, 300 each: the first and the last of 20 bins
  assert.deepEqual([res.histogram.counts.length, res.histogram.counts[0], res.histogram.counts[19], res.histogram.counts.reduce((a, b) => a + b)], [20, 300, 300, 600]);
  assert.ok(Math.abs(res.histogram.lo - 2 / 3) < 1e-6 && res.histogram.hi === 1);
  s.handle({ type: 'window', seq: 1, start: 590, count: 50 });
  const w = last();
  assert.ok(w.type === 'rows' && w.rows.length === 10 && w.rows.every((r) => r.reward < 1));
  s.handle({ type: 'window', seq: 0, start: 0, count: 10 }); // stale: no answer
  assert.equal(got.length, 3);
  s.handle({ type: 'label', row: 5, verdict: 'good' });
  s.handle({ type: 'label', row: 4, verdict: 'bad' });
  assert.deepEqual(last(), { type: 'labeled', row: 4, verdict: 'bad', pairs: 1 });
  s.handle({ type: 'prefer', chosen: 0, rejected: 8 });
  assert.deepEqual(last(), { type: 'error', message: 'a preference compares two responses to the same prompt' });
  s.handle({ type: 'prefer', chosen: 7, rejected: 6 }); // step 2: samples 3 over 2
  assert.deepEqual(last(), { type: 'labeled', row: 7, verdict: null, pairs: 2, preferred: { chosen: 3, rejected: 2, step: 2 } });
  s.handle({ type: 'group', row: 5 });
  const g = last();
  assert.ok(g.type === 'group');
  assert.deepEqual(g.rows.map((r) => [r.index, r.verdict]), [[3, null], [2, null], [1, 'good'], [0, 'bad']]);
  s.handle({ type: 'group', row: 6 });
  const g2 = last();
  assert.ok(g2.type === 'group'); // each card says which saved pair it belongs to
  assert.deepEqual(g2.rows.map((r) => [r.index, r.over, r.under]), [[3, [2], []], [2, [], [3]], [1, [], []], [0, [], []]]);
  s.handle({ type: 'nonsense' });
  assert.equal(last().type, 'error');
  assert.equal(fs.readFileSync(path.join(run, 'labels.jsonl'), 'utf8').trim().split('\n').length, 3);
});

test('a preference between two responses with the same text is refused with a message and never written', () => {
  const run = tempDir('samples-same-text');
  const lines = [0, 1, 2].map((i) => JSON.stringify({ step: 1, index: i, prompt: 'p', response: i < 2 ? 'same' : 'other', reward: i, rewards: { r: i } }));
  fs.writeFileSync(path.join(run, 'samples.jsonl'), lines.join('\n') + '\n');
  const got: SamplesHostToWebview[] = [];
  const s = new SamplesSession(run, (m) => { assert.ok(isSamplesHostToWebview(m)); got.push(m); });
  s.handle({ type: 'ready' });
  s.handle({ type: 'prefer', chosen: 0, rejected: 1 });
  assert.deepEqual(got[got.length - 1], { type: 'error', message: SAME_TEXT });
  assert.match(SAME_TEXT, /same text/);
  assert.ok(!fs.existsSync(path.join(run, 'labels.jsonl')) || fs.readFileSync(path.join(run, 'labels.jsonl'), 'utf8') === '');
  s.handle({ type: 'prefer', chosen: 2, rejected: 1 });
  assert.deepEqual(got[got.length - 1], { type: 'labeled', row: 2, verdict: null, pairs: 1, preferred: { chosen: 2, rejected: 1, step: 1 } });
  assert.equal(s.labels.counts.preferences, 1);
});
