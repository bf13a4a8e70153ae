// Set Up Python Environment: a real .venv is created and the requirements installed (offline: a
// local wheel-less requirement set), re-runs are no-ops, and a failing pip says what failed.
// Also: which interpreter is chosen and how errors say where it came from.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { describePythonChoice, probePython, resolvePython } from '../../src/core/python';
import { SetupError, setUpVenv, venvPython } from '../../src/core/pythonSetup';
import { tempDir } from '../helpers';

const tmp = () => tempDir('setup');

test('setUpVenv creates .venv, installs the requirements, then is a no-op until they change', async () => {
  const root = tmp();
  const req = path.join(root, 'requirements.txt');
  fs.writeFileSync(req, '# nothing to install offline\n');
  const log: string[] = [];
  const phases: string[] = [];
  const python = await setUpVenv({ root, requirements: req, log: (l) => log.push(l), onProgress: (p) => phases.push(p), pipArgs: ['--no-index'] });
  assert.equal(python, venvPython(root));
  assert.ok(fs.statSync(python).isFile());
  assert.ok(log.some((l) => /-m venv/.test(l)) && log.some((l) => /pip install/.test(l)), log.join('\n'));
  assert.equal(phases.at(-1), '.venv ready');
  // the workspace .venv is now what resolvePython finds without a setting
  assert.deepEqual(resolvePython({ workspaceRoots: [root] }), { path: python, source: 'workspace-venv' });
  const again: string[] = [];
  await setUpVenv({ root, requirements: req, log: (l) => again.push(l), pipArgs: ['--no-index'] });
  assert.ok(!again.some((l) => /pip install/.test(l)), again.join('\n'));
  // a .venv set up for development (npm test: the runtime set, then the dev set) has the runtime set
  const stamp = path.join(root, '.venv', '.rlhf-setup-v1');
  fs.appendFileSync(stamp, '-r requirements.txt\npytest==9.2.0\n');
  const dev: string[] = [];
  await setUpVenv({ root, requirements: req, log: (l) => dev.push(l), pipArgs: ['--no-index'] });
  assert.ok(!dev.some((l) => /pip install/.test(l)), dev.join('\n'));

  // a requirement pip cannot get: one line saying which step failed and pip's last word
  fs.writeFileSync(req, 'rlhf-package-that-does-not-exist==1.0\n');
  await assert.rejects(setUpVenv({ root, requirements: req, log: () => undefined, pipArgs: ['--no-index'] }),
    (e: Error) => e instanceof SetupError && /pip install -r .* failed \(exit 1\): .*rlhf-package-that-does-not-exist/.test(e.message));
});

test('setUpVenv without a usable base Python says so in one line', async () => {
  const root = tmp();
  const req = path.join(root, 'requirements.txt');
  fs.writeFileSync(req, '');
  await assert.rejects(setUpVenv({ root, requirements: req, basePython: '/no/such/python3', log: () => undefined }),
    /\/no\/such\/python3 was not found: install Python 3.10\+ or choose an interpreter/);
});

test("resolvePython: a conda-style environment folder from the Python extension is not taken as the interpreter", () => {
  const env = tmp(); // a folder, as getActiveEnvironmentPath returns for a conda environment without python
  const ws = tmp();
  const choice = resolvePython({ pythonExtensionPath: env, workspaceRoots: [ws] });
  assert.deepEqual(choice, { path: 'python3', source: 'PATH' });
  assert.match(describePythonChoice(choice, { pythonExtensionPath: env, workspaceRoots: [ws] }), new RegExp(`'${env}' is not an interpreter file`));
});

test('the "cannot import" error names the interpreter and where it came from', async () => {
  const dir = tmp();
  const fake = path.join(dir, 'python');
  fs.writeFileSync(fake, '#!/bin/sh\necho \'{"version": "3.11.0", "missing": ["torch", "transformers"], "cuda": false}\'\n', { mode: 0o755 });
  const input = { setting: fake, settingLevel: 'Workspace settings', workspaceRoots: [dir] };
  const choice = resolvePython(input);
  const r = await probePython(choice.path, undefined, describePythonChoice(choice, input));
  assert.equal(r.kind, 'packages');
  assert.equal(r.problem, `${fake} (rlhf.pythonPath in Workspace settings) cannot import torch, transformers.`);
  const fallback = resolvePython({ workspaceRoots: [dir] });
  assert.equal(describePythonChoice(fallback, { workspaceRoots: [dir] }),
    `python3 on PATH: rlhf.pythonPath is not set for this window, the Python extension gave no interpreter, no .venv or venv in ${dir}`);
});

test('the light probe (a start beside the trainer) finds missing packages and versions without importing them, as the full probe does', async () => {
  const venv = path.resolve(__dirname, '../..', '.venv', 'bin', 'python');
  const bare = venvPython(tmp()); // not a Python: not found
  assert.equal((await probePython(bare, undefined, undefined, true)).kind, 'not-found');
  if (fs.existsSync(venv)) {
    const [light, full] = await Promise.all([probePython(venv, undefined, undefined, true), probePython(venv)]);
    assert.ok(light.ok && full.ok, `${light.problem ?? ''} ${full.problem ?? ''}`);
    assert.equal(light.torch?.split('+')[0], full.torch?.split('+')[0]);
    assert.equal(light.transformers, full.transformers);
  }
  // an interpreter without torch (the machine's python3, which the project never installs into) is missing it
  const system = spawnSync('python3', ['-c', 'import importlib.util, sys; print(sys.executable if importlib.util.find_spec("torch") is None else "")'], { encoding: 'utf8' }).stdout.trim();
  if (system) {
    const r = await probePython(system, undefined, undefined, true);
    assert.equal(r.kind, 'packages');
    assert.match(r.problem ?? '', /cannot import torch/);
  }
});
