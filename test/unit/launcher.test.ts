// Stop escalation against real child processes (not mocks): a cooperative one stops on the control
// line, one that ignores it stops on SIGINT, one that ignores both is killed with its whole group.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { launchTrainer, stopRun } from '../../src/core/launcher';
import { isAlive } from '../../src/core/runStore';

function fakeTrainer(behaviour: 'cooperative' | 'ignores-stdin' | 'stubborn'): { python: string; trainerDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-fake-'));
  const pkg = path.join(dir, 'rlhf_trainer');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, '__init__.py'), '');
  fs.writeFileSync(path.join(pkg, '__main__.py'), `
import json, os, signal, subprocess, sys, time
run_dir = sys.argv[sys.argv.index("--run-dir") + 1]
child = subprocess.Popen([sys.executable, "-c", "import signal,time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(300)"])
json.dump({"state": "running", "pid": os.getpid(), "step": 0, "updated": 0, "child": child.pid}, open(os.path.join(run_dir, "status.json"), "w"))
mode = ${JSON.stringify(behaviour)}
if mode == "stubborn":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    def on_int(*_):
        child.kill(); sys.exit(0)
    signal.signal(signal.SIGINT, on_int)
if mode == "cooperative":
    for line in sys.stdin:
        if json.loads(line).get("type") == "stop":
            child.kill(); sys.exit(0)
while True:
    time.sleep(0.1)
`);
  return { python: 'python3', trainerDir: dir };
}

async function launch(behaviour: 'cooperative' | 'ignores-stdin' | 'stubborn') {
  const fake = fakeTrainer(behaviour);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-run-'));
  const cfg = path.join(runDir, 'c.yaml');
  fs.writeFileSync(cfg, 'name: x\n');
  const h = launchTrainer({ ...fake, schemasDir: runDir, config: cfg, runDir });
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(path.join(runDir, 'status.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  const childPid = JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')).child as number;
  return { h, runDir, childPid };
}

test('cooperative trainer stops on the control line', async () => {
  const { h, runDir } = await launch('cooperative');
  assert.equal(await stopRun(runDir, h, 5000), 'graceful');
  assert.equal(isAlive(h.pid), false);
});

test('a trainer that ignores stdin is stopped with SIGINT (also without a handle, as after a reload)', async () => {
  const { h, runDir } = await launch('ignores-stdin');
  assert.equal(await stopRun(runDir, undefined, 3000), 'sigint');
  assert.equal(isAlive(h.pid), false);
});

test('a trainer that ignores everything is killed with its whole process group', async () => {
  const { h, runDir, childPid } = await launch('stubborn');
  const stages: string[] = [];
  assert.equal(await stopRun(runDir, h, 1000, (s) => stages.push(s)), 'killed');
  assert.equal(isAlive(h.pid), false);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(isAlive(childPid), false, 'grandchild in the group must be gone too');
  assert.deepEqual(stages, ['stop requested: finishing the step and checkpointing', 'sending SIGINT', 'killing the process group']);
  assert.ok(fs.readFileSync(path.join(runDir, 'trainer.log'), 'utf8') !== undefined);
});

test('stopping a run that is not running says so', async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-run-'));
  assert.equal(await stopRun(runDir), 'not-running');
});
