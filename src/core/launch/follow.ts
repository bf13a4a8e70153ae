// Following a run that this process did not start (a reload, `rlhf train --slurm`): a handle whose `exited`
// resolves once the target says the run is over and its end is in the run folder.
import { setTimeout as sleep } from 'node:timers/promises';
import { readStatus } from '../run/runStore';
import type { LaunchTarget, RunHandle } from './target';

/** The exit code a finished run reads as: 0 completed or stopped, 1 failed (or no status). */
export function exitCodeOf(runDir: string): number {
  const s = readStatus(runDir)?.state;
  return s === 'completed' || s === 'stopped' ? 0 : 1;
}

/** A handle on a live run, polling `target.liveness` every pollMs; undefined when the run is not live now. */
export async function followRun(target: LaunchTarget, runDir: string, pollMs = 2000, jobId?: string): Promise<RunHandle | undefined> {
  if (!(await target.liveness(runDir)).alive) return undefined;
  const exited = (async () => {
    for (;;) {
      await sleep(pollMs);
      // a remote job is alive until the scheduler lets it go (the trainer's own end may be written before)
      if (!(await target.liveness(runDir)).alive) return exitCodeOf(runDir);
    }
  })();
  return { runDir, target: target.kind, jobId, exited };
}
