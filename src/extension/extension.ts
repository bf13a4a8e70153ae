// Activation: the context, the views, the commands.
import * as vscode from 'vscode';
import { registerAlertNotifications } from './alertNotifications';
import { registerCommands } from './commands';
import { ConfigValidation } from './configValidation';
import { Ctx } from './ctx';
import { DatasetLens } from './datasetLens';
import { DashboardPanel } from './dashboard';
import { RewardsUi } from './rewardsUi';
import { RunsView } from './runsView';

export function activate(ext: vscode.ExtensionContext): void {
  const ctx = new Ctx(ext);
  const runsView = new RunsView(ctx);
  const datasetLens = new DatasetLens(ctx);
  registerCommands(ctx, { rewards: new RewardsUi(ctx), validation: new ConfigValidation(ctx), datasetLens });
  ext.subscriptions.push(datasetLens.register());
  ext.subscriptions.push(registerAlertNotifications(ctx));
  // folders watched before a reload, before the dashboards that show them are revived
  ctx.external.restore();
  ext.subscriptions.push(runsView, vscode.window.createTreeView('rlhf.runs', { treeDataProvider: runsView, canSelectMany: true }));
  ext.subscriptions.push(vscode.window.registerWebviewPanelSerializer(DashboardPanel.viewType, {
    deserializeWebviewPanel: (panel, state: { runId?: string } | undefined) => { DashboardPanel.revive(ctx, panel, state?.runId); return Promise.resolve(); },
  }));
  ext.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => { ctx.refresh(); DashboardPanel.refreshAll(); }));
  ctx.refresh();
  // runs started before this window (another window, the CLI, before a reload) are re-attached
  for (const r of ctx.runs()) if (r.alive) ctx.log.info(`re-attached to live run ${r.id} (pid ${r.status?.pid})`);
}

export function deactivate(): void { /* trainers are detached: they keep running and are re-attached on the next activation */ }
