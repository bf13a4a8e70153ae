// Every command of the extension is registered in one place, src/extension/commands.ts (registerCommands), once:
// each command package.json contributes, plus the internal ones the editor's links run; no other file of src/
// calls registerCommand; and every rlhf.* command the extension runs or links to is one of them.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..');
const COMMANDS = path.join(ROOT, 'src', 'extension', 'commands.ts');
/** Registered but not in contributes.commands: run by the editor's links (a hover's label link, a CodeLens), not the palette. */
const INTERNAL = ['rlhf.labelSample', 'rlhf.showPromptHistory'];

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const contributed = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { commands: { command: string }[] } })
  .contributes.commands.map((c) => c.command);
const source = fs.readFileSync(COMMANDS, 'utf8');
/** The ids registerCommands registers: its `reg('rlhf.…', …)` calls. */
const registered = [...source.matchAll(/\breg\(\s*'([^']+)'/g)].map((m) => m[1]);

test('every contributed command is registered in commands.ts exactly once', () => {
  assert.ok(contributed.length > 30, `package.json contributes ${contributed.length} commands`);
  for (const id of contributed) {
    const n = registered.filter((r) => r === id).length;
    assert.equal(n, 1, `${id} (package.json contributes.commands) is registered ${n} times in src/extension/commands.ts`);
  }
  const dup = registered.filter((id, i) => registered.indexOf(id) !== i);
  assert.deepEqual(dup, [], 'a command id registered twice');
  assert.deepEqual(registered.filter((id) => !contributed.includes(id)).sort(), [...INTERNAL].sort(),
    'registered but not contributed: only the internal commands (add a new palette command to package.json)');
});

test('registerCommands is the only caller of registerCommand in src/, through its one `reg` helper', () => {
  const callers = tsFiles(path.join(ROOT, 'src')).filter((f) => /\bregisterCommand\s*\(/.test(fs.readFileSync(f, 'utf8')));
  assert.deepEqual(callers.map((f) => path.relative(ROOT, f)), [path.relative(ROOT, COMMANDS)]);
  assert.equal(source.match(/\bregisterCommand\s*\(/g)?.length, 1, 'commands.ts registers through `reg` only (a direct call would escape this check)');
  // also no registerTextEditorCommand (a second way to register) anywhere
  for (const f of tsFiles(path.join(ROOT, 'src'))) assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /registerTextEditorCommand/, f);
});

test('every rlhf.* command the extension runs or links to is registered', () => {
  const ids = new Set<string>();
  for (const f of tsFiles(path.join(ROOT, 'src', 'extension'))) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:executeCommand\(|command: |_COMMAND = )'(rlhf\.[A-Za-z]+)'/g)) ids.add(m[1]);
  }
  assert.ok(ids.size >= 8, `found ${ids.size} command uses`);
  for (const id of ids) assert.ok(registered.includes(id), `${id} is run or linked to but not registered in commands.ts`);
});
