// The run lifecycle's commands: start, stop, resume, and what opens a run (its dashboard, folder, trainer
// log, sample browser) or exports its preference labels. Registered in commands.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { stopRun } from '../core/launcher';
import { targetOfRun } from '../core/launch';
import { listCheckpoints, type RunSummary } from '../core/run/runStore';
import { startOnTarget, startTraining } from '../core/training';
import { Labels } from '../core/samples/labels';
import { CONFIG_FILE, LABELS_FILE, SAMPLES_FILE, TRAINER_LOG } from '../core/run/names';
import type { Ctx } from './ctx';
import { DashboardPanel } from './dashboard';
import { launchRun } from './launch';
import { isCheckpointNode, isLive, pickConfig, pickRun, refuseExternal, refuseUntrusted, runIdOf } from './pickers';
import { SamplesPanel } from './samplesPanel';

/** Starts a run; when the interpreter cannot train, offers to set one up or pick one and then starts again. */
export async function startRun(ctx: Ctx, config: string | undefined, resume?: string): Promise<void> {
  if (refuseUntrusted(ctx, 'Starting a training run')) return;
  config ??= await pickConfig();
  if (!config || !ctx.runsDir) return;
  const file = config;
  const common = { layout: ctx.layout, config: file, runsDir: ctx.runsDir, resume, nodePath: ctx.config.nodePath, nproc: ctx.config.trainingProcesses };
  // the run folder and the trainer at once (the trainer checks the config; a refused one fails the run with its
  // message): the Runs view lists the run the moment the trainer is spawned, before the start resolves
  await launchRun(ctx, (python) => startTraining({ python, ...common, checks: 'in-trainer', onLaunched: () => ctx.refresh() }), () => startRun(ctx, file, resume),
    (python) => startOnTarget({ python, ...common, target: ctx.config.launchTarget, slurm: ctx.config.slurm, ray: ctx.config.ray }));
}

export async function openRunFolder(ctx: Ctx, arg: unknown): Promise<void> {
  const id = await pickRun(ctx, arg, () => true, 'Run folder to open');
  if (id) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(ctx.external.get(id)?.dir ?? ctx.runDir(id)!));
}

export async function showTrainerLog(ctx: Ctx, arg: unknown): Promise<void> {
  const id = await pickRun(ctx, arg, () => true, 'Run whose log to show');
  if (id && refuseExternal(ctx, id, 'has no trainer log of RLHF Studio: its own files are in')) return;
  if (id) void vscode.window.showTextDocument(vscode.Uri.file(path.join(ctx.runDir(id)!, TRAINER_LOG)), { preview: true });
}

export function openDashboard(ctx: Ctx, arg: unknown): void {
  const id = runIdOf(arg) ?? ctx.activeRun ?? ctx.runs()[0]?.id;
  if (!id) { void vscode.window.showInformationMessage('RLHF: no runs yet. Start one with "RLHF: Start Training".'); return; }
  ctx.activeRun = id;
  DashboardPanel.show(ctx, id);
}

const hasSamples = (r: RunSummary) => fs.existsSync(path.join(r.dir, SAMPLES_FILE));

export async function openSampleBrowser(ctx: Ctx, arg: unknown, step?: number): Promise<void> {
  const id = runIdOf(arg) ?? (ctx.activeRun && ctx.runs().some((r) => r.id === ctx.activeRun && hasSamples(r)) ? ctx.activeRun : undefined)
    ?? await pickRun(ctx, undefined, hasSamples, 'Run whose samples to browse');
  const dir = id && ctx.runDir(id);
  if (!dir || !fs.existsSync(path.join(dir, SAMPLES_FILE))) { void vscode.window.showInformationMessage('RLHF: no run with recorded samples yet; train once first.'); return; }
  SamplesPanel.show(ctx, dir, { step });
}

export async function exportPreferences(ctx: Ctx, arg: unknown): Promise<void> {
  const id = await pickRun(ctx, arg, (r) => fs.existsSync(path.join(r.dir, LABELS_FILE)), 'Run whose preference labels to export');
  const dir = id && ctx.runDir(id);
  if (!dir) { void vscode.window.showInformationMessage('RLHF: no run has preference labels yet; label samples in the sample browser first.'); return; }
  const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(dir, 'preferences.jsonl')), filters: { 'JSON Lines': ['jsonl'] } });
  if (!target) return;
  try {
    const n = new Labels(dir).export(target.fsPath);
    void vscode.window.showInformationMessage(`RLHF: wrote ${n} preference pair${n === 1 ? '' : 's'} (prompt/chosen/rejected) to ${vscode.workspace.asRelativePath(target)}.`);
  } catch (e) {
    void vscode.window.showErrorMessage(`RLHF: cannot write ${target.fsPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function stopTraining(ctx: Ctx, arg: unknown): Promise<void> {
  const id = await pickRun(ctx, arg, isLive, 'Run to stop');
  if (!id) { void vscode.window.showInformationMessage('RLHF: no training run is active.'); return; }
  if (refuseExternal(ctx, id, 'cannot be stopped from here: its trainer writes')) return;
  const dir = ctx.runDir(id)!;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RLHF: stopping ${id}` }, async (progress) => {
    const onStage = (stage: string) => progress.report({ message: stage });
    // a trainer this window started is stopped through its stdin first; any other run through its target
    const handle = ctx.handles.get(id);
    const outcome = handle ? await stopRun(dir, handle, ctx.config.stopTimeoutMs, onStage, 'Stop Training')
      : await targetOfRun(dir).stop(dir, { timeoutMs: ctx.config.stopTimeoutMs, onStage, by: 'Stop Training' });
    ctx.log.info(`stop ${id}: ${outcome}`);
    ctx.watcher(id)?.poll();
    ctx.refresh();
    const ck = listCheckpoints(dir);
    void vscode.window.showInformationMessage(`RLHF: ${id} stopped (${outcome})${ck.length ? `; checkpoint ${path.basename(ck[ck.length - 1])}` : ''}.`);
  });
}

export async function resumeFromCheckpoint(ctx: Ctx, arg: unknown): Promise<void> {
  if (refuseUntrusted(ctx, 'Resuming a run')) return;
  if (isCheckpointNode(arg)) { // Resume From Here: a new run folder linked to this one (lineage)
    if (arg.alive) { void vscode.window.showInformationMessage(`RLHF: ${arg.runId} is still training; stop it before resuming from its checkpoint.`); return; }
    await startRun(ctx, path.join(arg.runDir, CONFIG_FILE), arg.checkpoint.dir);
    return;
  }
  const id = await pickRun(ctx, arg, (r) => r.checkpoints.length > 0 && !r.alive, 'Run to resume');
  if (!id || refuseExternal(ctx, id, 'cannot be resumed from here: its checkpoints are in')) return;
  const dir = ctx.runDir(id)!;
  const ckpts = listCheckpoints(dir).reverse();
  const ck = ckpts.length === 1 ? ckpts[0] : (await vscode.window.showQuickPick(ckpts.map((c) => ({ label: path.basename(c), c })), { placeHolder: 'Checkpoint' }))?.c;
  if (!ck) return;
  await startRun(ctx, path.join(dir, CONFIG_FILE), ck);
}
