// Starting a run, shared by the extension and the CLI: check the interpreter, validate the config
// with the trainer itself (one source of truth), pick the run folder, launch.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { launchTrainer, type TrainerHandle } from './launcher';
import { probePython } from './python';
import { newRunId } from './runStore';

export interface InstallLayout { root: string; trainerDir: string; schemasDir: string; rewardWorker: string }

/** Where the trainer sources and schemas live, from the folder that holds dist/. */
export function installLayout(root: string): InstallLayout {
  return { root, trainerDir: path.join(root, 'trainer'), schemasDir: path.join(root, 'schemas'), rewardWorker: path.join(root, 'dist', 'reward-worker.js') };
}

export class StartError extends Error {
  constructor(message: string, readonly fix?: string) { super(message); }
}

export function validateConfig(python: string, layout: InstallLayout, config: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-m', 'rlhf_trainer', 'validate', '--config', config], {
      env: { ...process.env, PYTHONPATH: layout.trainerDir, RLHF_SCHEMAS_DIR: layout.schemasDir, RLHF_REWARD_WORKER: layout.rewardWorker, RLHF_NODE: process.execPath }, timeout: 120_000,
    }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const line = stderr.trim().split('\n').filter(Boolean).pop() ?? err.message;
      reject(new StartError(line.replace(/^config error: /, '')));
    });
  });
}

export function runNameOf(config: string): string {
  try {
    const doc = YAML.parse(fs.readFileSync(config, 'utf8'));
    if (doc && typeof doc.name === 'string') return doc.name;
  } catch { /* the trainer reports config errors */ }
  return path.basename(config).replace(/\.(ya?ml)$/, '');
}

export interface StartOptions {
  python: string;
  layout: InstallLayout;
  config: string;
  runsDir: string;
  resume?: string;
  nodePath?: string;
}

export async function startTraining(o: StartOptions): Promise<TrainerHandle> {
  const probe = await probePython(o.python);
  if (!probe.ok) throw new StartError(probe.problem ?? 'Python is not usable', probe.fix);
  await validateConfig(o.python, o.layout, o.config);
  const runDir = path.join(o.runsDir, newRunId(runNameOf(o.config)));
  return launchTrainer({ python: o.python, trainerDir: o.layout.trainerDir, schemasDir: o.layout.schemasDir,
    config: o.config, runDir, resume: o.resume, nodePath: o.nodePath, rewardWorker: o.layout.rewardWorker });
}
