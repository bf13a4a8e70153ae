// The trainer's environment, built in one place for `validate` and `run`: where the trainer sources,
// the schemas and the reward worker are, and which Node runs that worker.
import * as path from 'node:path';

export interface NodeCommand {
  /** Executable the trainer starts dist/reward-worker.js with (RLHF_NODE). */
  path: string;
  /** Variables it needs, passed down through the trainer's environment. */
  env: Record<string, string>;
  source: 'setting' | 'electron-as-node' | 'current-node';
}

export interface NodeChoiceInput {
  /** rlhf.nodePath (or --node): used as is when set. */
  setting?: string;
  execPath?: string;
  versions?: NodeJS.ProcessVersions;
}

/**
 * The Node for the reward worker. Without a setting it is the runtime we run on: under desktop VS Code
 * that is Electron, whose binary opens a window unless ELECTRON_RUN_AS_NODE=1 makes it a plain Node
 * (VS Code runs its own Node helpers this way); code-server, Remote-SSH and the CLI run on a real Node.
 */
export function chooseNode(input: NodeChoiceInput = {}): NodeCommand {
  const setting = input.setting?.trim();
  if (setting) return { path: setting, env: {}, source: 'setting' };
  const execPath = input.execPath ?? process.execPath;
  const versions = input.versions ?? process.versions;
  if (versions.electron) return { path: execPath, env: { ELECTRON_RUN_AS_NODE: '1' }, source: 'electron-as-node' };
  return { path: execPath, env: {}, source: 'current-node' };
}

export interface TrainerEnvInput {
  trainerDir: string;
  schemasDir: string;
  rewardWorker?: string;
  node: NodeCommand;
  /** The environment to extend; process.env when absent. */
  base?: NodeJS.ProcessEnv;
}

/** The environment for `python -m rlhf_trainer validate|run`. The user's PYTHONPATH is kept, after the trainer. */
export function trainerEnv(o: TrainerEnvInput): NodeJS.ProcessEnv {
  const base = o.base ?? process.env;
  return {
    ...base,
    ...o.node.env,
    PYTHONPATH: [o.trainerDir, base.PYTHONPATH].filter(Boolean).join(path.delimiter),
    RLHF_SCHEMAS_DIR: o.schemasDir,
    RLHF_NODE: o.node.path,
    ...(o.rewardWorker ? { RLHF_REWARD_WORKER: o.rewardWorker } : {}),
    PYTHONUNBUFFERED: '1',
    TOKENIZERS_PARALLELISM: 'false',
  };
}
