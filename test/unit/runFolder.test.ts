// The run folder's room in TypeScript (src/core/run/) against its Python twin (trainer/rlhf_trainer/runfolder.py):
// one list of names on each side and the two equal, one temporary-file rule, and no run-folder name written as a
// literal outside src/core/run/ (a reader that names a file itself drifts when the contract changes).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { atomicWrite } from '../../src/core/run/atomic';
import { readRunConfig } from '../../src/core/run/config';
import { readEvents, readEventsChecked } from '../../src/core/run/events';
import { RunFileError } from '../../src/core/run/files';
import {
  CHECKPOINT_TMP_PREFIX, COMPLETE_MARKER, CONTROL_DIR, KEEP_MARKER, RESUME_FILE, RUN_FOLDER_NAMES, TRAINER_LOG, TRAINER_NAMES,
  checkpointDirName, isTempName, tempNameOf,
} from '../../src/core/run/names';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const py = (file: string): string => fs.readFileSync(path.join(ROOT, 'trainer/rlhf_trainer', file), 'utf8');
/** A string constant of a Python module (`NAME = "value"`). */
function pyConst(file: string, name: string): string {
  const m = new RegExp(`^${name} = "([^"]*)"`, 'm').exec(py(file));
  assert.ok(m, `${name} in trainer/rlhf_trainer/${file}`);
  return m[1];
}

test('run-folder names: what the trainer names in a run folder (names.py) is names.ts\'s TRAINER_NAMES, no more, no less', () => {
  const src = py('names.py');
  // names.py's first block: the names runfolder.py writes, as constants (`EVENTS_FILE = "events.jsonl"`)
  const start = src.indexOf('# what the trainer writes');
  const block = src.slice(start, src.indexOf('\n\n', start));
  const python = [...block.matchAll(/^[A-Z_]+ = "([^"]+)"/gm)].map((m) => m[1]).sort();
  assert.ok(python.includes('events.jsonl') && python.includes('status.json'), `parsed names.py's names: ${python.join(', ')}`);
  assert.deepEqual([...TRAINER_NAMES].sort(), python);
  // and runfolder.py joins no name of its own to a run folder: it writes through those constants
  assert.deepEqual([...py('runfolder.py').matchAll(/\/ "([^"{}]+)"/g)].map((m) => m[1]), []);
});

test('run-folder names: the checkpoint markers, the request folder, resume.json and trainer.log are the trainer\'s', () => {
  assert.equal(COMPLETE_MARKER, pyConst('names.py', 'COMPLETE'));
  assert.equal(KEEP_MARKER, pyConst('checkpoint.py', 'KEEP'));
  assert.equal(CHECKPOINT_TMP_PREFIX, pyConst('checkpoint.py', 'TMP_PREFIX'));
  assert.equal(CONTROL_DIR, pyConst('control.py', 'CONTROL_DIR'));
  assert.equal(RESUME_FILE, pyConst('resume.py', 'RESUME_FILE'));
  assert.equal(TRAINER_LOG, pyConst('names.py', 'TRAINER_LOG'));
  // checkpoint_dir: f"step-{step:06d}"
  assert.match(py('runfolder.py'), /f"step-\{step:06d\}"/);
  assert.equal(checkpointDirName(120), 'step-000120');
  assert.equal(new Set(RUN_FOLDER_NAMES).size, RUN_FOLDER_NAMES.length);
});

test('temporary files: atomicWrite names its temporary file by runfolder.py\'s rule, and the trainer\'s sweep pattern matches it', () => {
  const src = py('runfolder.py');
  const rule = /tmp = path\.with_name\(f"([^"]+)"\)/.exec(src)?.[1];
  assert.equal(rule, '.{path.name}.tmp-{os.getpid()}', 'runfolder.py atomic_write_text\'s temporary name changed: change names.ts tempNameOf with it');
  const pythonName = (name: string, pid: number) => rule.replace('{path.name}', name).replace('{os.getpid()}', String(pid));
  assert.equal(tempNameOf('status.json', 4242), pythonName('status.json', 4242));
  const sweep = /self\.path\.glob\("([^"]+)"\)/.exec(src)?.[1];
  assert.equal(sweep, '.*.tmp-*');
  const glob = new RegExp(`^${sweep.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
  for (const n of ['status.json', 'notes.json', 'scheduler.json']) {
    assert.ok(glob.test(tempNameOf(n)) && isTempName(tempNameOf(n)), n);
  }
  assert.ok(!isTempName('status.json') && !isTempName('.kill-reason'));
});

test('atomicWrite: replaces the file whole, leaves no temporary file, and writes again when a starting trainer swept its temporary file', () => {
  const dir = tempDir('atomic');
  const file = path.join(dir, 'status.json');
  atomicWrite(file, '{"state":"starting"}');
  atomicWrite(file, '{"state":"running"}');
  assert.equal(fs.readFileSync(file, 'utf8'), '{"state":"running"}');
  assert.deepEqual(fs.readdirSync(dir), ['status.json']);
  // the trainer's sweep (runfolder.py: every `.*.tmp-*` of the folder) between the write and the rename
  let calls = 0;
  atomicWrite(file, (fd) => {
    fs.writeSync(fd, `{"state":"stopped","try":${++calls}}`);
    if (calls === 1) for (const n of fs.readdirSync(dir)) if (isTempName(n)) fs.rmSync(path.join(dir, n));
  });
  assert.equal(calls, 2);
  assert.equal(fs.readFileSync(file, 'utf8'), '{"state":"stopped","try":2}');
  assert.deepEqual(fs.readdirSync(dir), ['status.json']);
  // a write that throws leaves the old file and no temporary one
  assert.throws(() => atomicWrite(file, () => { throw new Error('boom'); }), /boom/);
  assert.equal(fs.readFileSync(file, 'utf8'), '{"state":"stopped","try":2}');
  assert.deepEqual(fs.readdirSync(dir), ['status.json']);
});

test('readEvents: the events of the wanted types in order, an unterminated last line included, a refused file named', () => {
  const dir = tempDir('events');
  const ev = (type: string, step: number, extra: object = {}) => JSON.stringify({ v: 1, type, time: 1000 + step, ...extra });
  const lines = [
    ev('run_started', 0, { config: { type: 'checkpoint' }, total_steps: 2 }),
    ev('metrics', 1, { step: 1, samples_seen: 8, values: { reward_mean: 0.5 } }),
    '{"v":1,"type":"checkpoint","ti', // torn by a kill
    ev('checkpoint', 1, { step: 1, path: 'checkpoints/step-000001' }),
    ev('metrics', 2, { step: 2, samples_seen: 16, values: { reward_mean: 0.75 } }),
  ];
  fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.join('\n')); // no newline after the last
  const got = readEvents(dir, new Set(['metrics', 'checkpoint']));
  assert.deepEqual(got.map((e) => [e.type, (e as { step?: number }).step]), [['metrics', 1], ['checkpoint', 1], ['metrics', 2]]);
  assert.deepEqual(readEvents(dir, new Set(['run_started'])).map((e) => e.type), ['run_started']);
  assert.deepEqual(readEvents(path.join(dir, 'none'), new Set(['metrics'])), []);
  const linked = tempDir('events-link');
  fs.symlinkSync('/dev/zero', path.join(linked, 'events.jsonl'));
  assert.throws(() => readEventsChecked(linked, new Set(['metrics'])), (e: unknown) => e instanceof RunFileError && e.message.includes('events.jsonl'));
  assert.deepEqual(readEvents(linked, new Set(['metrics'])), []);
});

test('readRunConfig: config.yaml as a mapping; none for a missing, broken or non-mapping file; a link refused', () => {
  const dir = tempDir('config');
  assert.equal(readRunConfig(dir), undefined);
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'name: demo\nmodel:\n  policy: /models/tiny\ndata:\n  prompts: /data/p.jsonl\n');
  const cfg = readRunConfig(dir);
  assert.equal(cfg?.model?.policy, '/models/tiny');
  assert.equal(cfg?.data?.prompts, '/data/p.jsonl');
  fs.writeFileSync(path.join(dir, 'config.yaml'), '- a list\n');
  assert.equal(readRunConfig(dir), undefined);
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'model: [unclosed\n');
  assert.equal(readRunConfig(dir), undefined);
  const linked = tempDir('config-link');
  fs.symlinkSync('/dev/zero', path.join(linked, 'config.yaml'));
  assert.throws(() => readRunConfig(linked), RunFileError);
});

// ---- no run-folder name as a literal outside src/core/run/ ------------------------------------------------
/** A line without its comment (a name in a comment documents, it does not name a file). */
function codeOf(line: string): string {
  if (/^\s*(import|export)\b.*\bfrom '|^\s*} from '/.test(line)) return ''; // module paths (../run/checkpoints)
  const t = line.trimStart();
  if (t.startsWith('//') || t.startsWith('*') || t.startsWith('/*')) return '';
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) { if (c === '\\') i++; else if (c === quote) quote = undefined; } else if (c === '\'' || c === '"' || c === '`') quote = c;
    else if (c === '/' && line[i + 1] === '/') return line.slice(0, i);
  }
  return line;
}

/** A line that uses such a string for something else says so: `// not a run-folder name: …`. */
const NOT_OURS = '// not a run-folder name';

function* sources(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules') yield* sources(p); } else if (/\.(ts|mts|js|mjs)$/.test(e.name)) yield p;
  }
}

/** `'events.jsonl'`, or a path in a string that begins or ends with the name (`${dir}/events.jsonl`, 'checkpoints/step-1'). */
function literalsIn(text: string, names: readonly string[]): { line: number; name: string }[] {
  const alt = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const re = new RegExp(`(['"\`])(${alt})\\1|(['"\`])(${alt})/|/(${alt})(['"\`])`, 'g');
  const found: { line: number; name: string }[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.includes(NOT_OURS)) return;
    for (const m of codeOf(l).matchAll(re)) found.push({ line: i + 1, name: m[2] ?? m[4] ?? m[5] });
  });
  return found;
}

test('the literal check finds a name in code and skips comments, module paths and marked lines', () => {
  const names = ['events.jsonl', 'checkpoints'];
  assert.deepEqual(literalsIn([
    "const f = path.join(dir, 'events.jsonl');",
    '// a comment on events.jsonl and \'checkpoints\'',
    "import { x } from '../run/checkpoints';",
    'const p = `${dir}/checkpoints/step-1`;',
    "case 'checkpoints': return 1; // not a run-folder name: the command",
    "say('no events.jsonl there');",
  ].join('\n'), names), [{ line: 1, name: 'events.jsonl' }]);
  assert.deepEqual(literalsIn('const p = `${run}/events.jsonl`;', names), [{ line: 1, name: 'events.jsonl' }]);
});

test('run-folder names are written only in src/core/run/ (src, the webview pages, bench)', () => {
  const room = path.join(ROOT, 'src', 'core', 'run') + path.sep;
  const found: string[] = [];
  for (const top of ['src', 'webview', 'samples-webview', 'playground-webview', 'bench']) {
    for (const file of sources(path.join(ROOT, top))) {
      if (file.startsWith(room)) continue;
      for (const { line, name } of literalsIn(fs.readFileSync(file, 'utf8'), RUN_FOLDER_NAMES)) {
        found.push(`${path.relative(ROOT, file)}:${line}: '${name}' (import it from src/core/run/names.ts)`);
      }
    }
  }
  assert.deepEqual(found, [], `run-folder names written outside src/core/run/:\n${found.join('\n')}`);
});
