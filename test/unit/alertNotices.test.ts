// The watchdogs' alerts in the extension: which become a notification (new ones, each once, not a reload's
// replay of old ones, a flood capped), what it says, where Show samples goes; the alert event's new fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlertNotices, alertNoticeText, type ListedRun } from '../../src/core/alertNotices';
import { EVENTS_FILE } from '../../src/core/run/names';
import { tempDir } from '../helpers';
import { isAlert, parseEventLine, type AlertEvent, type TrainerEvent } from '../../src/core/protocol';

const NOW = 1_800_000_000;
const alert = (kind: string, steps: [number, number], time = NOW - 1, extra: Partial<AlertEvent> = {}): AlertEvent =>
  ({ v: 1, type: 'alert', time, kind, step: steps[1], steps, message: `${kind} message`, ...extra });

test('each new alert is told once, at its last step with its filter; alerts replayed from an old file are not', () => {
  const n = new AlertNotices(300, () => NOW);
  const trunc = alert('truncation', [2, 4], NOW - 5, { filter: { truncated_only: true }, samples: [0, 3] });
  const events: TrainerEvent[] = [alert('length_hacking', [1, 20], NOW - 3600), { v: 1, type: 'log', time: NOW, level: 'info', message: 'x' }, trunc];
  const first = n.take('run-a', events);
  assert.equal(first.more, 0);
  assert.deepEqual(first.notices.map((x) => [x.runId, x.alert.kind, x.step, x.filter]), [['run-a', 'truncation', 4, { truncatedOnly: true }]]);
  assert.equal(first.notices[0].text, 'RLHF run-a: truncation at steps 2–4. truncation message');
  assert.deepEqual(n.take('run-a', events).notices, []); // the same events again (a second listener, a re-read): nothing
  const other = n.take('run-b', [trunc]); // the same alert in another run is that run's
  assert.deepEqual(other.notices.map((x) => [x.runId, x.filter]), [['run-b', { truncatedOnly: true }]]);
  assert.deepEqual(n.take('run-a', [alert('nonfinite', [7, 7])]).notices.map((x) => [x.text, x.filter]), [['RLHF run-a: nonfinite at step 7. nonfinite message', {}]]);
});

test('a flood of alerts in one batch is three notifications and a count', () => {
  const n = new AlertNotices(300, () => NOW);
  const many = Array.from({ length: 7 }, (_, i) => alert('kl_blowup', [i + 1, i + 1], NOW - 1 + i / 100));
  const told = n.take('r', many);
  assert.deepEqual([told.notices.length, told.more], [3, 4]);
  assert.deepEqual(n.take('r', many), { notices: [], more: 0 });
});

test('alert events: the sample filter, sample indices and a stall\'s progress are read; bad ones refused', () => {
  const line = (o: object) => JSON.stringify({ v: 1, type: 'alert', time: NOW, kind: 'stalled', step: 3, steps: [3, 3], message: 'm', ...o });
  const stalled = parseEventLine(line({ progress: { phase: 'reward', done: 0, total: 16, message: 'waiting', idle_s: 130 } }));
  assert.ok(stalled?.type === 'alert' && stalled.progress?.phase === 'reward');
  assert.ok(parseEventLine(line({ filter: { truncated_only: true }, samples: [1, 2] })));
  assert.equal(parseEventLine(line({ filter: { truncated_only: 'yes' } })), undefined);
  assert.equal(parseEventLine(line({ samples: [1, 'x'] })), undefined);
  assert.equal(parseEventLine(line({ samples: Array.from({ length: 257 }, (_, i) => i) })), undefined);
  assert.ok(isAlert(alert('zero_variance', [1, 3])));
  assert.equal(alertNoticeText('r', alert('entropy_collapse', [5, 5])), 'RLHF r: entropy collapse at step 5. entropy_collapse message');
});

test('a run listed over for the first time has its recent alerts told once: one that started and ended between two listings, one whose end a watcher may have missed; what a watcher told, live and old runs are not told', () => {
  const root = tempDir('alerts');
  const run = (id: string, alive: boolean, updated: number | null, events: TrainerEvent[]): ListedRun => {
    const dir = path.join(root, id);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, EVENTS_FILE), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    return { id, dir, alive, status: updated === null ? null : { updated } };
  };
  const trunc = alert('truncation', [1, 2], NOW - 20, { filter: { truncated_only: true } });
  const log: TrainerEvent = { v: 1, type: 'log', time: NOW - 30, level: 'info', message: 'x' };
  const runs = [
    run('short', false, NOW - 10, [log, trunc]),
    run('live', true, NOW - 1, [log]),
    run('watched', false, NOW - 10, [trunc]),
    run('old', false, NOW - 3600, [alert('truncation', [1, 2], NOW - 3700)]),
    run('recent-status-old-alert', false, NOW - 10, [alert('nonfinite', [1, 1], NOW - 3600)]),
    run('no-status-yet', false, null, [log]),
  ];
  const n = new AlertNotices(300, () => NOW);
  assert.equal(n.take('watched', [trunc]).notices.length, 1); // its watcher read and told it
  const told = n.fromListing(runs);
  assert.deepEqual(told.map((t) => t.notices.map((x) => [x.runId, x.alert.kind, x.step, x.filter])), [[['short', 'truncation', 2, { truncatedOnly: true }]]]);
  assert.deepEqual(n.fromListing(runs), []); // the next listing: every run over was read before
  // the live run ends with an alert its watcher never read (let go at the end): the listing that shows it over tells it
  const ended = run('live', false, NOW - 1, [log, alert('kl_blowup', [2, 3], NOW - 2)]);
  // the run without a status yet starts, raises an alert and ends: it is read when its status says it is over
  const started = run('no-status-yet', false, NOW - 1, [log, alert('nonfinite', [4, 4], NOW - 2)]);
  assert.deepEqual(n.fromListing([ended, started, ...runs.slice(2, 5)]).map((t) => t.notices.map((x) => x.text)),
    [['RLHF live: kl blowup at steps 2–3. kl_blowup message'], ['RLHF no-status-yet: nonfinite at step 4. nonfinite message']]);
  // a run the listing meets later is read then; one whose events.jsonl is a link (the guard refuses it) is read as none
  const later = run('later', false, NOW - 5, [alert('kl_blowup', [3, 3], NOW - 6)]);
  const linked = path.join(root, 'linked');
  fs.mkdirSync(linked);
  fs.symlinkSync(path.join(root, 'short', EVENTS_FILE), path.join(linked, EVENTS_FILE));
  assert.deepEqual(n.fromListing([...runs, later, { id: 'linked', dir: linked, alive: false, status: { updated: NOW } }])
    .map((t) => t.notices.map((x) => x.text)), [['RLHF later: kl blowup at step 3. kl_blowup message']]);
});
