// Hostile run folders (issue 23): a file a cloned repository can carry in runs/ — a symbolic link to
// /dev/zero, a FIFO, a file of gigabytes (sparse: no disk used) — in place of status.json, notes.json,
// events.jsonl, samples.jsonl or labels.jsonl. Every reader goes through the run folder's guard: it never
// blocks, never grows, names the file and what to do, and the good runs list beside the bad ones. The
// CLI is run as a real process with a deadline (a reader that blocks on a FIFO or reads /dev/zero whole
// fails by its timeout, not by hanging this file); its V8 heap is capped so a regression aborts early.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { listRunEntriesAsync } from '../../src/core/run/listing';
import { appendGuarded, openGuarded, readGuarded, readLines, RunFileError } from '../../src/core/run/files';
import { withLock, LockError } from '../../src/core/run/lock';
import { readNotes, updateNotes } from '../../src/core/run/runNotes';
import { EventTail } from '../../src/core/run/eventTail';
import { SampleIndex } from '../../src/core/samples/index';
import { Labels } from '../../src/core/samples/labels';
import { tempDir } from '../helpers';

// a child of the concurrent-notes test: edits notes.json in a loop, then exits (before any test is registered)
if (process.env.RLHF_NOTES_CHILD) {
  const [run, prefix, count] = process.env.RLHF_NOTES_CHILD.split('|');
  for (let i = 0; i < Number(count); i++) updateNotes(run, (n) => ({ ...n, tags: [...n.tags, `${prefix}${i}`] }));
  process.exit(0);
}

const ROOT = path.resolve(__dirname, '../..');
// RLHF_TEST_CLI: another build of the CLI (the red run of these tests against the code before the guard)
const CLI = process.env.RLHF_TEST_CLI ?? path.join(ROOT, 'dist', 'cli.js');
/** The CLI with a deadline and a capped heap: a regression is killed or aborts instead of eating the machine. */
const rlhf = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, ['--max-old-space-size=768', CLI, ...args], { encoding: 'utf8', timeout, cwd: ROOT, killSignal: 'SIGKILL' });
const tmp = (tag: string) => tempDir(`hostile-${tag}`);
const mkfifo = (p: string) => { const r = spawnSync('mkfifo', [p]); assert.equal(r.status, 0, String(r.stderr)); };
const zeroLink = (p: string) => fs.symlinkSync('/dev/zero', p);
/** A sparse file of `bytes` (a hole: no disk blocks) followed by `tail`. */
function sparse(p: string, bytes: number, head = '', tail = ''): void {
  fs.writeFileSync(p, head);
  fs.truncateSync(p, bytes);
  if (tail) fs.appendFileSync(p, tail);
}

const statusOf = (state: string, step: number, reward: number) => JSON.stringify({ state, pid: null, step, total_steps: step, updated: 1, reward_mean: reward });
const metricsLine = (step: number, reward: number) => JSON.stringify({ v: 1, type: 'metrics', time: 1000 + step, step, samples_seen: step * 4, values: { reward_mean: reward } });

/** A good run folder: status, events, samples, notes with a tag, a checkpoint. */
function goodRun(root: string, id: string, tag: string): string {
  const dir = path.join(root, id);
  fs.mkdirSync(path.join(dir, 'checkpoints', 'step-000002'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'checkpoints', 'step-000002', 'COMPLETE'), '1');
  fs.writeFileSync(path.join(dir, 'status.json'), statusOf('completed', 2, 0.75));
  fs.writeFileSync(path.join(dir, 'events.jsonl'), [metricsLine(1, 0.5), metricsLine(2, 0.75)].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'samples.jsonl'), '');
  fs.writeFileSync(path.join(dir, 'notes.json'), JSON.stringify({ note: 'fine', tags: [tag] }));
  return dir;
}

type Hostile = 'zero' | 'fifo' | 'huge' | 'folder';
const HOSTILE: Record<Hostile, (p: string) => void> = {
  zero: zeroLink,
  fifo: mkfifo,
  huge: (p) => sparse(p, 3 * 2 ** 30), // 3 GiB of nothing: over every whole-file cap
  folder: (p) => fs.mkdirSync(p),
};

/** A run folder whose `file` is hostile; the other files are good. */
function badRun(root: string, id: string, file: string, how: Hostile): string {
  const dir = goodRun(root, id, 'bad');
  fs.rmSync(path.join(dir, file), { force: true });
  HOSTILE[how](path.join(dir, file));
  return dir;
}

const RUN_FILES = ['status.json', 'notes.json', 'events.jsonl', 'samples.jsonl', 'labels.jsonl'];

test('the guard: a link to /dev/zero, a FIFO, a folder and a file over its cap are refused by name, at once; missing is undefined', () => {
  const dir = tmp('guard');
  const ok = path.join(dir, 'ok.json');
  fs.writeFileSync(ok, '{"state":"completed","step":1}');
  assert.equal(readGuarded(ok, 'status'), '{"state":"completed","step":1}');
  assert.equal(readGuarded(path.join(dir, 'missing.json'), 'status'), undefined);
  assert.equal(openGuarded(path.join(dir, 'missing.jsonl'), 'events'), undefined);
  const cases: [string, Hostile, RegExp][] = [
    ['zero.json', 'zero', /zero\.json is a symbolic link to \/dev\/zero: .*remove it/],
    ['fifo.json', 'fifo', /fifo\.json is a FIFO \(named pipe\), not a regular file: it was not read; remove it/],
    ['huge.json', 'huge', /huge\.json is 3\.0 GiB, more than the 1\.0 MiB a run status can be/],
    ['dir.json', 'folder', /dir\.json is a folder, not a regular file/],
  ];
  for (const [name, how, message] of cases) {
    HOSTILE[how](path.join(dir, name));
    assert.throws(() => readGuarded(path.join(dir, name), 'status'), (e: Error) => e instanceof RunFileError && message.test(e.message), name);
  }
  // streamed kinds have no cap, but still only regular files, never through a link
  assert.throws(() => readLines(path.join(dir, 'fifo.json'), 'events', () => undefined), /FIFO/);
  assert.throws(() => readLines(path.join(dir, 'zero.json'), 'labels', () => undefined), /symbolic link/);
  // other frameworks' folders may be links to regular files; what they reach is checked
  fs.symlinkSync(ok, path.join(dir, 'link-to-ok.json'));
  assert.equal(readGuarded(path.join(dir, 'link-to-ok.json'), 'foreign-state'), '{"state":"completed","step":1}');
  assert.throws(() => readGuarded(path.join(dir, 'link-to-ok.json'), 'status'), /symbolic link/);
  assert.throws(() => readGuarded(path.join(dir, 'zero.json'), 'foreign-state'), /zero\.json is a link to a character device, not a regular file/);
  // appending (labels.jsonl) never writes through a link nor into a FIFO
  assert.throws(() => appendGuarded(path.join(dir, 'zero.json'), 'x\n', 'labels'), /symbolic link/);
  assert.throws(() => appendGuarded(path.join(dir, 'fifo.json'), 'x\n', 'labels'), /FIFO/);
  appendGuarded(path.join(dir, 'new.jsonl'), 'x\n', 'labels');
  assert.equal(fs.readFileSync(path.join(dir, 'new.jsonl'), 'utf8'), 'x\n');
});

test('the in-process readers (events tail, sample index, labels, notes) refuse each hostile file with its problem and never block', () => {
  for (const how of ['zero', 'fifo'] as const) {
    const root = tmp(`readers-${how}`);
    const dir = (file: string) => badRun(root, `r-${file.replace('.', '-')}`, file, how);
    const events: string[] = [];
    const tail = new EventTail(path.join(dir('events.jsonl'), 'events.jsonl'), (es) => { for (const e of es) if (e.type === 'log') events.push(e.message); });
    tail.poll(); tail.poll();
    assert.equal(events.length, 1, 'the refusal is said once');
    assert.match(events[0], /events\.jsonl is (a symbolic link|a FIFO)/);
    const index = new SampleIndex(dir('samples.jsonl'));
    assert.equal(index.poll(), 0);
    assert.match(index.problem ?? '', /samples\.jsonl is (a symbolic link|a FIFO)/);
    const labels = new Labels(dir('labels.jsonl'));
    assert.match(labels.problem ?? '', /labels\.jsonl is (a symbolic link|a FIFO)/);
    assert.throws(() => labels.export(path.join(root, 'out.jsonl')), /labels\.jsonl is/);
    assert.throws(() => labels.mark({ step: 1, index: 0, offset: 0 }, 'p', 'r', 'good'), /labels\.jsonl is/);
    const notesRun = dir('notes.json');
    assert.deepEqual(readNotes(notesRun), { note: '', tags: [] });
    assert.throws(() => updateNotes(notesRun, (n) => n), /notes\.json is (a symbolic link|a FIFO)/);
  }
});

test('rlhf runs in a runs folder holding every hostile file answers at once: a warning per bad run, the good runs beside them', () => {
  const root = tmp('runs');
  goodRun(root, '20260101-000000-good-a', 'alpha');
  goodRun(root, '20260109-000000-good-b', 'beta');
  const bad: [id: string, file: string][] = [];
  for (const file of RUN_FILES) {
    for (const how of ['zero', 'fifo'] as const) {
      const id = `20260105-000000-${file.replace('.', '-')}-${how}`;
      badRun(root, id, file, how);
      bad.push([id, file]);
    }
  }
  badRun(root, '20260106-000000-status-huge', 'status.json', 'huge');
  bad.push(['20260106-000000-status-huge', 'status.json']);
  badRun(root, '20260107-000000-notes-huge', 'notes.json', 'huge');
  bad.push(['20260107-000000-notes-huge', 'notes.json']);
  const started = Date.now();
  const r = rlhf(['runs', '--runs-dir', root]);
  const took = Date.now() - started;
  assert.equal(r.error, undefined, `rlhf runs did not answer within its deadline (${took} ms)`);
  assert.equal(r.status, 0, r.stderr);
  // the good runs, with state, step, reward, checkpoints and tags
  assert.match(r.stdout, /^20260109-000000-good-b\s+completed\s+2\/2\s+0\.750\s+1\s+#beta$/m);
  assert.match(r.stdout, /^20260101-000000-good-a\s+completed\s+2\/2\s+0\.750\s+1\s+#alpha$/m);
  // every bad run listed, and warned about by name with its bad file
  for (const [id, file] of bad) {
    assert.match(r.stdout, new RegExp(`^${id}\\s`, 'm'), `${id} is listed`);
    assert.match(r.stderr, new RegExp(`^warning: ${id}: .*${id}/${file.replace('.', '\\.')} is `, 'm'), `${id} warned about`);
  }
  assert.match(r.stdout, /^20260105-000000-status-json-fifo\s+unknown/m);
  assert.match(r.stdout, /^20260106-000000-status-huge\s+unknown/m);
  assert.match(r.stderr, /status\.json is 3\.0 GiB, more than the 1\.0 MiB a run status can be/);
  // one warning line per bad file, nothing for the good runs
  assert.equal(r.stderr.trim().split('\n').length, bad.length, r.stderr);
  assert.doesNotMatch(r.stderr, /good-/);
});

test('the Runs view\'s listing is asynchronous and guarded: it resolves with the good runs and each bad run\'s problems', async () => {
  const root = tmp('view');
  goodRun(root, '20260101-000000-good', 'alpha');
  for (const file of RUN_FILES) badRun(root, `20260102-000000-${file}`, file, 'fifo');
  badRun(root, '20260103-000000-zero', 'status.json', 'zero');
  // the event loop keeps turning while it lists (a timer fires in between)
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const runs = await Promise.race([listRunEntriesAsync(root), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the listing did not resolve within 30 s')), 30_000))]);
  clearInterval(timer);
  assert.ok(ticks >= 0);
  const good = runs.find((r) => r.id === '20260101-000000-good')!;
  assert.deepEqual([good.status?.state, good.notes.tags, good.problems, good.checkpoints.length], ['completed', ['alpha'], [], 1]);
  for (const file of RUN_FILES) {
    const r = runs.find((x) => x.id === `20260102-000000-${file}`)!;
    assert.equal(r.problems.length, 1, `${file}: ${r.problems.join('; ')}`);
    assert.match(r.problems[0], new RegExp(`${file.replace('.', '\\.')} is a FIFO`));
  }
  assert.equal(runs.find((r) => r.id === '20260103-000000-zero')!.status, undefined);
});

test('rlhf tag, labels export, samples and checkpoints on a run with a hostile file: a clear one-line refusal, never a hang', () => {
  for (const how of ['zero', 'fifo'] as const) {
    const root = tmp(`cmds-${how}`);
    let r = rlhf(['tag', badRun(root, 'notes', 'notes.json', how), '+x']);
    assert.equal(r.error, undefined, `tag on a ${how} notes.json did not answer`);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^rlhf tag: .*notes\.json is (a symbolic link to \/dev\/zero|a FIFO)/);
    r = rlhf(['labels', 'export', badRun(root, 'labels', 'labels.jsonl', how), '-o', path.join(root, 'pairs.jsonl')]);
    assert.equal(r.error, undefined, `labels export on a ${how} labels.jsonl did not answer`);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rlhf labels export: .*labels\.jsonl is (a symbolic link|a FIFO)/);
    assert.equal(fs.existsSync(path.join(root, 'pairs.jsonl')), false);
    r = rlhf(['samples', badRun(root, 'samples', 'samples.jsonl', how)]);
    assert.equal(r.error, undefined, `samples on a ${how} samples.jsonl did not answer`);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rlhf samples: .*samples\.jsonl is (a symbolic link|a FIFO)/);
    r = rlhf(['checkpoints', badRun(root, 'events', 'events.jsonl', how)]);
    assert.equal(r.error, undefined, `checkpoints on a ${how} events.jsonl did not answer`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^step-000002\s+2\s/m);
    assert.match(r.stderr, /^warning: .*events\.jsonl is (a symbolic link|a FIFO).*listed without their metrics/);
  }
});

test('rlhf checkpoints streams a 700 MB events.jsonl: the rewards of its checkpoints are shown, not --', () => {
  const root = tmp('big-events');
  const dir = goodRun(root, 'big', 'x');
  // a run_started, 700 MB of a huge line (a hole: no disk used), then the metrics of the checkpoint's step
  const head = JSON.stringify({ v: 1, type: 'run_started', time: 1, config: {} }) + '\n';
  sparse(path.join(dir, 'events.jsonl'), 700 * 2 ** 20, head, '\n' + [metricsLine(1, 0.5), metricsLine(2, 0.875)].join('\n') + '\n');
  const r = rlhf(['checkpoints', dir], 120_000);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^step-000002\s+2\s.*\s0\.875\s/m);
});

test('a labels.jsonl over 512 MiB is streamed: its labels are exported (never 0 pairs with exit 0)', () => {
  const root = tmp('big-labels');
  const dir = goodRun(root, 'big', 'x');
  const label = (offset: number, response: string, verdict: string) =>
    JSON.stringify({ time: 1, step: 1, index: offset, offset, prompt: 'P', response, label: verdict });
  sparse(path.join(dir, 'labels.jsonl'), 600 * 2 ** 20, label(0, 'early good', 'good') + '\n', '\n' + label(1, 'late bad', 'bad') + '\n');
  const out = path.join(root, 'pairs.jsonl');
  const r = rlhf(['labels', 'export', dir, '-o', out], 120_000);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^wrote 1 preference pair to /);
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), { prompt: 'P', chosen: 'early good', rejected: 'late bad' });
});

test('labels export is linear and streamed: 3,000 good x 3,000 bad answers to one prompt', () => {
  const root = tmp('many-labels');
  const dir = goodRun(root, 'many', 'x');
  const lines: string[] = [];
  for (let i = 0; i < 6000; i++) lines.push(JSON.stringify({ time: 1, step: 1, index: i, offset: i * 100, prompt: 'one prompt', response: `response ${i}`, label: i % 2 ? 'bad' : 'good' }));
  fs.writeFileSync(path.join(dir, 'labels.jsonl'), lines.join('\n') + '\n');
  const out = path.join(root, 'pairs.jsonl');
  const r = rlhf(['labels', 'export', dir, '-o', out], 120_000);
  assert.equal(r.error, undefined, 'the export did not finish within its deadline');
  assert.equal(r.status, 0, r.stderr);
  const pairs = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { chosen: string; rejected: string });
  assert.match(r.stdout, new RegExp(`^wrote ${pairs.length} preference pairs .*3000 good and 3000 bad labels`));
  assert.ok(pairs.length >= 3000 && pairs.length <= 16 * 6000, `${pairs.length} pairs: linear in the 6,000 labels`);
  const used = new Set(pairs.flatMap((p) => [p.chosen, p.rejected]));
  assert.equal(used.size, 6000, 'every labelled response is in a pair');
  assert.equal(new Set(pairs.map((p) => `${p.chosen}|${p.rejected}`)).size, pairs.length, 'no pair twice');
  for (const p of pairs) assert.ok(Number(p.chosen.split(' ')[1]) % 2 === 0 && Number(p.rejected.split(' ')[1]) % 2 === 1);
});

test('notes are edited under a lock: four processes adding 25 tags each at once keep all 100', async () => {
  const root = tmp('notes-lock');
  const dir = goodRun(root, 'tags', 'start');
  const child = (prefix: string) => new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, [__filename], { env: { ...process.env, RLHF_NOTES_CHILD: `${dir}|${prefix}|25` }, stdio: 'inherit' });
    p.on('exit', (code) => resolve(code));
  });
  const codes = await Promise.all(['a', 'b', 'c', 'd'].map(child));
  assert.deepEqual(codes, [0, 0, 0, 0]);
  const tags = readNotes(dir).tags;
  assert.equal(tags.length, 101, `lost ${101 - tags.length} tags`);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('notes.json.')), [], 'no lock or temporary file left');
  // and as users do it: rlhf tag twice at once (six here), every tag kept
  const tagged = await Promise.all([1, 2, 3, 4, 5, 6].map((k) => new Promise<number | null>((resolve) => {
    spawn(process.execPath, [CLI, 'tag', dir, `+cli${k}`], { stdio: 'ignore' }).on('exit', (code) => resolve(code));
  })));
  assert.deepEqual(tagged, [0, 0, 0, 0, 0, 0]);
  for (let k = 1; k <= 6; k++) assert.ok(readNotes(dir).tags.includes(`cli${k}`), `cli${k} kept`);
});

test('a stale notes lock (its holder died) is broken; a live holder is waited for, then named', () => {
  const root = tmp('stale-lock');
  const dir = goodRun(root, 'r', 'start');
  const lock = path.join(dir, 'notes.json.lock');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  fs.writeFileSync(lock, `${dead} ${os.hostname()} ${Date.now()} x\n`);
  updateNotes(dir, (n) => ({ ...n, tags: [...n.tags, 'after-stale'] }));
  assert.deepEqual(readNotes(dir).tags, ['start', 'after-stale']);
  assert.equal(fs.existsSync(lock), false);
  fs.writeFileSync(lock, `${process.pid} ${os.hostname()} ${Date.now()} held\n`);
  assert.throws(() => withLock(lock, () => 1, { timeoutMs: 200 }), (e: Error) => e instanceof LockError && new RegExp(`held by pid ${process.pid} on .*remove ${lock.replace(/[.]/g, '\\.')}`).test(e.message));
  // an old lock (a hung holder, a rebooted host) is broken too
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(lock, old, old);
  assert.equal(withLock(lock, () => 7, { timeoutMs: 200, staleMs: 30_000 }), 7);
  assert.equal(fs.existsSync(lock), false);
});
