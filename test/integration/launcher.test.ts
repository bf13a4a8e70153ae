// Stop escalation against real child processes (not mocks): a cooperative one stops on the control
// line, one that ignores it stops on SIGINT, one that ignores both is killed with its whole group and the
// kill is recorded in the run folder; a pid that now belongs to an unrelated process is never signalled.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir, until } from '../helpers';
import Ajv from 'ajv';
import YAML from 'yaml';
import { createRunDir, killRun, launchTrainer, sendControl, stopRun, type TrainerHandle } from '../../src/core/launcher';
import { displayState, isAlive, readStatus, runProcesses, summarize } from '../../src/core/run/runStore';
import { RunWatcher } from '../../src/core/run/runWatcher';
import { installLayout } from '../../src/core/training';

const ROOT = path.resolve(__dirname, '../..');
const VENV_PY = path.join(ROOT, '.venv', 'bin', 'python');

type Behaviour = 'cooperative' | 'ignores-stdin' | 'stubborn' | 'crashes';

function fakeTrainer(behaviour: Behaviour): { python: string; trainerDir: string } {
  const dir = tempDir('fake');
  const pkg = path.join(dir, 'rlhf_trainer');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, '__init__.py'), '');
  // status.json is written once the signal handlers are in place: the tests wait for it, not for a time
  fs.writeFileSync(path.join(pkg, '__main__.py'), `
import json, os, signal, subprocess, sys, time
run_dir = sys.argv[sys.argv.index("--run-dir") + 1]
child = subprocess.Popen([sys.executable, "-c", "import signal,time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(300)"])
mode = ${JSON.stringify(behaviour)}
def finish(*_):  # as the real trainer does: record the end, then exit 0
    json.dump({"state": "stopped", "pid": os.getpid(), "step": 3, "updated": 0}, open(os.path.join(run_dir, "status.json"), "w"))
    child.kill(); sys.exit(0)
if mode == "stubborn":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGINT, finish)
with open(os.path.join(run_dir, "events.jsonl"), "w") as f:
    f.write(json.dumps({"v": 1, "time": time.time(), "type": "metrics", "step": 3, "samples_seen": 24, "values": {}}) + "\\n")
    f.write('{"v": 1, "time": 1, "type": "metr')  # a partial last line, as a kill mid-write leaves
json.dump({"state": "running", "pid": os.getpid(), "step": 3, "updated": 0, "child": child.pid}, open(os.path.join(run_dir, "status.json"), "w"))
if mode == "crashes":
    child.kill(); sys.exit(3)
if mode == "cooperative":
    for line in sys.stdin:
        if json.loads(line).get("type") == "stop":
            finish()
while True:
    time.sleep(0.1)
`);
  return { python: 'python3', trainerDir: dir };
}


function prepare(behaviour: Behaviour) {
  const fake = fakeTrainer(behaviour);
  const runDir = tempDir('run');
  const config = path.join(runDir, 'c.yaml');
  fs.writeFileSync(config, 'name: x\n');
  return { fake, runDir, config };
}
const childPidOnceStarted = async (runDir: string) =>
  ((await until('the fake trainer to write status.json', () => readStatus(runDir))) as unknown as { child: number }).child;

/** A fake trainer started through the launcher (this process is its parent and sees its exit). */
async function launch(behaviour: Behaviour) {
  const { fake, runDir, config } = prepare(behaviour);
  const h = launchTrainer({ ...fake, schemasDir: runDir, config, runDir });
  return { h, runDir, childPid: await childPidOnceStarted(runDir) };
}

/** A fake trainer started as another window or a terminal would: no launcher here watches its exit. */
async function launchElsewhere(behaviour: Behaviour) {
  const { fake, runDir, config } = prepare(behaviour);
  const p = spawn(fake.python, ['-m', 'rlhf_trainer', 'run', '--config', config, '--run-dir', runDir],
    { env: { ...process.env, PYTHONPATH: fake.trainerDir }, detached: true, stdio: 'ignore' });
  await childPidOnceStarted(runDir);
  return { pid: p.pid!, runDir };
}

/** The trainer's exit; the launcher unref()s its child, so the test keeps the event loop alive while it waits. */
function exitOf(h: TrainerHandle): Promise<number | null> { h.child.ref(); return h.exited; }

const lastEvent = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').pop()!) as Record<string, unknown>;

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

test('a trainer that ignores everything is killed with its whole process group, and the run says so', async () => {
  const { h, runDir, childPid } = await launch('stubborn');
  const stages: string[] = [];
  assert.equal(await stopRun(runDir, h, 1000, (s) => stages.push(s)), 'killed');
  assert.equal(isAlive(h.pid), false);
  await until('the grandchild in the group to be gone too', () => !isAlive(childPid));
  assert.deepEqual(stages, ['stop requested: finishing the step and checkpointing', 'sending SIGINT', 'killing the process group']);
  const s = readStatus(runDir) as unknown as Record<string, unknown>;
  assert.equal(s.state, 'failed');
  assert.match(String(s.error), /^killed \(SIGKILL\) by a stop request: the trainer did not finish its step and checkpoint within 1 s of SIGINT/);
  assert.equal(s.exit_signal, 'SIGKILL');
  assert.equal(s.step, 3);
  assert.equal(displayState(summarize(runDir)), 'failed');
  // the dashboard and the CLI read the end from the events: one whole run_finished line after the partial one
  assert.deepEqual({ ...lastEvent(runDir), time: 0 }, { v: 1, time: 0, type: 'run_finished', status: 'failed', error: s.error, step: 3 });
});

test('killed by a stop without a handle (another window, rlhf stop): recorded failed with the reason, not lost', async () => {
  const { pid, runDir } = await launchElsewhere('stubborn');
  assert.equal(await stopRun(runDir, undefined, 500, undefined, 'rlhf stop'), 'killed');
  assert.equal(isAlive(pid), false);
  const s = readStatus(runDir)!;
  assert.equal(s.state, 'failed');
  assert.match(s.error!, /^killed \(SIGKILL\) by rlhf stop: /);
  assert.equal(fs.existsSync(path.join(runDir, '.kill-reason')), false);
  assert.equal(displayState(summarize(runDir)), 'failed');
  assert.equal(lastEvent(runDir).status, 'failed');
});

test('a trainer SIGKILLed from outside (OOM killer) while attached is recorded as killed, not lost', async () => {
  const { h, runDir } = await launch('ignores-stdin');
  process.kill(h.pid, 'SIGKILL');
  assert.equal(await exitOf(h), null);
  const s = readStatus(runDir) as unknown as Record<string, unknown>;
  assert.equal(s.state, 'failed');
  assert.match(String(s.error), /killed \(SIGKILL\) before it could record its end/);
  assert.equal(s.exit_signal, 'SIGKILL');
  assert.equal(displayState(summarize(runDir)), 'failed');
});

test('a trainer that exits without recording its end gets its exit code recorded', async () => {
  const { h, runDir } = await launch('crashes');
  assert.equal(await exitOf(h), 3);
  const s = readStatus(runDir) as unknown as Record<string, unknown>;
  assert.equal(s.state, 'failed');
  assert.equal(s.exit_code, 3);
  assert.match(String(s.error), /exited with code 3 without recording its end; trainer.log says why/);
});

test('a run that recorded its own end is left as it said', async () => {
  const { h, runDir } = await launch('cooperative');
  assert.equal(await stopRun(runDir, h, 5000), 'graceful');
  assert.equal(await exitOf(h), 0);
  assert.deepEqual(readStatus(runDir), { state: 'stopped', pid: h.pid, step: 3, updated: 0 });
  assert.doesNotMatch(fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8'), /run_finished/);
});

test('pid reuse: status.json pointing at an unrelated live process neither signals it nor shows the run alive', async () => {
  const runDir = tempDir('run');
  // an unrelated process leading its own group, as a reused pid would be
  const other = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ state: 'running', pid: other.pid, step: 5, updated: 0 }));
    assert.equal(await stopRun(runDir, undefined, 500), 'not-running');
    assert.equal(isAlive(other.pid), true, 'the unrelated process must not be signalled');
    assert.equal(summarize(runDir).alive, false);
    assert.equal(displayState(summarize(runDir)), 'lost');
  } finally { other.kill('SIGKILL'); }
});

/** The embedded example in a temp workspace, running until stopped. */
function realRunConfig(): string {
  const ws = tempDir('real');
  const ex = path.join(ROOT, 'examples', 'arithmetic');
  const cfg = YAML.parse(fs.readFileSync(path.join(ex, 'config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.model.policy = path.join(ex, 'model');
  cfg.data.prompts = path.join(ex, 'data', 'train.jsonl');
  cfg.data.eval_prompts = null;
  cfg.train.max_steps = 100_000;
  fs.writeFileSync(path.join(ws, 'config.yaml'), YAML.stringify(cfg));
  return path.join(ws, 'config.yaml');
}

function launchReal(config: string, nproc: number): TrainerHandle {
  const layout = installLayout(ROOT);
  const runDir = path.join(path.dirname(config), 'runs', `r${nproc}`);
  return launchTrainer({ python: VENV_PY, trainerDir: layout.trainerDir, schemasDir: layout.schemasDir, rewardWorker: layout.rewardWorker, config, runDir, nproc });
}

test('the real trainer SIGKILLed mid-run (as the OOM killer does) is recorded failed with the reason, for the Runs view and the dashboard alike',
  { timeout: 300_000, skip: !fs.existsSync(VENV_PY) && 'no .venv (bash scripts/setup-python.sh)' }, async () => {
    const h = launchReal(realRunConfig(), 1);
    const runDir = h.runDir;
    const w = new RunWatcher(runDir);
    try {
      await until('a training step', () => { w.poll(); return w.model.metrics.length > 0; }, 240_000);
      assert.equal(summarize(runDir).alive, true);
      process.kill(-h.pid, 'SIGKILL'); // the whole group, as `kill -9 -PGID` would; the OOM killer takes the trainer
      assert.equal(await exitOf(h), null);
      const s = readStatus(runDir)!;
      assert.equal(s.state, 'failed');
      assert.match(s.error!, /killed \(SIGKILL\) before it could record its end/);
      assert.equal(displayState(summarize(runDir)), 'failed');
      const ajv = new Ajv({ strict: false });
      assert.ok(ajv.validate(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'status.schema.json'), 'utf8')), s), ajv.errorsText());
      w.poll();
      assert.deepEqual([w.model.state, w.model.error], ['failed', s.error]);
    } finally {
      w.dispose();
      try { process.kill(-h.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });

test('a 2-process run (torchrun) stops gracefully through rank 0, and a kill leaves no rank behind',
  { timeout: 600_000, skip: !fs.existsSync(VENV_PY) && 'no .venv (bash scripts/setup-python.sh)' }, async () => {
    const config = realRunConfig();
    const h = launchReal(config, 2);
    const w = new RunWatcher(h.runDir);
    try {
      await until('a training step of the 2-rank run', () => { w.poll(); return w.model.metrics.length > 0; }, 400_000);
      // the launcher (torchrun) and both ranks name the run folder
      assert.equal(runProcesses(h.runDir).length, 3);
      assert.equal(await stopRun(h.runDir, h, 240_000), 'graceful');
      assert.equal(await exitOf(h), 0);
      assert.equal(readStatus(h.runDir)!.state, 'stopped');
      await until('every rank to be gone', () => runProcesses(h.runDir).length === 0);
      const started = fs.readFileSync(path.join(h.runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'run_started');
      assert.equal(started?.world_size, 2);
    } finally { w.dispose(); }

    // killed (a second Ctrl-C on rlhf train): SIGKILL takes torchrun at once, and the ranks, which lead
    // their own sessions, must not be left training as orphans
    const k = launchReal(config, 2);
    try {
      await until('the 2-rank run to write its status', () => readStatus(k.runDir)?.state === 'running', 400_000);
      await until('both ranks and the launcher to run', () => runProcesses(k.runDir).length === 3 || undefined);
      assert.equal(await killRun(k.runDir, k, 'killed by the test'), true);
      await until('every process of the run to be gone', () => runProcesses(k.runDir).length === 0);
      assert.equal(readStatus(k.runDir)!.state, 'failed');
    } finally { for (const p of runProcesses(k.runDir)) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  });

test('stopping a run that is not running says so', async () => {
  const runDir = tempDir('run');
  assert.equal(await stopRun(runDir), 'not-running');
});

test('two real trainers of the same config name started in the same second get two run folders; two on one folder: the second is refused',
  { timeout: 600_000, skip: !fs.existsSync(VENV_PY) && 'no .venv (bash scripts/setup-python.sh)' }, async () => {
    // a trains until asked to stop (a 2-step run can end before a third trainer has even imported torch, and then
    // nobody holds the folder to refuse it); b trains 2 steps
    const long = realRunConfig();
    const short = path.join(path.dirname(long), 'short.yaml');
    const cfg = YAML.parse(fs.readFileSync(long, 'utf8')) as Record<string, Record<string, unknown>>;
    cfg.train.max_steps = 2;
    fs.writeFileSync(short, YAML.stringify(cfg));
    const layout = installLayout(ROOT);
    const runs = path.join(path.dirname(long), 'runs');
    const start = (runDir: string, config: string) => launchTrainer({ python: VENV_PY, trainerDir: layout.trainerDir, schemasDir: layout.schemasDir,
      rewardWorker: layout.rewardWorker, config, runDir });
    const events = (dir: string) => (fs.existsSync(path.join(dir, 'events.jsonl')) ? fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8') : '').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; status?: string });
    const count = (dir: string, type: string) => events(dir).filter((e) => e.type === type).length;

    const now = new Date(); // the same second for both, as a sweep loop or Start Training twice can hit
    const a = start(createRunDir(runs, 'arithmetic', now), long);
    const b = start(createRunDir(runs, 'arithmetic', now), short);
    assert.notEqual(a.runDir, b.runDir);
    assert.equal(path.basename(b.runDir), `${path.basename(a.runDir)}-2`);
    // a folder given twice (rlhf_trainer run --run-dir by hand): the second trainer is refused before it writes
    await until('the first trainer to start', () => count(a.runDir, 'run_started') === 1, 240_000);
    const c = start(a.runDir, short);
    assert.equal(await exitOf(c), 2);
    assert.equal(a.child.exitCode, null, 'the first trainer is still training when the second is refused');
    assert.match(fs.readFileSync(path.join(a.runDir, 'trainer.log'), 'utf8'), /another trainer is writing this run folder/);
    assert.equal(await exitOf(b), 0);
    assert.deepEqual([count(b.runDir, 'run_started'), count(b.runDir, 'run_finished'), readStatus(b.runDir)!.state], [1, 1, 'completed']);
    assert.equal(count(b.runDir, 'metrics'), 2);
    // the refused trainer wrote nothing into a's folder: a stops as asked, with one start and one end
    await until('a step of the first trainer', () => count(a.runDir, 'metrics') >= 1, 240_000);
    assert.ok(sendControl(a, { type: 'stop' }));
    assert.equal(await exitOf(a), 0);
    assert.deepEqual([count(a.runDir, 'run_started'), count(a.runDir, 'run_finished'), readStatus(a.runDir)!.state], [1, 1, 'stopped']);
  });
