// The Runs view's row label (src/core/format.ts runRowLabel): what tells runs apart leads, so that the
// default sidebar width cuts the run id's common date prefix, not the name and time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRowLabel } from '../../src/core/format';

const now = new Date(2026, 11, 7, 15, 0, 0);

test('a run id of newRunId\'s form: its name and start time lead; the full id is kept for the description', () => {
  const id = '20261207-090503-arithmetic'; // newRunId('arithmetic') at 09:05:03 that day
  assert.deepEqual(runRowLabel(id, now), { label: 'arithmetic · 09:05:03', id });
  // two runs of one config started the same day differ in their labels' first 20 characters
  const a = runRowLabel('20261207-090503-arithmetic', now).label;
  const b = runRowLabel('20261207-090741-arithmetic', now).label;
  assert.notEqual(a.slice(0, 20), b.slice(0, 20));
  assert.ok(runRowLabel(id, now).label.length < id.length);
});

test('older runs: month and day this year, the date before', () => {
  assert.equal(runRowLabel('20261124-181511-grpo_lora', now).label, 'grpo_lora · Nov 24 18:15');
  assert.equal(runRowLabel('20251124-181511-grpo', now).label, 'grpo · 2025-11-24');
});

test('a folder not named by newRunId is its own label', () => {
  for (const id of ['my-run', '2026-12-07-x', '20261399-181511-x', '20261124-181511-']) assert.deepEqual(runRowLabel(id, now), { label: id }, id);
});
