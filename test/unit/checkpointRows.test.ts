// The Runs view's checkpoint rows (src/core/run/checkpointRows.ts) over real run folders: a redraw of a run
// whose checkpoint folders are the ones last read is answered at once (VS Code forgets the rows' handles
// until the answer comes), the files are read again behind it, and a difference (a checkpoint kept, its
// metrics written) asks the view to redraw the run; new folders, or a cleared cache, wait for a read.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkpointInfosAsync, type CheckpointInfo } from '../../src/core/run/checkpoints';
import { CheckpointRows } from '../../src/core/run/checkpointRows';
import { listCheckpoints } from '../../src/core/run/runStore';
import { tempDir, until } from '../helpers';

function checkpoint(runDir: string, step: number): void {
  const dir = path.join(runDir, 'checkpoints', `step-${String(step).padStart(6, '0')}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.alloc(1000 * step));
  fs.writeFileSync(path.join(dir, 'COMPLETE'), '1');
  fs.appendFileSync(path.join(runDir, 'events.jsonl'), `${JSON.stringify({ v: 1, time: step, type: 'metrics', step, values: { reward_mean: step / 100 } })}\n`);
}

test('checkpoint rows: at once while the folders are the same, read again behind, redrawn when the read differs', async () => {
  const runDir = path.join(tempDir('ckrows'), 'run');
  fs.mkdirSync(runDir);
  fs.writeFileSync(path.join(runDir, 'events.jsonl'), '');
  checkpoint(runDir, 10);
  let reads = 0;
  const changed: string[] = [];
  const ck = new CheckpointRows<CheckpointInfo>((key) => changed.push(key));
  const read = async () => { const r = await checkpointInfosAsync(runDir); reads++; return r; };
  const rows = { rows: (key: string, folders: string) => ck.rows(key, folders, read), clear: () => ck.clear() };
  const folders = () => listCheckpoints(runDir).join('\n');

  const first = rows.rows(runDir, folders());
  assert.ok(first instanceof Promise, 'never read: the answer waits for the files');
  const firstRows = await first;
  assert.deepEqual(firstRows.map((c) => [c.step, c.kept, c.metrics.reward_mean]), [[10, false, 0.1]]);

  // a redraw with the same folders: the last rows at once; the read behind finds the same, and nothing is redrawn
  const again = rows.rows(runDir, folders());
  assert.ok(Array.isArray(again), 'the same folders: answered at once');
  assert.equal(again, firstRows);
  await until('the read behind the answer', () => reads === 2, 30_000);
  assert.deepEqual(changed, []);

  // the checkpoint kept (its folder name unchanged): the last rows at once, then the run is redrawn with the new ones
  fs.writeFileSync(path.join(runDir, 'checkpoints', 'step-000010', 'KEEP'), '');
  const stale = rows.rows(runDir, folders());
  assert.ok(Array.isArray(stale) && stale[0].kept === false);
  await until('the run to be redrawn', () => changed.length === 1, 30_000);
  assert.deepEqual(changed, [runDir]);
  const redrawn = rows.rows(runDir, folders());
  assert.ok(Array.isArray(redrawn) && redrawn[0].kept === true, 'the redraw gets the rows the read found');

  // a new checkpoint folder: the answer waits for the read that lists it
  checkpoint(runDir, 20);
  const grown = rows.rows(runDir, folders());
  assert.ok(grown instanceof Promise, 'other folders than the last read: not answered from it');
  assert.deepEqual((await grown).map((c) => c.step), [10, 20]);

  // after clear (a whole-view redraw after a command changed the files) the answer waits for a read too
  rows.clear();
  assert.ok(rows.rows(runDir, folders()) instanceof Promise);
});

test('checkpoint rows: one read per run at a time, and a read for newer folders wins over an older one still running', async () => {
  const gates: { key: string; open: (r: number[]) => void }[] = [];
  const ck = new CheckpointRows<number>(() => undefined);
  const read = () => new Promise<number[]>((open) => gates.push({ key: 'run', open }));
  const a = ck.rows('run', 'A', read);
  const a2 = ck.rows('run', 'A', read);
  assert.equal(gates.length, 1, 'the same folders share the read in flight');
  const b = ck.rows('run', 'A,B', read);
  assert.equal(gates.length, 2, 'new folders start their own read');
  gates[1].open([1, 2]);
  assert.deepEqual(await b, [1, 2]);
  gates[0].open([1]); // the older read ends last: it must not replace the newer rows
  assert.deepEqual(await a, [1]);
  assert.equal(await a2, await a);
  const now = ck.rows('run', 'A,B', read);
  assert.deepEqual(now, [1, 2], 'answered at once with the newer read');
});
