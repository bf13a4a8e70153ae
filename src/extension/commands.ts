// Every command of the extension, registered here (rust-analyzer style: plain functions over the context).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { looksLikeRunConfig } from '../core/configDiagnostics';
import { stopRun, type TrainerHandle } from '../core/launcher';
import { targetOfRun } from '../core/launch';
import type { RunHandle } from '../core/launch/target';
import { listCheckpoints, readStatus, type RunSummary } from '../core/run/runStore';
import { StartError, startOnTarget, startTraining } from '../core/training';
import type { Ctx } from './ctx';
import { DashboardPanel } from './dashboard';
import { SamplesPanel } from './samplesPanel';
import { Labels } from '../core/samples/labels';
import type { RewardsUi } from './rewardsUi';
import { addNoteCommand, configDiffRunsCommand, editTagsCommand, filterRunsByTagCommand, overlayRunsCommand, runIdOf } from './runsView';
import { compareCheckpointConfig, deleteCheckpointCommand, downloadCheckpoint, exportCheckpointHf, isCheckpointNode, keepCheckpoint, openCheckpointFolder,
  saveCheckpointNow } from './checkpointCommands';
import { newConfig, validateConfigCommand } from './configCommands';
import { exportCheckpointOnnx, tryCheckpoint } from './onnxCommands';
import { compareEstimators } from './compareCommand';
import type { ConfigValidation } from './configValidation';
import { CONFIG_FILE, LABELS_FILE, SAMPLES_FILE, TRAINER_LOG } from '../core/run/names';

export function registerCommands(ctx: Ctx, rewards: RewardsUi, validation: ConfigValidation): void {
  const reg = (id: string, fn: (...a: unknown[]) => unknown) => ctx.ext.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg('rlhf.startTraining', (uri) => startRun(ctx, uri instanceof vscode.Uri ? uri.fsPath : undefined));
  reg('rlhf.stopTraining', (arg) => stopTraining(ctx, arg));
  reg('rlhf.openDashboard', (arg) => openDashboard(ctx, arg));
  reg('rlhf.resumeFromCheckpoint', (arg) => resumeFromCheckpoint(ctx, arg));
  reg('rlhf.resumeFromHere', (arg) => resumeFromCheckpoint(ctx, arg));
  reg('rlhf.openRunFolder', async (arg) => {
    const id = await pickRun(ctx, arg, () => true, 'Run folder to open');
    if (id) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(ctx.external.get(id)?.dir ?? ctx.runDir(id)!));
  });
  reg('rlhf.showTrainerLog', async (arg) => {
    const id = await pickRun(ctx, arg, () => true, 'Run whose log to show');
    if (id && refuseExternal(ctx, id, 'has no trainer log of RLHF Studio: its own files are in')) return;
    if (id) void vscode.window.showTextDocument(vscode.Uri.file(path.join(ctx.runDir(id)!, TRAINER_LOG)), { preview: true });
  });
  reg('rlhf.refreshRuns', () => ctx.refresh());
  reg('rlhf.setUpPython', () => !refuseUntrusted(ctx, 'Setting up the Python environment') && ctx.interpreters.setUp(ctx.layout.requirements));
  reg('rlhf.selectInterpreter', () => !refuseUntrusted(ctx, 'Choosing the trainer interpreter') && ctx.interpreters.select());
  reg('rlhf.testRules', (uri) => rewards.test(uri instanceof vscode.Uri ? uri : undefined));
  reg('rlhf.newRewardRules', () => rewards.scaffold());
  reg('rlhf.showRewardReport', () => rewards.showReport());
  reg('rlhf.openSampleBrowser', (arg, step) => openSampleBrowser(ctx, arg, typeof step === 'number' ? step : undefined));
  reg('rlhf.exportPreferences', (arg) => exportPreferences(ctx, arg));
  reg('rlhf.newConfig', () => newConfig(ctx));
  reg('rlhf.validateConfig', async (uri) => validateConfigCommand(ctx, validation, uri instanceof vscode.Uri ? uri.fsPath : await pickConfig('Run config to validate')));
  reg('rlhf.saveCheckpointNow', async (arg) => saveCheckpointNow(ctx, await pickRun(ctx, arg, isLive, 'Run to checkpoint now')));
  reg('rlhf.openCheckpointFolder', (arg) => openCheckpointFolder(arg));
  reg('rlhf.keepCheckpoint', (arg) => keepCheckpoint(ctx, arg, true));
  reg('rlhf.unkeepCheckpoint', (arg) => keepCheckpoint(ctx, arg, false));
  reg('rlhf.deleteCheckpoint', (arg) => deleteCheckpointCommand(ctx, arg));
  reg('rlhf.compareCheckpointConfig', (arg) => compareCheckpointConfig(arg, () => pickConfig('Current config to compare with')));
  reg('rlhf.exportCheckpointHf', (arg) => exportCheckpointHf(ctx, arg));
  reg('rlhf.downloadCheckpoint', (arg) => downloadCheckpoint(ctx, arg));
  reg('rlhf.overlayRuns', (arg, selection) => overlayRunsCommand(ctx, arg, selection));
  reg('rlhf.configDiffRuns', (arg, selection) => configDiffRunsCommand(ctx, arg, selection));
  reg('rlhf.addRunNote', (arg) => addNoteCommand(ctx, arg));
  reg('rlhf.editRunTags', (arg) => editTagsCommand(ctx, arg));
  reg('rlhf.filterRunsByTag', (tag) => filterRunsByTagCommand(ctx, tag));
  reg('rlhf.exportCheckpointOnnx', (arg) => exportCheckpointOnnx(ctx, arg));
  reg('rlhf.tryCheckpoint', (arg) => tryCheckpoint(ctx, arg));
  reg('rlhf.compareEstimators', () => compareEstimators(ctx, () => pickConfig('Config to train with each estimator')));
}

/** A watched run of another framework is read-only: Stop, Resume and the trainer log are not for it. */
function refuseExternal(ctx: Ctx, id: string, what: string): boolean {
  const run = ctx.external.get(id);
  if (!run) return false;
  void vscode.window.showInformationMessage(`RLHF: ${id} is a ${run.framework} run watched read-only; it ${what} ${run.dir}.`);
  return true;
}

export function refuseUntrusted(ctx: Ctx, what: string): boolean {
  if (ctx.trusted) return false;
  void vscode.window.showWarningMessage(
    `RLHF Studio: ${what} is disabled in an untrusted workspace: it would run the trainer and reward code from this folder. ` +
    'Trust the workspace (Workspaces: Manage Workspace Trust) to train; runs and charts stay viewable.', 'Manage Workspace Trust',
  ).then((pick) => { if (pick) void vscode.commands.executeCommand('workbench.trust.manage'); });
  return true;
}

export async function pickConfig(placeHolder = 'Run config to train with'): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/*.{yaml,yml}', '{**/node_modules/**,**/runs/**,**/.venv/**}', 200);
  // a run config by its keys, whatever its file name (arith-debug.yaml too)
  const configs = found.filter((u) => { try { return looksLikeRunConfig(fs.readFileSync(u.fsPath, 'utf8')); } catch { return false; } });
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && /\.ya?ml$/.test(active.fsPath) && !configs.some((c) => c.fsPath === active.fsPath)) configs.unshift(active);
  if (configs.length === 1) return configs[0].fsPath;
  const pick = await vscode.window.showQuickPick(configs.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
    { placeHolder });
  if (pick) return pick.uri.fsPath;
  if (!configs.length) {
    const file = await vscode.window.showOpenDialog({ filters: { 'Run config': ['yaml', 'yml'] }, canSelectMany: false });
    return file?.[0].fsPath;
  }
  return undefined;
}

const SET_UP = 'Set Up Python Environment';
const SELECT = 'Select Interpreter';
const COPY_FIX = 'Copy Fix Command';

/** Starts a run; when the interpreter cannot train, offers to set one up or pick one and then starts again. */
async function startRun(ctx: Ctx, config: string | undefined, resume?: string): Promise<void> {
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

function openDashboard(ctx: Ctx, arg: unknown): void {
  const id = runIdOf(arg) ?? ctx.activeRun ?? ctx.runs()[0]?.id;
  if (!id) { void vscode.window.showInformationMessage('RLHF: no runs yet. Start one with "RLHF: Start Training".'); return; }
  ctx.activeRun = id;
  DashboardPanel.show(ctx, id);
}

const isLive = (r: RunSummary) => r.alive;

async function pickRun(ctx: Ctx, arg: unknown, filter: (r: RunSummary) => boolean, placeHolder: string): Promise<string | undefined> {
  const given = runIdOf(arg);
  if (given) return given;
  const runs = ctx.runs().filter(filter);
  if (runs.length === 1) return runs[0].id;
  if (ctx.activeRun && runs.some((r) => r.id === ctx.activeRun) && filter === isLive) return ctx.activeRun;
  const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.id, description: `${r.status?.state ?? ''} step ${r.status?.step ?? 0}` })), { placeHolder });
  return pick?.label;
}

const hasSamples = (r: RunSummary) => fs.existsSync(path.join(r.dir, SAMPLES_FILE));

async function openSampleBrowser(ctx: Ctx, arg: unknown, step?: number): Promise<void> {
  const id = runIdOf(arg) ?? (ctx.activeRun && ctx.runs().some((r) => r.id === ctx.activeRun && hasSamples(r)) ? ctx.activeRun : undefined)
    ?? await pickRun(ctx, undefined, hasSamples, 'Run whose samples to browse');
  const dir = id && ctx.runDir(id);
  if (!dir || !fs.existsSync(path.join(dir, SAMPLES_FILE))) { void vscode.window.showInformationMessage('RLHF: no run with recorded samples yet; train once first.'); return; }
  SamplesPanel.show(ctx, dir, { step });
}

async function exportPreferences(ctx: Ctx, arg: unknown): Promise<void> {
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

async function stopTraining(ctx: Ctx, arg: unknown): Promise<void> {
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

async function resumeFromCheckpoint(ctx: Ctx, arg: unknown): Promise<void> {
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
