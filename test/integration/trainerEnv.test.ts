// The trainer's environment: which Node runs the reward worker (a real worker is started through it,
// including under an Electron-like runtime as in desktop VS Code), and the user's PYTHONPATH kept.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { test } from 'node:test';
import { chooseNode, trainerEnv } from '../../src/core/trainerEnv';
import { installLayout, layoutEnv, validateConfig } from '../../src/core/training';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const layout = installLayout(ROOT);

/** Starts the reward worker exactly as the trainer does (RLHF_NODE RLHF_REWARD_WORKER, with its env) and scores two items. */
async function scoreThroughTrainerEnv(env: NodeJS.ProcessEnv): Promise<{ rewards?: number[]; exitCode?: number | null; stderr: string }> {
  const child = spawn(env.RLHF_NODE!, [env.RLHF_REWARD_WORKER!], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = readline.createInterface({ input: child.stdout });
  const replies: Record<string, unknown>[] = [];
  let wake: () => void = () => undefined;
  lines.on('line', (l) => { replies.push(JSON.parse(l) as Record<string, unknown>); wake(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => { r(c); wake(); }));
  let code: number | null | undefined;
  void exited.then((c) => { code = c; });
  const next = async (type: string) => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const i = replies.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) return replies.splice(i, 1)[0];
      if (code !== undefined) return undefined;
      await new Promise<void>((r) => { wake = r; setTimeout(r, 1000); });
    }
    return undefined;
  };
  child.stdin.on('error', () => undefined);
  child.stdin.write(JSON.stringify({ v: 1, type: 'init', options: { rules: [{ name: 'yes', kind: 'contains', text: 'yes' }], base_dir: ROOT } }) + '\n');
  const ready = await next('ready');
  if (!ready || ready.type !== 'ready') { child.kill(); await exited; return { exitCode: code, stderr }; }
  child.stdin.write(JSON.stringify({ v: 1, type: 'score', id: 1, items: [{ prompt: 'q', response: 'yes indeed' }, { prompt: 'q', response: 'no' }] }) + '\n');
  const result = await next('result');
  child.stdin.end();
  await exited;
  return { rewards: result?.rewards as number[] | undefined, stderr };
}

test('chooseNode: the setting wins; under Electron its binary runs as Node; else the current Node', () => {
  assert.deepEqual(chooseNode({ setting: ' /opt/node/bin/node ', execPath: '/x/code', versions: { ...process.versions, electron: '35.0.0' } }),
    { path: '/opt/node/bin/node', env: {}, source: 'setting' });
  assert.deepEqual(chooseNode({ execPath: '/x/code', versions: { ...process.versions, electron: '35.0.0' } }),
    { path: '/x/code', env: { ELECTRON_RUN_AS_NODE: '1' }, source: 'electron-as-node' });
  assert.deepEqual(chooseNode({ execPath: '/usr/bin/node', versions: process.versions }), { path: '/usr/bin/node', env: {}, source: 'current-node' });
});

test('desktop VS Code: the reward worker really runs under an Electron-like runtime through the chosen command', async () => {
  assert.ok(fs.existsSync(layout.rewardWorker), 'dist/reward-worker.js is built (node esbuild.mjs)');
  // like Electron: it is a Node only with ELECTRON_RUN_AS_NODE=1, otherwise it would open an editor window
  const dir = tempDir('electron');
  const fake = path.join(dir, 'code');
  fs.writeFileSync(fake, `#!/bin/sh\n[ "$ELECTRON_RUN_AS_NODE" = 1 ] || { echo "fake electron: would open a window" >&2; exit 9; }\nexec "${process.execPath}" "$@"\n`, { mode: 0o755 });
  const base = { ...process.env };
  delete base.ELECTRON_RUN_AS_NODE;
  const electron = { execPath: fake, versions: { ...process.versions, electron: '35.0.0' } };

  // what the extension did before: RLHF_NODE=process.execPath and nothing else -> the worker never starts
  const naive = await scoreThroughTrainerEnv(layoutEnv(layout, { path: fake, env: {}, source: 'current-node' }, base));
  assert.equal(naive.rewards, undefined);
  assert.match(naive.stderr, /would open a window/);

  const env = layoutEnv(layout, chooseNode(electron), base);
  assert.equal(env.RLHF_NODE, fake);
  const scored = await scoreThroughTrainerEnv(env);
  assert.deepEqual(scored.rewards, [1, 0], scored.stderr);
});

test('code-server / CLI: the worker runs under the current Node', async () => {
  const scored = await scoreThroughTrainerEnv(layoutEnv(layout, chooseNode()));
  assert.deepEqual(scored.rewards, [1, 0], scored.stderr);
});

test("trainerEnv: the trainer comes first on PYTHONPATH and the user's PYTHONPATH stays (validate and run share it)", () => {
  const userDir = tempDir('pp');
  const env = trainerEnv({ trainerDir: layout.trainerDir, schemasDir: layout.schemasDir, node: chooseNode(), base: { ...process.env, PYTHONPATH: userDir } });
  assert.equal(env.PYTHONPATH, [layout.trainerDir, userDir].join(path.delimiter));
  const sysPath = JSON.parse(execFileSync('python3', ['-c', 'import json, sys; print(json.dumps(sys.path))'], { env, encoding: 'utf8' })) as string[];
  assert.ok(sysPath.indexOf(layout.trainerDir) >= 0 && sysPath.indexOf(layout.trainerDir) < sysPath.indexOf(userDir), sysPath.join(':'));
  assert.equal(env.RLHF_SCHEMAS_DIR, layout.schemasDir);
  assert.equal(env.RLHF_REWARD_WORKER, undefined);
});

test("validate with the real trainer sees the user's PYTHONPATH (it used to be replaced by the trainer's folder)", async (t) => {
  const venv = path.join(ROOT, '.venv', 'bin', 'python');
  if (!fs.existsSync(venv)) { t.skip('no .venv (npm run setup:python)'); return; }
  const userDir = tempDir('userpp');
  const marker = path.join(userDir, 'seen');
  // Python imports sitecustomize from sys.path at start-up: it runs only when userDir is on PYTHONPATH
  fs.writeFileSync(path.join(userDir, 'sitecustomize.py'), `open(${JSON.stringify(marker)}, "w").write("1")\n`);
  const saved = process.env.PYTHONPATH;
  process.env.PYTHONPATH = userDir;
  try {
    await validateConfig(venv, layout, path.join(ROOT, 'examples', 'arithmetic', 'config.yaml'));
  } finally {
    if (saved === undefined) delete process.env.PYTHONPATH; else process.env.PYTHONPATH = saved;
  }
  assert.ok(fs.existsSync(marker), 'the trainer ran with the user PYTHONPATH');
});
