// Launching a run from the editor (a policy run, a reward-model run): the notification that follows the trainer
// while it loads, the run shown at once in every view, and the offers (set up Python, pick an interpreter)
// when it cannot start. Shared by the command modules that start runs (trainingCommands, rewardModelCommands).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TrainerHandle } from '../core/launcher';
import type { RunHandle } from '../core/launch/target';
import { readStatus } from '../core/run/runStore';
import { StartError } from '../core/training';
import type { Ctx } from './ctx';
import { DashboardPanel } from './dashboard';

const SET_UP = 'Set Up Python Environment';
const SELECT = 'Select Interpreter';
const COPY_FIX = 'Copy Fix Command';

/**
 * Launches a run (a policy or a reward model: `start` is the core's start with the resolved interpreter) under a
 * notification that follows the trainer while it loads and stops the run when cancelled; the run shows at once in
 * every view (`remote`: the start on rlhf.launchTarget when that is a cluster). When the interpreter cannot train, offers to set one up or pick one, then calls `again`.
 */
export async function launchRun(ctx: Ctx, start: (python: { path: string; origin?: string }) => Promise<TrainerHandle>, again: () => Promise<unknown>,
  remote?: (python: { path: string; origin?: string }) => Promise<RunHandle>): Promise<void> {
  const python = await ctx.interpreters.resolve();
  let failure: StartError | Error | undefined;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'RLHF', cancellable: true }, async (progress, token) => {
    progress.report({ message: `checking ${python.path} and the config…` });
    // rlhf.launchTarget (slurm, ray) for starts that can run there; reward-model runs start here
    const kind = remote ? ctx.config.launchTarget : 'local';
    let id: string;
    let live: () => boolean;
    try {
      if (kind === 'local' || !remote) {
        const handle = await start(python);
        id = attach(ctx, handle, python.path);
        live = () => ctx.handles.has(id);
      } else {
        progress.report({ message: `checking ${python.path}, the config and ${kind}…` });
        const h = await remote(python);
        let ended = false;
        void h.exited.then(() => { ended = true; });
        id = attachRemote(ctx, h);
        live = () => !ended;
      }
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
      return;
    }
    // cancelling the notification stops the run it is about
    const stop = () => void vscode.commands.executeCommand('rlhf.stopTraining', id);
    if (token.isCancellationRequested) { stop(); return; }
    token.onCancellationRequested(stop);
    // the notification stays while the trainer prepares and loads its models (a job: while it waits in the queue)
    progress.report({ message: kind === 'local' ? 'starting the trainer…' : `${ctx.runs().find((r) => r.id === id)?.jobLabel ?? kind}: waiting for the job to start…` });
    const w = ctx.watcher(id)!;
    const deadline = Date.now() + 10 * 60_000;
    while (Date.now() < deadline && w.model.step === 0 && live() && !token.isCancellationRequested) {
      const p = w.model.progress;
      if (p) progress.report({ message: `${p.phase}${p.total ? ` ${Math.round((100 * p.done) / p.total)}%` : ''}${p.message ? `: ${p.message}` : ''}` });
      await new Promise((r) => setTimeout(r, 300));
    }
  });
  if (!failure) return;
  const fix = failure instanceof StartError ? failure.fix : undefined;
  ctx.log.error(`start failed: ${failure.message}${fix ? ` | fix: ${fix}` : ''}`);
  const pythonProblem = failure instanceof StartError && failure.reason === 'python';
  const actions = [...(pythonProblem ? [SET_UP, SELECT] : []), ...(fix ? [COPY_FIX] : [])];
  const pick = await vscode.window.showErrorMessage(`RLHF: cannot start training: ${failure.message}`, ...actions);
  if (pick === COPY_FIX && fix) void vscode.env.clipboard.writeText(fix);
  const ready = pick === SET_UP ? await ctx.interpreters.setUp(ctx.layout.requirements) : pick === SELECT ? await ctx.interpreters.select() : false;
  if (ready) await again(); // the start that was asked for
}

/** A launched trainer shows up at once everywhere as `starting`; its exit is reported when it did not end well. */
function attach(ctx: Ctx, handle: TrainerHandle, python: string): string {
  const id = path.basename(handle.runDir);
  ctx.handles.set(id, handle);
  ctx.activeRun = id;
  ctx.log.info(`started ${id} (pid ${handle.pid}) with ${python}`);
  const w = ctx.watcher(id)!;
  ctx.refresh();
  DashboardPanel.show(ctx, id);
  void handle.exited.then((code) => {
    ctx.handles.delete(id);
    w.poll();
    ctx.log.info(`${id} exited with code ${code}`);
    ctx.refresh();
    // failed as reported by the trainer, or died before it could say (import error, OOM kill)
    if (w.model.state === 'failed' || (code !== 0 && w.model.state !== 'stopped' && w.model.state !== 'completed')) {
      const why = w.model.error ?? `the trainer exited with code ${code} before reporting; the log says why`;
      void vscode.window.showErrorMessage(`RLHF: run ${id} failed: ${why}`, 'Show Trainer Log')
        .then((a) => { if (a) void vscode.commands.executeCommand('rlhf.showTrainerLog', id); });
    }
  });
  return id;
}

/** A run started on a cluster: its folder has status.json (with the job id) at once; its end is reported when it did not end well. */
function attachRemote(ctx: Ctx, h: RunHandle): string {
  const id = path.basename(h.runDir);
  ctx.activeRun = id;
  ctx.log.info(`started ${id} on ${h.target} (job ${h.jobId ?? '?'})`);
  const w = ctx.watcher(id)!;
  ctx.refresh();
  DashboardPanel.show(ctx, id);
  void h.exited.then(() => {
    w.poll();
    ctx.refresh();
    if (w.model.state === 'failed' || readStatus(h.runDir)?.state === 'failed') {
      const why = readStatus(h.runDir)?.error ?? w.model.error ?? 'the job ended before the trainer reported; its logs say why';
      void vscode.window.showErrorMessage(`RLHF: run ${id} failed: ${why}`, 'Show Trainer Log')
        .then((a) => { if (a) void vscode.commands.executeCommand('rlhf.showTrainerLog', id); });
    }
  });
  return id;
}
