// Activation: one context object, commands as plain functions over it (rust-analyzer style).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { stopRun, type TrainerHandle } from '../core/launcher';
import { resolvePython } from '../core/python';
import { formatDuration } from '../core/runModel';
import { listCheckpoints, listRuns, type RunSummary } from '../core/runStore';
import { RunWatcher } from '../core/runWatcher';
import { StartError, installLayout, startTraining } from '../core/training';
import { DashboardPanel } from './dashboard';
import { RewardsUi } from './rewardsUi';
import { RunsView, type RunNode } from './runsView';

export class Ctx {
  readonly log = vscode.window.createOutputChannel('RLHF Studio', { log: true });
  readonly handles = new Map<string, TrainerHandle>();
  readonly watchers = new Map<string, RunWatcher>();
  readonly runsView: RunsView;
  readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  activeRun: string | undefined;
  private refreshTimer: NodeJS.Timeout;

  constructor(readonly ext: vscode.ExtensionContext) {
    this.runsView = new RunsView(this);
    this.status.command = 'rlhf.openDashboard';
    this.refreshTimer = setInterval(() => this.refresh(), 2000);
    ext.subscriptions.push(this.log, this.status, { dispose: () => clearInterval(this.refreshTimer) },
      { dispose: () => { for (const w of this.watchers.values()) w.dispose(); } });
  }

  get trusted(): boolean { return vscode.workspace.isTrusted; }

  get runsDir(): string | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return undefined;
    const rel = vscode.workspace.getConfiguration('rlhf').get<string>('runsDirectory', 'runs');
    return path.resolve(folder.uri.fsPath, rel);
  }

  runs(): RunSummary[] { return this.runsDir ? listRuns(this.runsDir) : []; }

  runDir(id: string): string | undefined { return this.runsDir && path.join(this.runsDir, id); }

  /** The watcher of a run, created on first use; live runs found after a reload are re-attached here. */
  watcher(id: string): RunWatcher | undefined {
    let w = this.watchers.get(id);
    const dir = this.runDir(id);
    if (!w && dir) {
      w = new RunWatcher(dir).start(250);
      w.model.onLog = (level, message) => this.log.appendLine(`[${id}] ${level}: ${message}`);
      w.onEvents(() => this.updateStatusBar());
      this.watchers.set(id, w);
    }
    return w;
  }

  refresh(): void {
    for (const r of this.runs()) if (r.alive) { this.watcher(r.id); if (!this.activeRun) this.activeRun = r.id; }
    this.runsView.refresh();
    this.updateStatusBar();
  }

  updateStatusBar(): void {
    const id = this.activeRun;
    const m = id ? this.watchers.get(id)?.model : undefined;
    if (!id || !m) { this.status.hide(); return; }
    const reward = m.metrics.last('reward_mean');
    const live = m.state === 'running' || m.state === 'starting';
    const icon = live ? '$(sync~spin)' : m.state === 'completed' ? '$(check)' : m.state === 'failed' ? '$(error)' : '$(debug-stop)';
    this.status.text = `${icon} RLHF ${m.step}/${m.totalSteps ?? '?'} reward ${reward === null ? '--' : reward.toFixed(3)}${live ? ` ETA ${formatDuration(m.eta())}` : ''}`;
    this.status.tooltip = `${id}: ${m.state}. Click to open the dashboard.`;
    this.status.show();
  }

  async python(): Promise<string> {
    const setting = vscode.workspace.getConfiguration('rlhf').get<string>('pythonPath', '');
    let fromExtension: string | undefined;
    const pyExt = vscode.extensions.getExtension('ms-python.python');
    if (!setting && pyExt) {
      try {
        const api = (await pyExt.activate()) as { environments?: { getActiveEnvironmentPath(r?: vscode.Uri): { path: string } } };
        fromExtension = api.environments?.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri).path;
      } catch { /* fall back */ }
    }
    const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    return resolvePython({ setting, pythonExtensionPath: fromExtension, workspaceRoots: roots }).path;
  }
}

function refuseUntrusted(ctx: Ctx, what: string): boolean {
  if (ctx.trusted) return false;
  void vscode.window.showWarningMessage(
    `RLHF Studio: ${what} is disabled in an untrusted workspace: it would run the trainer and reward code from this folder. ` +
    'Trust the workspace (Workspaces: Manage Workspace Trust) to train; runs and charts stay viewable.', 'Manage Workspace Trust',
  ).then((pick) => { if (pick) void vscode.commands.executeCommand('workbench.trust.manage'); });
  return true;
}

async function pickConfig(): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/*.{yaml,yml}', '{**/node_modules/**,**/runs/**,**/.venv/**}', 200);
  const configs = found.filter((u) => /(^|\/)(config|rlhf[^/]*)\.ya?ml$/.test(u.fsPath));
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && /\.ya?ml$/.test(active.fsPath) && !configs.some((c) => c.fsPath === active.fsPath)) configs.unshift(active);
  if (configs.length === 1) return configs[0].fsPath;
  const pick = await vscode.window.showQuickPick(configs.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
    { placeHolder: 'Run config to train with' });
  if (pick) return pick.uri.fsPath;
  if (!configs.length) {
    const file = await vscode.window.showOpenDialog({ filters: { 'Run config': ['yaml', 'yml'] }, canSelectMany: false });
    return file?.[0].fsPath;
  }
  return undefined;
}

async function startRun(ctx: Ctx, config: string | undefined, resume?: string): Promise<void> {
  if (refuseUntrusted(ctx, 'Starting a training run')) return;
  config ??= await pickConfig();
  if (!config || !ctx.runsDir) return;
  const layout = installLayout(ctx.ext.extensionPath);
  const python = await ctx.python();
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'RLHF', cancellable: false }, async (progress) => {
    progress.report({ message: `checking ${python} and the config…` });
    let handle: TrainerHandle;
    try {
      handle = await startTraining({ python, layout, config: config!, runsDir: ctx.runsDir!, resume });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const fix = e instanceof StartError ? e.fix : undefined;
      ctx.log.error(`start failed: ${msg}${fix ? ` | fix: ${fix}` : ''}`);
      const actions = fix ? ['Copy Fix Command'] : [];
      void vscode.window.showErrorMessage(`RLHF: cannot start training: ${msg}`, ...actions).then((a) => {
        if (a && fix) void vscode.env.clipboard.writeText(fix);
      });
      return;
    }
    const id = path.basename(handle.runDir);
    ctx.handles.set(id, handle);
    ctx.activeRun = id;
    ctx.log.info(`started ${id} (pid ${handle.pid}) with ${python}`);
    const w = ctx.watcher(id)!;
    DashboardPanel.show(ctx, id);
    ctx.refresh();
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
    // the notification stays while the trainer prepares and loads its models
    progress.report({ message: 'loading models…' });
    const deadline = Date.now() + 10 * 60_000;
    while (Date.now() < deadline && w.model.step === 0 && ctx.handles.has(id)) {
      const p = w.model.progress;
      if (p) progress.report({ message: `${p.phase}${p.total ? ` ${Math.round((100 * p.done) / p.total)}%` : ''}${p.message ? `: ${p.message}` : ''}` });
      await new Promise((r) => setTimeout(r, 300));
    }
  });
}

function runIdOf(ctx: Ctx, arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && 'run' in arg) return (arg as RunNode).run.id;
  return undefined;
}

async function pickRun(ctx: Ctx, arg: unknown, filter: (r: RunSummary) => boolean, placeHolder: string): Promise<string | undefined> {
  const given = runIdOf(ctx, arg);
  if (given) return given;
  const runs = ctx.runs().filter(filter);
  if (runs.length === 1) return runs[0].id;
  if (ctx.activeRun && runs.some((r) => r.id === ctx.activeRun) && filter === isLive) return ctx.activeRun;
  const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.id, description: `${r.status?.state ?? ''} step ${r.status?.step ?? 0}` })), { placeHolder });
  return pick?.label;
}

const isLive = (r: RunSummary) => r.alive;

async function stopTraining(ctx: Ctx, arg: unknown): Promise<void> {
  const id = await pickRun(ctx, arg, isLive, 'Run to stop');
  if (!id) { void vscode.window.showInformationMessage('RLHF: no training run is active.'); return; }
  const dir = ctx.runDir(id)!;
  const timeout = vscode.workspace.getConfiguration('rlhf').get<number>('stopTimeoutSeconds', 30) * 1000;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RLHF: stopping ${id}` }, async (progress) => {
    const outcome = await stopRun(dir, ctx.handles.get(id), timeout, (stage) => progress.report({ message: stage }));
    ctx.log.info(`stop ${id}: ${outcome}`);
    ctx.watcher(id)?.poll();
    ctx.refresh();
    const ck = listCheckpoints(dir);
    void vscode.window.showInformationMessage(`RLHF: ${id} stopped (${outcome})${ck.length ? `; checkpoint ${path.basename(ck[ck.length - 1])}` : ''}.`);
  });
}

async function resumeFromCheckpoint(ctx: Ctx, arg: unknown): Promise<void> {
  if (refuseUntrusted(ctx, 'Resuming a run')) return;
  const id = await pickRun(ctx, arg, (r) => r.checkpoints.length > 0 && !r.alive, 'Run to resume');
  if (!id) return;
  const dir = ctx.runDir(id)!;
  const ckpts = listCheckpoints(dir).reverse();
  const ck = ckpts.length === 1 ? ckpts[0] : (await vscode.window.showQuickPick(ckpts.map((c) => ({ label: path.basename(c), c })), { placeHolder: 'Checkpoint' }))?.c;
  if (!ck) return;
  await startRun(ctx, path.join(dir, 'config.yaml'), ck);
}

export function activate(ext: vscode.ExtensionContext): void {
  const ctx = new Ctx(ext);
  const reg = (id: string, fn: (...a: unknown[]) => unknown) => ext.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg('rlhf.startTraining', (uri) => startRun(ctx, uri instanceof vscode.Uri ? uri.fsPath : undefined));
  reg('rlhf.stopTraining', (arg) => stopTraining(ctx, arg));
  reg('rlhf.openDashboard', async (arg) => {
    const id = runIdOf(ctx, arg) ?? ctx.activeRun ?? ctx.runs()[0]?.id;
    if (!id) { void vscode.window.showInformationMessage('RLHF: no runs yet. Start one with "RLHF: Start Training".'); return; }
    ctx.activeRun = id;
    DashboardPanel.show(ctx, id);
  });
  reg('rlhf.resumeFromCheckpoint', (arg) => resumeFromCheckpoint(ctx, arg));
  reg('rlhf.openRunFolder', async (arg) => {
    const id = await pickRun(ctx, arg, () => true, 'Run folder to open');
    if (id) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(ctx.runDir(id)!));
  });
  reg('rlhf.showTrainerLog', async (arg) => {
    const id = await pickRun(ctx, arg, () => true, 'Run whose log to show');
    if (id) void vscode.window.showTextDocument(vscode.Uri.file(path.join(ctx.runDir(id)!, 'trainer.log')), { preview: true });
  });
  reg('rlhf.refreshRuns', () => ctx.refresh());
  const rewards = new RewardsUi(ctx);
  reg('rlhf.showRewardReport', () => rewards.showReport());
  ext.subscriptions.push(vscode.window.createTreeView('rlhf.runs', { treeDataProvider: ctx.runsView }));
  ext.subscriptions.push(vscode.window.registerWebviewPanelSerializer(DashboardPanel.viewType, {
    deserializeWebviewPanel: async (panel, state: { runId?: string } | undefined) => DashboardPanel.revive(ctx, panel, state?.runId),
  }));
  ext.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => { ctx.refresh(); DashboardPanel.refreshAll(); }));
  ctx.refresh();
  // runs started before this window (another window, the CLI, before a reload) are re-attached
  for (const r of ctx.runs()) if (r.alive) ctx.log.info(`re-attached to live run ${r.id} (pid ${r.status?.pid})`);
}

export function deactivate(): void { /* trainers are detached: they keep running and are re-attached on the next activation */ }
