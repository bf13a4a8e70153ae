import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { displayState, isRunProcess, listCheckpoints, listRuns, newRunId, readStatus, recordUnreportedEnd } from '../../src/core/run/runStore';
import { resolvePython, probePython } from '../../src/core/python';
import { tempDir } from '../helpers';

function makeRun(root: string, id: string, status: object | null, ckpts: [string, boolean][] = []) {
  const dir = path.join(root, id);
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), '');
  if (status) fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ updated: 0, ...status }));
  for (const [name, complete] of ckpts) {
    fs.mkdirSync(path.join(dir, 'checkpoints', name));
    if (complete) fs.writeFileSync(path.join(dir, 'checkpoints', name, 'COMPLETE'), '1');
  }
  return dir;
}

/** A live process that looks like the trainer of runDir (`--run-dir` relative to its working directory). */
function fakeTrainerProcess(cwd: string, runDirArg: string) {
  return spawn(process.execPath, ['-e', 'setTimeout(()=>{}, 20000)', '--', '--run-dir', runDirArg], { cwd, stdio: 'ignore' });
}

test('listRuns: newest first, live only while the pid is the run\'s trainer, half checkpoints ignored', () => {
  const root = tempDir('runs');
  const trainer = fakeTrainerProcess(root, '20260102-000000-b');
  const unrelated = spawn(process.execPath, ['-e', 'setTimeout(()=>{}, 20000)'], { stdio: 'ignore' });
  try {
    makeRun(root, '20260101-000000-a', { state: 'completed', pid: 1, step: 10, reward_mean: 0.5 }, [['step-000010', true], ['.tmp-step-000011', false]]);
    makeRun(root, '20260102-000000-b', { state: 'running', pid: trainer.pid, step: 3 });
    makeRun(root, '20260103-000000-c', { state: 'running', pid: 999999999, step: 7 }, [['step-000005', true], ['step-000006', false]]);
    makeRun(root, '20260104-000000-d', null);
    makeRun(root, '20260105-000000-e', { state: 'running', pid: unrelated.pid, step: 2 }); // its pid was reused
    fs.mkdirSync(path.join(root, 'not-a-run'));
    const runs = listRuns(root);
    assert.deepEqual(runs.map((r) => r.id), ['20260105-000000-e', '20260104-000000-d', '20260103-000000-c', '20260102-000000-b', '20260101-000000-a']);
    assert.deepEqual(runs.map(displayState), ['lost', 'unknown', 'lost', 'running', 'completed']);
    assert.equal(runs[3].alive, true);
    assert.deepEqual(runs[2].checkpoints.map((c) => path.basename(c)), ['step-000005']);
    assert.deepEqual(listCheckpoints(runs[4].dir).map((c) => path.basename(c)), ['step-000010']);
  } finally { trainer.kill(); unrelated.kill(); }
});

test('isRunProcess: the --run-dir of a live process, resolved against its working directory, names the run', () => {
  const root = tempDir('runs');
  const run = path.join(root, 'runs', 'r1');
  fs.mkdirSync(run, { recursive: true });
  const relative = fakeTrainerProcess(root, 'runs/r1');
  const absolute = spawn(process.execPath, ['-e', 'setTimeout(()=>{}, 20000)', '--', `--run-dir=${run}`], { stdio: 'ignore' });
  try {
    assert.equal(isRunProcess(relative.pid, run), true);
    assert.equal(isRunProcess(absolute.pid, run), true);
    assert.equal(isRunProcess(relative.pid, path.join(root, 'runs', 'r2')), false);
    assert.equal(isRunProcess(process.pid, run), false); // alive, but not started for this run
    assert.equal(isRunProcess(999999999, run), false);
  } finally { relative.kill(); absolute.kill(); }
});

test('newRunId: timestamped and filesystem-safe', () => {
  assert.equal(newRunId('my run/1', new Date(2026, 10, 24, 9, 5, 3)), '20261124-090503-my_run_1');
});

test('resolvePython: setting, then Python extension, then workspace .venv, then python3', () => {
  const have = new Set(['/ext/py', '/ws/.venv/bin/python']);
  const exists = (p: string) => have.has(p);
  assert.deepEqual(resolvePython({ setting: ' /my/python ', pythonExtensionPath: '/ext/py', workspaceRoots: ['/ws'], exists }), { path: '/my/python', source: 'setting' });
  assert.deepEqual(resolvePython({ pythonExtensionPath: '/ext/py', workspaceRoots: ['/ws'], exists }), { path: '/ext/py', source: 'python-extension' });
  assert.deepEqual(resolvePython({ pythonExtensionPath: '/gone', workspaceRoots: ['/other', '/ws'], exists }), { path: '/ws/.venv/bin/python', source: 'workspace-venv' });
  assert.deepEqual(resolvePython({ workspaceRoots: ['/nowhere'], exists }), { path: 'python3', source: 'PATH' });
});

test('probePython: a missing interpreter and missing modules each say what fixes them', async () => {
  const missing = await probePython('/definitely/not/python');
  assert.equal(missing.ok, false);
  assert.match(missing.problem!, /not found/);
  assert.match(missing.fix!, /rlhf.pythonPath/);
  // a fake interpreter that reports torch as missing
  const dir = tempDir('py');
  const fake = path.join(dir, 'python');
  fs.writeFileSync(fake, '#!/bin/sh\necho \'{"version": "3.11.0", "missing": ["torch"], "cuda": false}\'\n', { mode: 0o755 });
  const r = await probePython(fake);
  assert.equal(r.ok, false);
  assert.match(r.problem!, /cannot import torch/);
  assert.equal(r.fix, `"${fake}" -m pip install torch==2.13.0`);
});

test('a scheduler\'s end overrides a rank\'s secondary failure once, keeping what the trainer said; a plain end leaves a recorded failure alone', () => {
  const dir = tempDir('sched-end');
  const gloo = 'RuntimeError: Connection closed by peer [127.0.0.1]:3792';
  fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'failed', pid: 1, step: 3, updated: 1, error: gloo }));
  const events = () => fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; error: string });
  // without overrideFailed the trainer's own end stands
  assert.equal(recordUnreportedEnd(dir, { reason: 'Slurm job 7 CANCELLED: cancelled', exitCode: null, signal: null }), false);
  assert.equal(readStatus(dir)!.error, gloo);
  assert.equal(recordUnreportedEnd(dir, { reason: 'Slurm job 7 CANCELLED: cancelled', exitCode: null, signal: null }, { overrideFailed: true }), true);
  assert.equal(readStatus(dir)!.error, `Slurm job 7 CANCELLED: cancelled; the trainer said: ${gloo}`);
  assert.equal(readStatus(dir)!.state, 'failed');
  // the liveness poll asks again: nothing more is written
  assert.equal(recordUnreportedEnd(dir, { reason: 'Slurm job 7 CANCELLED: cancelled', exitCode: null, signal: null }, { overrideFailed: true }), false);
  assert.deepEqual(events().map((e) => [e.type, e.error]), [['run_finished', `Slurm job 7 CANCELLED: cancelled; the trainer said: ${gloo}`]]);
});
