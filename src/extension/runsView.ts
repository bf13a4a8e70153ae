// The Runs view: one row per run folder. The row says what fits at the default sidebar width (the run's
// name and start time as its label, then state icon and word, step, reward, checkpoints, the run it was
// resumed from, and the full run id last); everything else is in the tooltip. A run's checkpoints are its children (step, time, size, reward when saved; kept ones marked).
// A run's tags show in its row and its note in the tooltip (notes.json in the run folder); the view
// can be filtered by a tag (the commands over the selection, notes and the filter are in runCommands.ts).
// Nothing here reads a file on the extension host's thread: the rows come from the Ctx's asynchronous
// listing (status, notes, lineage, through the run folder's guard), a run's checkpoints are read
// asynchronously when it is expanded (a redraw of its row is answered at once from the last read while
// its checkpoint folders are the same, and read again behind: CheckpointRows), and a run whose files
// were refused (a link, a FIFO, a giant file) shows a warning with the problem beside the good runs.
import * as vscode from 'vscode';
import { announcedCheckpointsAsync, checkpointInfosAsync, formatBytes, type CheckpointInfo } from '../core/run/checkpoints';
import { CheckpointRows } from '../core/run/checkpointRows';
import { formatNumber, formatWhen, runRowLabel } from '../core/format';
import { isRewardModelRun } from '../core/rewardModel';
import type { RunEntry } from '../core/run/listing';
import { remoteOnlyCheckpoints } from '../core/launch/ray';
import { displayState } from '../core/run/runStore';
import { hasTag } from '../core/run/runNotes';
import type { Ctx } from './ctx';
import type { WatchedRun } from './externalRuns';

/** A native run folder, or a watched run of another framework. */
export type RunNode = { run: RunEntry } | { external: WatchedRun } | CheckpointNode | RemoteCheckpointNode;
/** A checkpoint of a Ray run that is in the cluster's storage only: *Download Checkpoint* fetches it (then it is a CheckpointNode). */
export interface RemoteCheckpointNode { remote: { step: number; path: string }; runId: string; runDir: string }
/** What a run's checkpoint row is read from: a checkpoint folder, or a Ray run's checkpoint on the cluster only. */
type CheckpointRow = { checkpoint: CheckpointInfo } | { remote: RemoteCheckpointNode['remote'] };
/** A checkpoint under its run (commands get this node: Resume From Here, Keep, Export, …). */
export interface CheckpointNode { checkpoint: CheckpointInfo; runId: string; runDir: string; alive: boolean; rewardModel?: boolean }

const ICONS: Record<string, [string, string?]> = {
  starting: ['loading~spin'], running: ['sync~spin', 'charts.blue'], stopping: ['loading~spin', 'charts.yellow'],
  completed: ['pass', 'charts.green'], stopped: ['debug-stop', 'charts.yellow'], failed: ['error', 'charts.red'],
  lost: ['warning', 'charts.orange'], unknown: ['question'],
};

/** The tag the Runs view is filtered by ("RLHF: Filter Runs by Tag"); undefined: every run. */
let tagFilter: string | undefined;
const filterChanged = new vscode.EventEmitter<void>();

/** The tag the Runs view is filtered by; undefined: none. */
export function runsTagFilter(): string | undefined { return tagFilter; }

/** Filters the Runs view by a tag (undefined: every run); the `rlhf.tagFilter` context key follows it (the view's title shows the clear action). */
export function setRunsTagFilter(tag: string | undefined): void {
  tagFilter = tag;
  void vscode.commands.executeCommand('setContext', 'rlhf.tagFilter', tagFilter ?? '');
  filterChanged.fire();
}

export class RunsView implements vscode.TreeDataProvider<RunNode>, vscode.Disposable {
  private emitter = new vscode.EventEmitter<RunNode[] | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  private readonly filterSub: vscode.Disposable;
  /** The run rows last given to the tree, by id: the same object each time, so that one row can be redrawn alone. */
  private readonly rows = new Map<string, { run: RunEntry }>();
  /** Each expanded run's checkpoint rows as last read; a read behind an answer that differs redraws that run. */
  private readonly checkpointRows = new CheckpointRows<CheckpointRow>((id) => { const row = this.rows.get(id); if (row) this.emitter.fire([row]); });
  constructor(private readonly ctx: Ctx) {
    this.sub = ctx.onDidChange((ids) => {
      const rows = ids?.map((id) => this.rows.get(id));
      // a row the tree has not been given yet (or a whole-list change): the whole tree
      // (a whole-view change, after a command that may have changed checkpoints: their rows are read again)
      if (!rows || rows.some((r) => r === undefined)) { this.checkpointRows.clear(); this.emitter.fire(undefined); return; }
      const fresh = new Map(this.ctx.runs().map((r) => [r.id, r]));
      for (const row of rows as { run: RunEntry }[]) row.run = fresh.get(row.run.id) ?? row.run;
      this.emitter.fire(rows as RunNode[]);
    });
    this.filterSub = filterChanged.event(() => this.emitter.fire(undefined));
  }

  /** The row of each run, reusing the object the tree already has. */
  private rowsOf(runs: RunEntry[]): RunNode[] {
    const next = runs.map((run) => {
      const row = this.rows.get(run.id) ?? { run };
      row.run = run;
      return row;
    });
    this.rows.clear();
    for (const row of next) this.rows.set(row.run.id, row);
    return next;
  }

  getChildren(node?: RunNode): RunNode[] | Promise<RunNode[]> {
    if (node && 'run' in node) {
      const { run } = node;
      const ray = run.job?.target === 'ray';
      const rewardModel = isRewardModelRun(run.dir); // once per run, not once per checkpoint row
      const read = () => Promise.all([checkpointInfosAsync(run.dir), ray ? announcedCheckpointsAsync(run.dir) : []]).then(([infos, announced]): CheckpointRow[] => [
        ...remoteOnlyCheckpoints(run.dir, announced).map((remote) => ({ remote })), ...infos.reverse().map((checkpoint) => ({ checkpoint }))]);
      const nodes = (rows: CheckpointRow[]): RunNode[] => rows.map((r) => ('remote' in r ? { remote: r.remote, runId: run.id, runDir: run.dir }
        : { checkpoint: r.checkpoint, runId: run.id, runDir: run.dir, alive: run.alive, rewardModel }));
      // at once from the last read while the checkpoint folders are the same (see CheckpointRows: VS Code forgets
      // these rows' handles until the answer comes, and a context-menu command picked meanwhile gets no row)
      const rows = this.checkpointRows.rows(run.id, run.checkpoints.join('\n'), read);
      return Array.isArray(rows) ? nodes(rows) : rows.then(nodes);
    }
    if (node) return [];
    // a tag filter keeps the runs that carry it (watched runs of other frameworks have no tags)
    if (tagFilter) return this.rowsOf(this.ctx.runs().filter((r) => hasTag(r.notes, tagFilter!)));
    return [...this.rowsOf(this.ctx.runs()), ...this.ctx.external.list().map((external) => ({ external }))];
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    if ('external' in node) return externalItem(node.external);
    if ('checkpoint' in node) return checkpointItem(node);
    if ('remote' in node) return remoteCheckpointItem(node);
    const { run } = node;
    const state = displayState(run);
    // a Ray run's checkpoints are on the cluster (listed from its mirrored events) until downloaded
    const expandable = run.checkpoints.length > 0 || run.job?.target === 'ray';
    // the label leads with what tells runs apart (name, start time); the full id ends the description (cut first) and heads the tooltip
    const name = runRowLabel(run.id);
    const item = new vscode.TreeItem(name.label, expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `run:${run.id}`;
    const parent = run.parent;
    const s = run.status;
    const step = `${s?.step ?? 0}${s?.total_steps ? `/${s.total_steps}` : ''}`;
    const reward = typeof s?.reward_mean === 'number' ? formatNumber(s.reward_mean, 3) : undefined;
    const notes = run.notes;
    const problems = run.problems;
    // a reward-model run: its pair accuracy where a policy run has its reward
    const accuracy = (s as { rm_accuracy?: unknown } | undefined)?.rm_accuracy;
    const acc = typeof accuracy === 'number' ? `acc ${formatNumber(accuracy, 3)}` : undefined;
    // short tokens, no labels: the tooltip spells them out
    item.description = [state, step, reward ?? acc, run.jobLabel || undefined, run.checkpoints.length ? `${run.checkpoints.length} ckpt` : undefined,
      parent ? `↳ ${parent.parentId}@${parent.step}` : undefined, notes.tags.map((t) => `#${t}`).join(' ') || undefined,
      notes.note ? '✎' : undefined, problems.length ? `⚠ ${problems.length} bad file${problems.length === 1 ? '' : 's'}` : undefined, name.id].filter(Boolean).join(' · ');
    const [icon, color] = problems.length ? ['warning', 'charts.orange'] : ICONS[state] ?? ICONS.unknown;
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    // `-rm`: a reward-model run (Use as Reward Model); `run-live…` for Stop and Save Checkpoint Now
    item.contextValue = `${run.alive ? 'run-live' : 'run'}${(s as { kind?: unknown } | undefined)?.kind === 'reward_model' ? '-rm' : ''}`;
    // run ids, errors and paths come from the file system: text, never markdown
    const tip = new vscode.MarkdownString();
    const line = (label: string, value: string) => { tip.appendMarkdown(`**${label}:** `); tip.appendText(value); tip.appendMarkdown('\n\n'); };
    line('run', run.id);
    line('state', state);
    line('step', step);
    if (run.jobLabel) line('job', run.jobLabel);
    if (reward) line('reward (mean)', reward);
    line('checkpoints', String(run.checkpoints.length)); // not a run-folder name: a tooltip label
    if (s?.last_checkpoint) line('last checkpoint', s.last_checkpoint);
    if (s?.error) line('error', s.error);
    if (parent) line('resumed from', `${parent.parentId}, step ${parent.step} (its steps before ${parent.step} are this run's history)`);
    if (notes.tags.length) line('tags', notes.tags.join(', '));
    if (notes.note) line('note', notes.note);
    for (const p of problems) line('problem', p);
    line('folder', run.dir);
    item.tooltip = tip;
    item.accessibilityInformation = { label: `${run.id}, ${state}, step ${step}${reward ? `, reward ${reward}` : ''}` };
    item.command = { command: 'rlhf.openDashboard', title: 'Open Dashboard', arguments: [run.id] };
    return item;
  }

  dispose(): void { this.sub.dispose(); this.filterSub.dispose(); this.emitter.dispose(); }
}

function checkpointItem(node: CheckpointNode): vscode.TreeItem {
  const c = node.checkpoint;
  const item = new vscode.TreeItem(`step ${c.step}`, vscode.TreeItemCollapsibleState.None);
  item.id = `ckpt:${node.runId}:${c.name}`;
  const reward = c.metrics.reward_mean;
  const when = new Date(c.time);
  const acc = c.metrics.rm_accuracy;
  // what tells checkpoints apart first (a narrow view cuts the end): reward, size, then a short time (the tooltip has the date)
  item.description = [typeof reward === 'number' ? `reward ${formatNumber(reward, 3)}` : undefined,
    typeof acc === 'number' ? `acc ${formatNumber(acc, 3)}` : undefined, formatBytes(c.bytes),
    c.kept ? 'kept' : undefined, formatWhen(when)].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon(c.kept ? 'pinned' : 'save');
  item.contextValue = `${c.kept ? 'checkpoint-kept' : 'checkpoint'}${node.rewardModel ? '-rm' : ''}`;
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
  const name = run.name;
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

function remoteCheckpointItem(node: RemoteCheckpointNode): vscode.TreeItem {
  const item = new vscode.TreeItem(`step ${node.remote.step}`, vscode.TreeItemCollapsibleState.None);
  item.id = `remote:${node.runId}:${node.remote.step}`;
  item.description = 'on the cluster · Download to use it';
  item.iconPath = new vscode.ThemeIcon('cloud');
  item.contextValue = 'remote-checkpoint';
  const tip = new vscode.MarkdownString();
  tip.appendMarkdown('**checkpoint on the cluster:** '); tip.appendText(node.remote.path);
  tip.appendMarkdown('\n\n*Download Checkpoint* fetches it into the run folder (a small Ray job); then Resume, Export and Try work on it.');
  item.tooltip = tip;
  return item;
}
