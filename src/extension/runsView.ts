// The Runs view: one row per run folder. The row says what fits at the default sidebar width (state
// icon and word, step, reward, checkpoints); everything else is in the tooltip.
import * as vscode from 'vscode';
import { formatNumber } from '../core/format';
import { displayState, type RunSummary } from '../core/runStore';
import type { Ctx } from './ctx';
import type { WatchedRun } from './externalRuns';

/** A native run folder, or a watched run of another framework. */
export type RunNode = { run: RunSummary } | { external: WatchedRun };

const ICONS: Record<string, [string, string?]> = {
  starting: ['loading~spin'], running: ['sync~spin', 'charts.blue'], stopping: ['loading~spin', 'charts.yellow'],
  completed: ['pass', 'charts.green'], stopped: ['debug-stop', 'charts.yellow'], failed: ['error', 'charts.red'],
  lost: ['warning', 'charts.orange'], unknown: ['question'],
};

export class RunsView implements vscode.TreeDataProvider<RunNode>, vscode.Disposable {
  private emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  constructor(private readonly ctx: Ctx) { this.sub = ctx.onDidChange(() => this.emitter.fire()); }

  getChildren(): RunNode[] {
    return [...this.ctx.runs().map((run) => ({ run })), ...this.ctx.external.list().map((external) => ({ external }))];
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    if ('external' in node) return externalItem(node.external);
    const { run } = node;
    const state = displayState(run);
    const item = new vscode.TreeItem(run.id, vscode.TreeItemCollapsibleState.None);
    const s = run.status;
    const step = `${s?.step ?? 0}${s?.total_steps ? `/${s.total_steps}` : ''}`;
    const reward = typeof s?.reward_mean === 'number' ? formatNumber(s.reward_mean, 3) : undefined;
    // short tokens, no labels: the tooltip spells them out
    item.description = [state, step, reward, run.checkpoints.length ? `${run.checkpoints.length} ckpt` : undefined].filter(Boolean).join(' · ');
    const [icon, color] = ICONS[state] ?? ICONS.unknown;
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = run.alive ? 'run-live' : 'run';
    // run ids, errors and paths come from the file system: text, never markdown
    const tip = new vscode.MarkdownString();
    const line = (label: string, value: string) => { tip.appendMarkdown(`**${label}:** `); tip.appendText(value); tip.appendMarkdown('\n\n'); };
    line('run', run.id);
    line('state', state);
    line('step', step);
    if (reward) line('reward (mean)', reward);
    line('checkpoints', String(run.checkpoints.length));
    if (s?.last_checkpoint) line('last checkpoint', s.last_checkpoint);
    if (s?.error) line('error', s.error);
    line('folder', run.dir);
    item.tooltip = tip;
    item.accessibilityInformation = { label: `${run.id}, ${state}, step ${step}${reward ? `, reward ${reward}` : ''}` };
    item.command = { command: 'rlhf.openDashboard', title: 'Open Dashboard', arguments: [run.id] };
    return item;
  }

  dispose(): void { this.sub.dispose(); this.emitter.dispose(); }
}

/** A watched run: marked with its framework, no Stop/Resume (contextValue `external-run`); its strings are text. */
function externalItem({ id, run }: WatchedRun): vscode.TreeItem {
  const m = run.model;
  const name = id.slice(run.framework.length + 1);
  const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
  const steps = m.metrics.length;
  const reward = m.metrics.last('reward_mean');
  const rewardText = reward === null ? undefined : formatNumber(reward, 3);
  item.description = [run.framework, steps ? `step ${m.step}` : 'no steps yet', rewardText, run.errors.length ? `${run.errors.length} problems` : undefined].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon('eye', run.errors.length ? new vscode.ThemeColor('charts.orange') : undefined);
  item.contextValue = 'external-run';
  const tip = new vscode.MarkdownString();
  const line = (label: string, value: string) => { tip.appendMarkdown(`**${label}:** `); tip.appendText(value); tip.appendMarkdown('\n\n'); };
  line('run', name);
  line('framework', `${run.framework} (watched from its files, read-only)`);
  line('steps', String(steps));
  if (steps) line('last step', String(m.step));
  if (rewardText) line('reward (mean)', rewardText);
  if (m.lastSamples) line('samples', `${m.lastSamples.items.length} at step ${m.lastSamples.step}`);
  for (const e of run.errors.slice(0, 5)) line('problem', e);
  line('folder', run.dir);
  item.tooltip = tip;
  item.accessibilityInformation = { label: `${name}, ${run.framework} run, step ${m.step}${rewardText ? `, reward ${rewardText}` : ''}` };
  item.command = { command: 'rlhf.openDashboard', title: 'Open Dashboard', arguments: [id] };
  return item;
}
