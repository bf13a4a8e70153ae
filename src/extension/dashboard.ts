// The dashboard webview panel: host side. Sends a full 'reset' when the page is ready and batched
// 'append' messages (4 a second at most) while the run writes events. A dashboard can overlay
// other runs (native, in any folder, or watched runs of other frameworks): they are sent whole in
// an 'overlay' message, then appended to like the dashboard's own run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { saveExport } from './exportHandler';
import { AdapterError } from '../core/adapters';
import { concatChunks, inheritedHistory, lineageOf } from '../core/run/checkpoints';
import { configDiff, configDiffMarkdown, runLabels, type OverlayRunConfig } from '../core/overlay';
import type { RunInfo } from '../core/protocol';
import { isWebviewToHost, type HostToWebview, type OverlayRun } from '../../webview/dashboard/protocol';
import type { RunModel } from '../core/run/runModel';
import { isLiveState } from '../core/run/runStore';
import { RunWatcher } from '../core/run/runWatcher';
import type { Ctx, RunSource } from './ctx';
import { dashboardHtml } from '../../webview/dashboard/html';
import { SamplesPanel } from './samplesPanel';
import { EVENTS_FILE, SAMPLES_FILE } from '../core/run/names';

const FLUSH_MS = 250;

/** One run a dashboard shows (its own or an overlaid one) and how much of it the page has. */
interface Shown {
  id: string;
  source: RunSource;
  /** The run folder, when it is one of ours (samples, exports, config); undefined for a watched run of another framework. */
  dir: string | undefined;
  framework?: string;
  sentRows: number; sentEvals: number; sentAlerts: number;
  release: () => void;
}

export class DashboardPanel {
  static readonly viewType = 'rlhf.dashboard';
  private static panels = new Map<string, DashboardPanel>();
  private sentSamplesStep = -1;
  private dirty = false;
  private timer: NodeJS.Timeout;
  private disposables: vscode.Disposable[] = [];
  private ready = false;
  /** A resumed run's parents up to its checkpoint step, drawn before its own steps (read once: they are finished). */
  private history: ReturnType<typeof inheritedHistory> | null = null;
  /** The runs drawn over this one, in the order they were added. */
  private readonly overlays = new Map<string, Shown>();
  private key: string;

  static show(ctx: Ctx, runId: string): DashboardPanel {
    const existing = DashboardPanel.panels.get(runId);
    if (existing) { existing.panel.reveal(); return existing; }
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, `RLHF: ${runId}`, vscode.ViewColumn.Active, DashboardPanel.options(ctx));
    return new DashboardPanel(ctx, panel, runId);
  }

  /**
   * Opens one dashboard with several runs on the same charts: `runs` are run ids, or run folders
   * (native ones anywhere, or another framework's, which is then watched). Runs that cannot be
   * opened are named in one message; the ids of the runs shown, or undefined when none could be.
   */
  static showOverlay(ctx: Ctx, runs: string[]): string[] | undefined {
    const resolved = resolveRuns(ctx, runs);
    if (!resolved.length) return undefined;
    const ids = resolved.map((r) => r.id);
    const existing = DashboardPanel.panels.get(ids.join('\n'));
    if (existing) { for (const r of resolved) r.release(); existing.panel.reveal(); return ids; }
    const [first, ...rest] = resolved;
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, `RLHF: ${ids.join(' vs ')}`, vscode.ViewColumn.Active, DashboardPanel.options(ctx));
    new DashboardPanel(ctx, panel, first.id, first).addShown(rest);
    return ids;
  }

  static revive(ctx: Ctx, panel: vscode.WebviewPanel, runId: string | undefined): void {
    panel.webview.options = DashboardPanel.options(ctx);
    const id = runId && ctx.hasRun(runId) ? runId : ctx.runs()[0]?.id;
    if (!id) { panel.dispose(); return; }
    new DashboardPanel(ctx, panel, id);
  }

  /** Closes a run's dashboard (a watched folder no longer watched); overlays drop it. */
  static close(runId: string): void {
    DashboardPanel.panels.get(runId)?.panel.dispose();
    for (const p of DashboardPanel.panels.values()) if (p.overlays.has(runId)) p.removeRun(runId);
  }

  static refreshAll(): void { for (const p of DashboardPanel.panels.values()) { p.reset(); p.sendOverlay(); } }

  private static options(ctx: Ctx): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist'), vscode.Uri.joinPath(ctx.ext.extensionUri, 'media')] };
  }

  private readonly own: Shown;

  /** `own`: the run already resolved (an overlay's first run); else it is looked up by id. */
  private constructor(private readonly ctx: Ctx, readonly panel: vscode.WebviewPanel, readonly runId: string, own?: Shown) {
    this.key = runId;
    DashboardPanel.panels.set(runId, this);
    panel.title = `RLHF: ${runId}`;
    panel.iconPath = vscode.Uri.joinPath(ctx.ext.extensionUri, 'media', 'rlhf.svg');
    panel.webview.html = this.html(panel.webview);
    this.own = own ?? resolveRuns(ctx, [runId], true)[0];
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => { if (panel.visible) this.dirty = true; }),
      { dispose: this.own.source.onEvents(() => { this.dirty = true; }) },
      { dispose: this.own.release },
    );
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
  }

  private get model(): RunModel { return this.own.source.model; }

  private runInfo(s: Shown = this.own): RunInfo {
    const m = s.source.model;
    // the runs folder is listed once (a listing reads every run's status and checks its trainer)
    const listed = this.ctx.runs().find((r) => r.id === s.id);
    const known = this.ctx.external.has(s.id) || listed !== undefined;
    const state = known ? this.ctx.runState(s.id) : m.state;
    // the run's own end (read from its events just now) wins over the listing, which can be 2 s old: a finished
    // run's Stop is disabled at once
    return { id: s.id, name: s.id, state, step: m.step, totalSteps: m.totalSteps,
      live: isLiveState(state) && (known ? listed?.alive ?? false : true), device: m.device, error: m.error, setup: m.setup,
      ...(s.framework ? { framework: s.framework } : {}) };
  }

  private post(msg: HostToWebview): void { void this.panel.webview.postMessage(msg); }

  private reset(): void {
    const m = this.model;
    this.own.sentRows = m.metrics.length;
    this.own.sentEvals = m.evals.length;
    this.own.sentAlerts = m.alerts.length;
    this.sentSamplesStep = m.lastSamples?.step ?? -1;
    const dir = this.own.framework ? undefined : this.own.dir;
    // a continuation's parents are known from its run_started: until the trainer wrote it (a dashboard opened
    // right after Resume), ask again at each flush, and redraw with the history once it is there
    if (this.history === null && (!dir || m.config !== null)) this.history = dir ? inheritedHistory(dir) : undefined;
    const h = this.history ?? undefined;
    this.post({ type: 'reset', run: this.runInfo(), series: h ? concatChunks(h.metrics, m.metrics.slice(0)) : m.metrics.slice(0),
      evals: h ? concatChunks(h.evals, m.evals.slice(0)) : m.evals.slice(0), samples: m.lastSamples, readOnly: !this.ctx.trusted, alerts: m.alerts.slice() });
    this.dirty = false;
  }

  private flush(): void {
    if (!this.ready || !this.dirty || !this.panel.visible) return;
    this.dirty = false;
    const m = this.model;
    if (m.metrics.length < this.own.sentRows) { this.reset(); return; } // a resumed run rewrote steps
    if (this.history === null && m.config !== null) { this.reset(); return; } // run_started arrived: draw the parents' history
    const samples = m.lastSamples && m.lastSamples.step !== this.sentSamplesStep ? m.lastSamples : null;
    this.postAppend(this.own, samples, m.progress);
    if (samples) this.sentSamplesStep = samples.step;
    this.flushOverlays();
  }

  /** What a shown run wrote since its last message (its rows, evals and alerts), and its state. */
  private postAppend(s: Shown, samples: RunModel['lastSamples'] | null, progress: RunModel['progress'] | null): void {
    const m = s.source.model;
    this.post({ type: 'append', runId: s.id, series: m.metrics.slice(s.sentRows), evals: m.evals.length > s.sentEvals ? m.evals.slice(s.sentEvals) : null,
      samples, run: this.runInfo(s), progress, alerts: m.alerts.slice(s.sentAlerts) });
    s.sentRows = m.metrics.length; s.sentEvals = m.evals.length; s.sentAlerts = m.alerts.length;
  }

  /** Live overlaid runs keep updating: what each wrote since the last message. */
  private flushOverlays(): void {
    for (const s of this.overlays.values()) {
      const m = s.source.model;
      if (m.metrics.length < s.sentRows) { this.sendOverlay(); return; } // rows rewritten: send them all again
      if (m.metrics.length === s.sentRows && m.evals.length === s.sentEvals && m.alerts.length === s.sentAlerts) continue;
      this.postAppend(s, null, null);
    }
  }

  /** The overlaid runs in full, with every run's legend label (their labels depend on each other). */
  private sendOverlay(): void {
    if (!this.ready) return;
    const all = [this.own, ...this.overlays.values()];
    const labels = runLabels(all.map(configOf));
    const runs: OverlayRun[] = [...this.overlays.values()].map((s) => {
      const m = s.source.model;
      s.sentRows = m.metrics.length; s.sentEvals = m.evals.length; s.sentAlerts = 0; // alerts travel as appends
      return { run: this.runInfo(s), series: m.metrics.slice(0), evals: m.evals.slice(0) };
    });
    this.post({ type: 'overlay', runs, labels: Object.fromEntries(all.map((s, i) => [s.id, labels[i]])) });
    this.dirty = true; // the overlaid runs' alerts follow in the next flush
  }

  /** Draws more runs (ids or folders) over this one; those that cannot be opened are named in one message. */
  addRuns(refs: string[]): void {
    this.addShown(resolveRuns(this.ctx, refs.filter((r) => r !== this.runId && !this.overlays.has(r))));
  }

  private addShown(list: Shown[]): void {
    for (const s of list) {
      if (s.id === this.runId || this.overlays.has(s.id)) { s.release(); continue; }
      const off = s.source.onEvents(() => { this.dirty = true; });
      this.overlays.set(s.id, { ...s, release: () => { off(); s.release(); } });
    }
    this.rekey();
    this.sendOverlay();
  }

  private removeRun(id: string): void {
    const s = this.overlays.get(id);
    if (!s) return;
    s.release();
    this.overlays.delete(id);
    this.rekey();
    this.sendOverlay();
  }

  /** A dashboard is found by the runs it shows: its own alone, or all of them in order. */
  private rekey(): void {
    if (DashboardPanel.panels.get(this.key) === this) DashboardPanel.panels.delete(this.key);
    this.key = [this.runId, ...this.overlays.keys()].join('\n');
    DashboardPanel.panels.set(this.key, this);
    const n = this.overlays.size;
    this.panel.title = n ? `RLHF: ${this.runId} + ${n} run${n === 1 ? '' : 's'}` : `RLHF: ${this.runId}`;
  }

  private shown(id: string): Shown | undefined { return id === this.runId ? this.own : this.overlays.get(id); }

  private onMessage(m: unknown): void {
    if (!isWebviewToHost(m)) { this.ctx.log.warn(`dashboard: ignored an invalid message from the webview`); return; }
    switch (m.type) {
      case 'ready':
        this.ready = true; this.reset();
        if (m.overlay?.length && !this.overlays.size) this.addRuns(m.overlay); else this.sendOverlay();
        break;
      case 'stop': void vscode.commands.executeCommand('rlhf.stopTraining', m.runId); break;
      case 'openLog': void vscode.commands.executeCommand('rlhf.showTrainerLog', m.runId); break;
      case 'openSamples': this.openSamples(m.runId, m.step, m.truncatedOnly); break;
      case 'addRun': void this.pickRuns(); break;
      case 'removeRun': this.removeRun(m.runId); break;
      case 'configDiff': void showConfigDiff(this.ctx, [this.own, ...this.overlays.values()].map(configOf)); break;
      case 'export': {
        const dir = this.own.dir;
        void saveExport(m, dir && fs.existsSync(dir) ? vscode.Uri.file(dir) : undefined);
        break;
      }
    }
  }

  /** A chart click or an alert's link: the sample browser of that run at that step. */
  private openSamples(runId: string, step: number, truncatedOnly?: boolean): void {
    const s = this.shown(runId);
    if (!s) return;
    if (!s.dir || s.framework || !fs.existsSync(path.join(s.dir, SAMPLES_FILE))) {
      void vscode.window.showInformationMessage(`RLHF: ${runId} has no samples.jsonl to browse${s.framework ? ` (a ${s.framework} run: its latest samples are in the dashboard's table)` : ''}.`);
      return;
    }
    SamplesPanel.show(this.ctx, s.dir, { step, ...(truncatedOnly ? { filter: { truncatedOnly } } : {}) });
  }

  /** The dashboard's "Add run…": the runs not shown yet, several at a time. */
  private async pickRuns(): Promise<void> {
    const items = pickItems(this.ctx).filter((i) => i.id !== this.runId && !this.overlays.has(i.id));
    if (!items.length) { void vscode.window.showInformationMessage('RLHF: every run is on these charts already.'); return; }
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder: 'Runs to draw on these charts' });
    if (picked?.length) this.addRuns(picked.map((p) => p.id));
  }

  private html(webview: vscode.Webview): string {
    const uri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.ctx.ext.extensionUri, ...p)).toString();
    return dashboardHtml({ runId: this.runId, cspSource: webview.cspSource,
      uplotCss: uri('dist', 'uPlot.min.css'), dashboardCss: uri('media', 'dashboard.css'), script: uri('dist', 'webview.js') });
  }

  dispose(): void {
    clearInterval(this.timer);
    if (DashboardPanel.panels.get(this.key) === this) DashboardPanel.panels.delete(this.key);
    for (const s of this.overlays.values()) s.release();
    this.overlays.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * What the legend and the config diff compare: the run_started config; a watched run's framework (it has no
 * config of ours); a native run's folder and the checkpoint it resumed from (a continuation is told apart by that).
 */
function configOf(s: Shown): OverlayRunConfig {
  const lineage = s.dir && !s.framework ? lineageOf(s.dir) : undefined;
  return { id: s.id, config: s.source.model.config ?? (s.framework ? { framework: s.framework } : null),
    ...(s.dir ? { dir: s.dir } : {}), ...(lineage ? { lineage: { parentDir: lineage.parentDir, parentId: lineage.parentId, step: lineage.step } } : {}) };
}

/** The runs a quick pick offers: native runs, then watched ones. */
export function pickItems(ctx: Ctx): (vscode.QuickPickItem & { id: string })[] {
  return [...ctx.runs().map((r) => ({ id: r.id, label: r.id, description: `${r.status?.state ?? ''} step ${r.status?.step ?? 0}` })),
    ...ctx.external.list().map((w) => ({ id: w.id, label: w.id, description: `${w.run.framework} (watched)` }))];
}

/**
 * Run ids or folders to the sources the dashboard reads: a run in the workspace's runs folder or a
 * watched run by its id; a folder by where it is (the runs folder, a watched folder, another
 * native run folder with its own watcher, else another framework's run, watched from now on).
 * Those that cannot be opened are named in one message (unless `must`: then it throws).
 */
function resolveRuns(ctx: Ctx, refs: string[], must = false): Shown[] {
  const out: Shown[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const add = (s: Omit<Shown, 'sentRows' | 'sentEvals' | 'sentAlerts'>) => {
    if (seen.has(s.id)) { s.release(); return; }
    seen.add(s.id);
    out.push({ ...s, sentRows: 0, sentEvals: 0, sentAlerts: 0 });
  };
  const known = (id: string): void => {
    const ext = ctx.external.get(id);
    add({ id, source: ctx.source(id)!, dir: ext?.dir ?? ctx.runDir(id), framework: ext?.framework, release: ctx.hold(id) });
  };
  for (const ref of refs) {
    if (ctx.hasRun(ref)) { known(ref); continue; }
    const dir = path.resolve(ref);
    const inRuns = ctx.runsDir && path.dirname(dir) === ctx.runsDir ? path.basename(dir) : undefined;
    const watched = ctx.external.list().find((w) => w.run.dir === dir)?.id;
    if (inRuns && ctx.hasRun(inRuns)) known(inRuns);
    else if (watched) known(watched);
    else if (path.isAbsolute(ref) && fs.existsSync(path.join(dir, EVENTS_FILE))) {
      // a native run folder outside the runs folder (a comparison's output folder): its own watcher
      const w = new RunWatcher(dir).start(250);
      let id = path.basename(dir).replace(/\.\.+/g, '.');
      for (let n = 2; seen.has(id) || ctx.hasRun(id); n++) id = `${path.basename(dir)} (${n})`;
      add({ id, source: w, dir, release: () => w.dispose() });
    } else if (path.isAbsolute(ref) || ref.includes(path.sep)) {
      try { known(ctx.external.add(dir)); } catch (e) {
        if (!(e instanceof AdapterError)) throw e;
        problems.push(`${ref}: ${e.message}`);
      }
    } else problems.push(`${ref}: no such run (see the Runs view)`);
  }
  if (problems.length && must) throw new Error(problems.join('; '));
  if (problems.length) void vscode.window.showWarningMessage(`RLHF: cannot overlay ${problems.join('; ')}`);
  return out;
}

// ---- config diff ----------------------------------------------------------------------------
const DIFF_SCHEME = 'rlhf-config-diff';
const diffDocs = new Map<string, string>();
const diffChanged = new vscode.EventEmitter<vscode.Uri>();
let diffProvider: vscode.Disposable | undefined;

/** The config diff of runs as a read-only Markdown document: only the keys that differ, a column per run. */
export async function showConfigDiff(ctx: Ctx, runs: OverlayRunConfig[]): Promise<void> {
  diffProvider ??= vscode.workspace.registerTextDocumentContentProvider(DIFF_SCHEME, { onDidChange: diffChanged.event, provideTextDocumentContent: (u) => diffDocs.get(u.path) ?? '' });
  if (!ctx.ext.subscriptions.includes(diffProvider)) ctx.ext.subscriptions.push(diffProvider, diffChanged);
  const uri = vscode.Uri.from({ scheme: DIFF_SCHEME, path: `/config diff: ${runs.map((r) => r.id).join(' vs ').replace(/[/\\]/g, '_').slice(0, 120)}.md` });
  diffDocs.set(uri.path, configDiffMarkdown(configDiff(runs)));
  diffChanged.fire(uri);
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
  await vscode.window.showTextDocument(doc, { preview: true });
}

/** The config diff of runs given by id or folder (what "RLHF: Config Diff of Runs" shows). */
export async function showRunsConfigDiff(ctx: Ctx, refs: string[]): Promise<void> {
  const shown = resolveRuns(ctx, refs); // each source has read its events (a watcher's start polls at once)
  await showConfigDiff(ctx, shown.map(configOf));
  for (const s of shown) s.release();
}
