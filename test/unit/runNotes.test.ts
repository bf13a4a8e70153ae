// Notes and tags per run (notes.json in the run folder): atomic writes, tag edits, and the CLI
// (`rlhf tag`, `rlhf runs --tag`) as real processes; the dashboard messages of overlays, alerts and
// chart clicks validated as the host and the webview validate them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseEventLine } from '../../src/core/protocol';
import { isHostToWebview, isWebviewToHost } from '../../webview/dashboard/protocol';
import { RunModel } from '../../src/core/run/runModel';
import { applyTagEdits, NotesError, parseTagList, readNotes, writeNotes } from '../../src/core/run/runNotes';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const rlhf = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: ROOT });

function runsDir(ids: string[]): string {
  const dir = tempDir('notes');
  for (const id of ids) {
    fs.mkdirSync(path.join(dir, id));
    fs.writeFileSync(path.join(dir, id, 'status.json'), JSON.stringify({ state: 'completed', pid: null, step: 3, updated: 1 }));
    fs.writeFileSync(path.join(dir, id, 'events.jsonl'), '');
  }
  return dir;
}

test('notes.json: written whole (no partial file left), read back, tags deduplicated; bad tags refused in one line', () => {
  const dir = runsDir(['r']);
  const run = path.join(dir, 'r');
  assert.deepEqual(readNotes(run), { note: '', tags: [] });
  writeNotes(run, { note: 'KL too high\nafter step 50', tags: ['kl', '#base', 'kl'] });
  assert.deepEqual(readNotes(run), { note: 'KL too high\nafter step 50', tags: ['kl', 'base'] });
  assert.deepEqual(fs.readdirSync(run).sort(), ['events.jsonl', 'notes.json', 'status.json']);
  assert.throws(() => writeNotes(run, { note: '', tags: ['has space'] }), (e: Error) => e instanceof NotesError && /'has space' is not a tag/.test(e.message));
  assert.throws(() => writeNotes(path.join(dir, 'gone'), { note: '', tags: [] }), /no such run folder/);
  fs.writeFileSync(path.join(run, 'notes.json'), '{"tags": "oops", "note": 3');
  assert.deepEqual(readNotes(run), { note: '', tags: [] }, 'a broken file reads as no notes, never throws');
  assert.deepEqual(applyTagEdits(['a', 'b'], ['+c', '-a', 'b', 'd']), ['b', 'c', 'd']);
  assert.deepEqual(parseTagList('good, kl-sweep #base  good'), ['good', 'kl-sweep', 'base']);
});

test('rlhf tag adds and removes tags and sets the note; rlhf runs --tag lists only the tagged runs', () => {
  const dir = runsDir(['20260101-000000-a', '20260102-000000-b']);
  let r = rlhf('tag', '20260101-000000-a', '+baseline', 'kl', '--note', 'the reference', '--runs-dir', dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '20260101-000000-a: #baseline #kl\nnote: the reference\n');
  r = rlhf('tag', '20260101-000000-a', '--remove', 'kl', '--runs-dir', dir, '--', '-baseline', '+final');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^20260101-000000-a: #final\n/);
  assert.deepEqual(readNotes(path.join(dir, '20260101-000000-a')), { note: 'the reference', tags: ['final'] });
  r = rlhf('runs', '--tag', 'final', '--runs-dir', dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /TAGS/);
  assert.match(r.stdout, /20260101-000000-a .*#final/);
  assert.doesNotMatch(r.stdout, /20260102-000000-b/);
  assert.match(rlhf('runs', '--tag', 'nope', '--runs-dir', dir).stdout, /no runs tagged nope/);
  r = rlhf('tag', '20260102-000000-b', 'bad tag', '--runs-dir', dir);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "rlhf tag: 'bad tag' is not a tag: use 1-64 letters, digits or . _ - : / + (no spaces)\n");
  r = rlhf('tag', 'missing', '+x', '--runs-dir', dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^rlhf tag: missing: not a run folder/);
  assert.match(rlhf('--help').stdout, /rlhf tag RUN \[\+TAG \.\.\.\]/);
  assert.match(rlhf('--help').stdout, /--tag TAG/);
});

test('alert events are parsed into the run model (unknown types still ignored); malformed ones dropped', () => {
  const line = (o: object) => JSON.stringify({ v: 1, time: 5, ...o });
  const ok = parseEventLine(line({ type: 'alert', kind: 'length_hacking', step: 40, message: 'length up 3x, reward flat', steps: [20, 40] }));
  assert.equal(ok?.type, 'alert');
  // a kind the trainer does not write yet is shown as it comes (the schema says so); a kind that is not a word is not
  assert.equal(parseEventLine(line({ type: 'alert', kind: 'reward_spike', step: 3, message: 'm', steps: [2, 3] }))?.type, 'alert');
  for (const bad of [{ kind: 'a b<img>' }, { kind: 'x'.repeat(65) }, { steps: [1] }, { step: 'x' }, { message: 7 }]) {
    assert.equal(parseEventLine(line({ type: 'alert', kind: 'eval_divergence', step: 1, message: 'm', steps: [1, 2], ...bad })), undefined, JSON.stringify(bad));
  }
  assert.equal(parseEventLine(line({ type: 'something_new', step: 1 })), undefined);
  const m = new RunModel();
  m.ingest([ok, parseEventLine(line({ type: 'run_started', config: { algorithm: { estimator: 'grpo' } }, device: 'cpu', world_size: 1, versions: {}, run_dir: '/r' }))!]);
  assert.equal(m.alerts.length, 1);
  assert.deepEqual(m.config, { algorithm: { estimator: 'grpo' } });
});

test('dashboard messages: overlay, alerts, chart clicks and run picks are validated on both sides', () => {
  const chunk = { step: [1], samples: [2], time: [3], values: { reward_mean: [0.5] } };
  const run = { id: 'r2', name: 'r2', state: 'running', step: 1, totalSteps: null, live: true };
  assert.ok(isHostToWebview({ type: 'overlay', runs: [{ run, series: chunk, evals: chunk }], labels: { r1: 'estimator=grpo', r2: 'estimator=rloo' } }));
  assert.ok(!isHostToWebview({ type: 'overlay', runs: [{ run: { ...run, id: '../x' }, series: chunk, evals: chunk }], labels: {} }));
  assert.ok(!isHostToWebview({ type: 'overlay', runs: [{ run, series: { ...chunk, values: { a: [1, 2] } }, evals: chunk }], labels: {} }), 'ragged columns');
  assert.ok(!isHostToWebview({ type: 'overlay', runs: [], labels: { r: 3 } }));
  const alert = { v: 1, time: 1, type: 'alert', kind: 'eval_divergence', step: 9, message: 'eval fell', steps: [5, 9] };
  assert.ok(isHostToWebview({ type: 'append', runId: 'r', run, series: chunk, evals: null, samples: null, progress: null, alerts: [alert] }));
  assert.ok(!isHostToWebview({ type: 'append', runId: 'r', run, series: chunk, evals: null, samples: null, progress: null, alerts: [{ ...alert, kind: '<b>' }] }));
  assert.ok(isWebviewToHost({ type: 'openSamples', runId: 'verl:my run (2)', step: 12 }));
  for (const step of [-1, 1.5, Number.NaN, '3']) assert.ok(!isWebviewToHost({ type: 'openSamples', runId: 'r', step }), String(step));
  assert.ok(!isWebviewToHost({ type: 'openSamples', runId: '../../etc', step: 1 }));
  assert.ok(isWebviewToHost({ type: 'ready', runId: 'r', overlay: ['a', 'trl:b'] }));
  assert.ok(!isWebviewToHost({ type: 'ready', runId: 'r', overlay: ['/abs/path'] }));
  assert.ok(isWebviewToHost({ type: 'addRun' }) && isWebviewToHost({ type: 'configDiff' }) && isWebviewToHost({ type: 'removeRun', runId: 'a' }));
  assert.ok(!isWebviewToHost({ type: 'removeRun', runId: '' }));
});
