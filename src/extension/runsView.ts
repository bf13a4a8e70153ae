// The Runs view: one row per run folder. The row says what fits at the default sidebar width (state
// icon and word, step, reward, checkpoints, the run it was resumed from); everything else is in the
// tooltip. A run's checkpoints are its children (step, time, size, reward when saved; kept ones marked).
import * as vscode from 'vscode';
import { checkpointInfos, formatBytes, lineageOf, type CheckpointInfo } from '../core/checkpoints';
import { formatNumber } from '../core/format';
import { displayState, type RunSummary } from '../core/runStore';
import type { Ctx } from './ctx';
import type { WatchedRun } from './externalRuns';

/** A native run folder, or a watched run of another framework. */
export type RunNode = { run: RunSummary } | { external: WatchedRun } | CheckpointNode;
/** A checkpoint under its run (commands get this node: Resume From Here, Keep, Export, …). */
export interface CheckpointNode { checkpoint: CheckpointInfo; runId: string; runDir: string; alive: boolean }

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

  getChildren(node?: RunNode): RunNode[] {
    if (node && 'run' in node) {
      const { run } = node;
      return checkpointInfos(run.dir).reverse().map((checkpoint) => ({ checkpoint, runId: run.id, runDir: run.dir, alive: run.alive }));
    }
    if (node) return [];
    return [...this.ctx.runs().map((run) => ({ run })), ...this.ctx.external.list().map((external) => ({ external }))];
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    if ('external' in node) return externalItem(node.external);
    if ('checkpoint' in node) return checkpointItem(node);
    const { run } = node;
    const state = displayState(run);
    const item = new vscode.TreeItem(run.id, run.checkpoints.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `run:${run.id}`;
    const parent = lineageOf(run.dir);
    const s = run.status;
    const step = `${s?.step ?? 0}${s?.total_steps ? `/${s.total_steps}` : ''}`;
    const reward = typeof s?.reward_mean === 'number' ? formatNumber(s.reward_mean, 3) : undefined;
    // short tokens, no labels: the tooltip spells them out
    item.description = [state, step, reward, run.checkpoints.length ? `${run.checkpoints.length} ckpt` : undefined,
      parent ? `↳ ${parent.parentId}@${parent.step}` : undefined].filter(Boolean).join(' · ');
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
    if (parent) line('resumed from', `${parent.parentId}, step ${parent.step} (its steps before ${parent.step} are this run's history)`);
    line('folder', run.dir);
    item.tooltip = tip;
    item.accessibilityInformation = { label: `${run.id}, ${state}, step ${step}${reward ? `, reward ${reward}` : ''}` };
    item.command = { command: 'rlhf.openDashboard', title: 'Open Dashboard', arguments: [run.id] };
    return item;
  }

  dispose(): void { this.sub.dispose(); this.emitter.dispose(); }
}

function checkpointItem(node: CheckpointNode): vscode.TreeItem {
  const c = node.checkpoint;
  const item = new vscode.TreeItem(`step ${c.step}`, vscode.TreeItemCollapsibleState.None);
  item.id = `ckpt:${node.runId}:${c.name}`;
  const reward = c.metrics.reward_mean;
  const when = new Date(c.time);
  item.description = [when.toLocaleString(), formatBytes(c.bytes), typeof reward === 'number' ? `reward ${formatNumber(reward, 3)}` : undefined,
    c.kept ? 'kept' : undefined].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon(c.kept ? 'pinned' : 'save');
  item.contextValue = c.kept ? 'checkpoint-kept' : 'checkpoint';
  const tip = new vscode.MarkdownString();
  const line = (label: string, value: string) => { tip.appendMarkdown(`**${label}:** `); tip.appendText(value); tip.appendMarkdown('\n\n'); };
  line('checkpoint', `${node.runId} step ${c.step}${c.reason ? ` (${c.reason})` : ''}`);
  line('saved', when.toLocaleString());
  line('size', formatBytes(c.bytes));
  for (const [k, v] of Object.entries(c.metrics).slice(0, 12)) line(k, formatNumber(v, 4));
  if (c.evalValues) for (const [k, v] of Object.entries(c.evalValues)) line(`${k} (step ${c.evalStep})`, formatNumber(v, 4));
  if (c.kept) line('kept', 'never pruned by the trainer');
  line('folder', c.dir);
  item.tooltip = tip;
  item.accessibilityInformation = { label: `checkpoint step ${c.step} of ${node.runId}${typeof reward === 'number' ? `, reward ${formatNumber(reward, 3)}` : ''}` };
  return item;
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
