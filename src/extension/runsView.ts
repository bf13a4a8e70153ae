// The Runs view: one row per run folder, with state icon, step and last reward.
import * as vscode from 'vscode';
import { displayState, type RunSummary } from '../core/runStore';
import type { Ctx } from './extension';

export interface RunNode { run: RunSummary }

const ICONS: Record<string, [string, string?]> = {
  starting: ['loading~spin'], running: ['sync~spin', 'charts.blue'], stopping: ['loading~spin', 'charts.yellow'],
  completed: ['pass', 'charts.green'], stopped: ['debug-stop', 'charts.yellow'], failed: ['error', 'charts.red'],
  lost: ['warning', 'charts.orange'], unknown: ['question'],
};

export class RunsView implements vscode.TreeDataProvider<RunNode> {
  private emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  constructor(private readonly ctx: Ctx) {}

  refresh(): void { this.emitter.fire(); }

  getChildren(): RunNode[] { return this.ctx.runs().map((run) => ({ run })); }

  getTreeItem({ run }: RunNode): vscode.TreeItem {
    const state = displayState(run);
    const item = new vscode.TreeItem(run.id, vscode.TreeItemCollapsibleState.None);
    const reward = run.status?.reward_mean;
    const step = `${run.status?.step ?? 0}${run.status?.total_steps ? `/${run.status.total_steps}` : ''}`;
    item.description = `${state} · step ${step}${typeof reward === 'number' ? ` · reward ${reward.toFixed(3)}` : ''}${run.checkpoints.length ? ` · ${run.checkpoints.length} ckpt` : ''}`;
    const [icon, color] = ICONS[state] ?? ICONS.unknown;
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = run.alive ? 'run-live' : 'run';
    item.tooltip = new vscode.MarkdownString(`**${run.id}**\n\nstate: ${state}\n\nstep: ${step}` +
      (run.status?.error ? `\n\nerror: ${run.status.error}` : '') + (run.status?.last_checkpoint ? `\n\nlast checkpoint: ${run.status.last_checkpoint}` : ''));
    item.command = { command: 'rlhf.openDashboard', title: 'Open Dashboard', arguments: [run.id] };
    return item;
  }
}
