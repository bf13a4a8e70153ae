// The targets by kind, and which one a run folder belongs to (status.json's job). No vscode here.
import { readStatus, type RunSummary } from '../run/runStore';
import { localTarget } from './local';
import { rayTarget } from './ray';
import { slurmTarget } from './slurm';
import { isRemoteTarget, jobOf, readSchedulerView, type LaunchTarget, type TargetKind } from './target';

const TARGETS: Record<TargetKind, LaunchTarget> = { local: localTarget('local'), torchrun: localTarget('torchrun'), slurm: slurmTarget, ray: rayTarget };

export const targetFor = (kind: TargetKind): LaunchTarget => TARGETS[kind];

/** The target a run was started on: its status.json's job; a folder without one is a local run. */
export function targetOfRun(runDir: string): LaunchTarget {
  return TARGETS[jobOf(readStatus(runDir))?.target ?? 'local'];
}

const lastAsked = new Map<string, number>();

/**
 * Asks the scheduler about every remote run that is (or may still be) live, at most once per minIntervalMs
 * per run: what `rlhf runs`, the Runs view and the status bar show comes from its answer (scheduler.json),
 * and an end the trainer could not record (cancel, time limit, preemption, a failed start) is recorded.
 */
export async function refreshRemoteRuns(runs: RunSummary[], minIntervalMs = 0): Promise<void> {
  const now = Date.now();
  const due = runs.filter((r) => isRemoteTarget(r.job?.target) && now - (lastAsked.get(r.dir) ?? 0) >= minIntervalMs &&
    (['starting', 'running', 'stopping', 'stopped'].includes(r.status?.state ?? '') && !readSchedulerView(r.dir)?.ended));
  await Promise.all(due.map(async (r) => {
    lastAsked.set(r.dir, now);
    try { await TARGETS[r.job!.target].liveness(r.dir); } catch { /* the scheduler did not answer: the files say what they say */ }
  }));
}
