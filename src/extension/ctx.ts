// The extension's state, shared by commands and views: its own module so that views and commands
// import it and it imports neither (no cycle through extension.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AlertNotices, type AlertNotice } from '../core/alertNotices';
import type { TrainerHandle } from '../core/launcher';
import type { RunState, TrainerEvent, WatchedState } from '../core/protocol';
import type { RunModel } from '../core/run/runModel';
import { formatDuration, formatNumber } from '../core/format';
import { listRunEntries, listRunEntriesAsync, type RunEntry } from '../core/run/listing';
import { displayState, isLiveState, isRunFolder } from '../core/run/runStore';
import { refreshRemoteRuns } from '../core/launch';
import { RunWatcher } from '../core/run/runWatcher';
import { installLayout, type InstallLayout } from '../core/training';
import { Config } from './config';
import { ExternalRuns } from './externalRuns';
import { statusBarRun } from '../core/adapters';
import { Interpreters } from './interpreter';

/** What the dashboard and the status bar read a run from: a native run's RunWatcher, or an ExternalRun of another framework. */
export interface RunSource {
  readonly model: RunModel;
  onEvents(listener: (events: TrainerEvent[]) => void): () => void;
}

export class Ctx {
  readonly log = vscode.window.createOutputChannel('RLHF Studio', { log: true });
  readonly config = new Config();
  readonly interpreters = new Interpreters(this.config, this.log);
  readonly layout: InstallLayout;
  /** Trainers this window started; a run is listed as `starting` from launch, before it writes anything. */
  readonly handles = new Map<string, TrainerHandle>();
  readonly watchers = new Map<string, RunWatcher>();
  /** Runs of other frameworks watched from their own files (read-only). */
  readonly external: ExternalRuns;
  /** The last listing of the runs folder (async, every 2 s); undefined until the first one is in. */
  private listed: { dir: string; runs: RunEntry[] } | undefined;
  private listing: Promise<void> | undefined;
  private relist = false;
  /** Runs whose watcher a view holds on to (an open dashboard): kept even after the run finished. */
  private readonly held = new Map<string, number>();
  readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  /** The run the commands default to (the last one opened, a watched one included). */
  get activeRun(): string | undefined { return this.active; }
  set activeRun(id: string | undefined) {
    this.active = id;
    this.statusRun = statusBarRun(this.statusRun, id, (i) => this.external.has(i));
    this.updateStatusBar();
  }
  private active: string | undefined;
  /** The native run the status bar shows: watching another framework's run does not take it over. */
  private statusRun: string | undefined;
  private readonly changed = new vscode.EventEmitter<string[] | undefined>();
  /**
   * Runs, their states or the active run changed: views redraw. The ids of the runs that changed when only
   * some did (the Runs view redraws those rows: a redraw of the whole tree drops the element of a context
   * menu open on another row), undefined for everything.
   */
  readonly onDidChange = this.changed.event;
  private readonly alertNotices = new AlertNotices();
  private readonly alerted = new vscode.EventEmitter<{ notices: AlertNotice[]; more: number }>();
  /** A watched run wrote alerts to tell (new ones, each once: src/core/alertNotices.ts); alertNotifications.ts shows them. */
  readonly onDidAlert = this.alerted.event;

  constructor(readonly ext: vscode.ExtensionContext) {
    this.layout = installLayout(ext.extensionPath);
    this.status.command = 'rlhf.openDashboard';
    this.external = new ExternalRuns(ext.workspaceState, this.log, () => this.refresh());
    const timer = setInterval(() => { this.refresh({ ifChanged: true }); void this.askSchedulers(); }, 2000);
    ext.subscriptions.push(this.log, this.status, this.config, this.interpreters, this.changed, this.alerted, { dispose: () => clearInterval(timer) },
      { dispose: () => { for (const w of this.watchers.values()) w.dispose(); } }, this.external,
      this.config.onDidChange((keys) => { if (keys.has('runsDirectory')) this.refresh(); }));
  }

  get trusted(): boolean { return vscode.workspace.isTrusted; }

  get runsDir(): string | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0];
    return folder && path.resolve(folder.uri.fsPath, this.config.runsDirectory);
  }

  /**
   * The run folders (the last listing: refreshed every 2 s off the extension host's thread), plus runs this
   * window launched that have not written status.json yet. Before the first listing is in, the folder is
   * listed here once, through the same guard (regular files only, never a wait on a FIFO).
   */
  runs(): RunEntry[] {
    const dir = this.runsDir;
    const listed = !dir ? [] : this.listed?.dir === dir ? this.listed.runs : listRunEntries(dir);
    const launched = [...this.handles.values()].filter((h) => !listed.some((r) => r.dir === h.runDir)).map((h): RunEntry => ({
      id: path.basename(h.runDir), dir: h.runDir, alive: true, checkpoints: [], notes: { note: '', tags: [] }, problems: [],
      status: { state: 'starting', pid: h.pid, step: 0, updated: Date.now() / 1000 },
    }));
    return [...launched, ...listed];
  }

  runDir(id: string): string | undefined { return this.runsDir && path.join(this.runsDir, id); }

  /** A run's state as every view shows it: the trainer's word, or `starting` for one launched here that has not spoken yet. */
  runState(id: string): RunState | 'unknown' | WatchedState {
    // another framework's files say nothing about whether its trainer still runs: whether they still change
    const ext = this.external.get(id);
    if (ext) return ext.state();
    const state = this.watchers.get(id)?.model.state ?? 'unknown';
    return state === 'unknown' && this.handles.has(id) ? 'starting' : state;
  }

  /** The watcher of a run, created on first use; live runs found after a reload are re-attached here. */
  watcher(id: string): RunWatcher | undefined {
    let w = this.watchers.get(id);
    const dir = this.runDir(id);
    if (!w && dir) {
      w = new RunWatcher(dir);
      w.model.onLog = (level, message) => this.log.appendLine(`[${id}] ${level}: ${message}`);
      w.onEvents((events) => {
        this.updateStatusBar();
        this.tellAlerts(id, events);
      });
      this.watchers.set(id, w);
      w.start(250); // its first read is synchronous: the listeners above hear what the run wrote before it was watched
    }
    return w;
  }

  /** Where a run's model comes from: an external run by its id, else the native run's watcher. */
  source(id: string): RunSource | undefined { return this.external.get(id) ?? this.watcher(id); }

  /** Whether a run id names a run this window knows (native folder or watched external folder). */
  hasRun(id: string): boolean {
    if (this.external.has(id) || this.runs().some((r) => r.id === id)) return true;
    // made since the last listing (by the CLI, another window): a run folder by its files
    const dir = this.runDir(id);
    return !!dir && path.basename(id) === id && isRunFolder(dir);
  }

  /** Keeps a run's watcher alive while a view shows it; call the returned function when the view goes. */
  hold(id: string): () => void {
    this.held.set(id, (this.held.get(id) ?? 0) + 1);
    return () => {
      const n = (this.held.get(id) ?? 1) - 1;
      if (n > 0) this.held.set(id, n); else this.held.delete(id);
    };
  }

  /**
   * Lists the runs folder again (asynchronously) and tells the views; a refresh asked for during a listing runs
   * after it. `ifChanged` (the 2-s poll): the views are told only when what they show changed, since a redraw of
   * the Runs view closes a context menu the user has open on it.
   */
  refresh(o: { ifChanged?: boolean } = {}): void {
    if (!o.ifChanged) this.forceFire = true;
    if (this.listing) { this.relist = true; return; }
    this.listing = this.relistRuns().catch((e: unknown) => { this.log.error(`refreshing the runs: ${e instanceof Error ? e.message : String(e)}`); }).finally(() => {
      this.listing = undefined;
      if (this.relist) { this.relist = false; this.refresh(); }
    });
  }

  private async relistRuns(): Promise<void> {
    const force = this.forceFire; // a refresh asked for while this listing runs sets it again for the next
    this.forceFire = false;
    const dir = this.runsDir;
    if (dir) {
      try { this.listed = { dir, runs: await listRunEntriesAsync(dir) }; } catch (e) { this.log.warn(`listing ${dir}: ${(e as Error).message}`); }
    }
    const runs = this.runs();
    for (const r of runs) for (const p of r.problems) this.warnOnce(p);
    for (const r of runs) if (r.alive) { this.watcher(r.id); if (!this.activeRun) this.activeRun = r.id; }
    // runs listed over for the first time (one that started and ended between two listings, or whose watcher
    // is let go below before it read its last lines): their recent alerts not told yet
    for (const told of this.alertNotices.fromListing(runs)) this.alerted.fire(told);
    // watchers of runs that are over (finished, lost or gone) and that nothing shows are let go: a long
    // session with many runs keeps only what is live or on screen
    for (const [id, w] of this.watchers) {
      if (id === this.activeRun || id === this.statusRun || this.held.has(id) || runs.some((r) => r.id === id && r.alive)) continue;
      w.dispose();
      this.watchers.delete(id);
    }
    // what the Runs view draws: each run's entry and state; the list, the watched runs' progress and the active run
    const each = new Map(runs.map((r) => [r.id, JSON.stringify([r, displayState(r)])]));
    const list = JSON.stringify([this.activeRun, [...each.keys()], this.external.list().map(({ id, run }) =>
      [id, run.model.step, run.model.metrics.length, run.model.metrics.last('reward_mean'), run.errors.length, run.model.lastSamples?.step ?? null])]);
    if (force || list !== this.shownList) this.changed.fire(undefined);
    else {
      const changed = [...each].filter(([id, sig]) => this.shownRuns.get(id) !== sig).map(([id]) => id);
      if (changed.length) this.changed.fire(changed);
    }
    this.shownList = list;
    this.shownRuns = each;
    this.updateStatusBar();
  }

  private tellAlerts(id: string, events: readonly TrainerEvent[]): void {
    const told = this.alertNotices.take(id, events);
    if (told.notices.length) this.alerted.fire(told);
  }

  private shownList = '';
  private shownRuns = new Map<string, string>();
  private forceFire = false;

  private readonly warned = new Set<string>();
  /** A run folder's problem (a file the guard refused), logged once per window. */
  private warnOnce(problem: string): void {
    if (this.warned.has(problem)) return;
    this.warned.add(problem);
    this.log.warn(problem);
  }

  private asking = false;

  /** Asks Slurm (or Ray) about the live cluster runs, each at most every 5 s; their state and any end they caused land in their folders. */
  private async askSchedulers(): Promise<void> {
    if (this.asking || !this.runsDir) return;
    this.asking = true;
    try { await refreshRemoteRuns(this.runs(), 5000); } finally { this.asking = false; }
  }

  updateStatusBar(): void {
    const id = this.statusRun;
    const m = id ? this.watchers.get(id)?.model : undefined;
    if (!id || !m) { this.status.hide(); return; }
    const state = this.runState(id);
    const reward = m.metrics.last('reward_mean');
    const live = isLiveState(state);
    const icon = live ? '$(sync~spin)' : state === 'completed' ? '$(check)' : state === 'failed' ? '$(error)' : '$(debug-stop)';
    // a cluster run says where it runs: `slurm 123456 · RUNNING on 2 nodes`
    const dir = this.external.has(id) ? undefined : this.runDir(id);
    const job = dir ? this.runs().find((r) => r.id === id)?.jobLabel : '';
    this.status.text = `${icon} RLHF ${m.step}/${m.totalSteps ?? '?'} reward ${formatNumber(reward, 3)}${live ? ` ETA ${formatDuration(m.eta())}` : ''}${job ? ` · ${job}` : ''}`;
    this.status.tooltip = `${id}: ${state}. Click to open the dashboard.`;
    this.status.show();
  }
}
