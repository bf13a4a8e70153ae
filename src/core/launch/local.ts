// The `local` and `torchrun` targets: today's launcher (src/core/launcher.ts) behind the launcher contract,
// its behaviour unchanged: a detached process group on this machine, stopped by a control line, SIGINT,
// then SIGKILL of the group; liveness is the recorded pid, checked to still be this run's trainer.
import * as path from 'node:path';
import { launchTrainer, stopRun } from '../launcher';
import { isRunProcess, readStatus } from '../run/runStore';
import { followRun } from './follow';
import type { LaunchTarget, RunHandle, TargetKind } from './target';
import { TRAINER_LOG } from '../run/names';

export function localTarget(kind: Extract<TargetKind, 'local' | 'torchrun'>): LaunchTarget {
  const target: LaunchTarget = {
    kind,
    start(req) {
      const h = launchTrainer({ python: req.python, trainerDir: req.trainerDir, schemasDir: req.schemasDir, config: req.config, runDir: req.runDir,
        resume: req.resume, rewardWorker: req.rewardWorker, env: req.env, nproc: kind === 'torchrun' ? req.nproc : 1 });
      return Promise.resolve({ runDir: h.runDir, target: kind, exited: h.exited });
    },
    stop: (runDir, o) => stopRun(runDir, undefined, o.timeoutMs, o.onStage, o.by),
    liveness: (runDir) => Promise.resolve({ alive: isRunProcess(readStatus(runDir)?.pid, runDir) }),
    logs: (runDir) => [path.join(runDir, TRAINER_LOG)],
    reattach: (runDir, pollMs): Promise<RunHandle | undefined> => followRun(target, runDir, pollMs),
  };
  return target;
}
