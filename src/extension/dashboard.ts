// The dashboard webview panel: host side. Sends a full 'reset' when the page is ready and batched
// 'append' messages (4 a second at most) while the run writes events.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { saveExport } from './exportHandler';
import { concatChunks, inheritedHistory } from '../core/checkpoints';
import { isWebviewToHost, type HostToWebview, type RunInfo } from '../core/protocol';
import type { RunModel } from '../core/runModel';
import type { Ctx } from './ctx';
import { dashboardHtml } from './dashboardHtml';

const FLUSH_MS = 250;

export class DashboardPanel {
  static readonly viewType = 'rlhf.dashboard';
  private static panels = new Map<string, DashboardPanel>();
  private sentRows = 0;
  private sentEvals = 0;
  private sentSamplesStep = -1;
  private dirty = false;
  private timer: NodeJS.Timeout;
  private disposables: vscode.Disposable[] = [];
  private ready = false;
  /** A resumed run's parents up to its checkpoint step, drawn before its own steps (read once: they are finished). */
  private history: ReturnType<typeof inheritedHistory> | null = null;

  static show(ctx: Ctx, runId: string): DashboardPanel {
    const existing = DashboardPanel.panels.get(runId);
    if (existing) { existing.panel.reveal(); return existing; }
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, `RLHF: ${runId}`, vscode.ViewColumn.Active, DashboardPanel.options(ctx));
    return new DashboardPanel(ctx, panel, runId);
  }

  static revive(ctx: Ctx, panel: vscode.WebviewPanel, runId: string | undefined): void {
    panel.webview.options = DashboardPanel.options(ctx);
    const id = runId && ctx.hasRun(runId) ? runId : ctx.runs()[0]?.id;
    if (!id) { panel.dispose(); return; }
    new DashboardPanel(ctx, panel, id);
  }

  /** Closes a run's dashboard (a watched folder no longer watched). */
  static close(runId: string): void { DashboardPanel.panels.get(runId)?.panel.dispose(); }

  static refreshAll(): void { for (const p of DashboardPanel.panels.values()) p.reset(); }

  private static options(ctx: Ctx): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist'), vscode.Uri.joinPath(ctx.ext.extensionUri, 'media')] };
  }

  private constructor(private readonly ctx: Ctx, readonly panel: vscode.WebviewPanel, readonly runId: string) {
    DashboardPanel.panels.set(runId, this);
    panel.title = `RLHF: ${runId}`;
    panel.iconPath = vscode.Uri.joinPath(ctx.ext.extensionUri, 'media', 'rlhf.svg');
    panel.webview.html = this.html(panel.webview);
    const source = ctx.source(runId)!;
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => { if (panel.visible) this.dirty = true; }),
      { dispose: source.onEvents(() => { this.dirty = true; }) },
      { dispose: ctx.hold(runId) },
    );
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
  }

  private get model(): RunModel { return this.ctx.source(this.runId)!.model; }

  private runInfo(): RunInfo {
    const m = this.model;
    return { id: this.runId, name: this.runId, state: this.ctx.runState(this.runId), step: m.step, totalSteps: m.totalSteps,
      live: this.ctx.runs().find((r) => r.id === this.runId)?.alive ?? false, device: m.device, error: m.error };
  }

  private post(msg: HostToWebview): void { void this.panel.webview.postMessage(msg); }

  private reset(): void {
    const m = this.model;
    this.sentRows = m.metrics.length;
    this.sentEvals = m.evals.length;
    this.sentSamplesStep = m.lastSamples?.step ?? -1;
    const dir = this.ctx.external.has(this.runId) ? undefined : this.ctx.runDir(this.runId);
    if (this.history === null) this.history = dir ? inheritedHistory(dir) : undefined;
    const h = this.history;
    this.post({ type: 'reset', run: this.runInfo(), series: h ? concatChunks(h.metrics, m.metrics.slice(0)) : m.metrics.slice(0),
      evals: h ? concatChunks(h.evals, m.evals.slice(0)) : m.evals.slice(0), samples: m.lastSamples, readOnly: !this.ctx.trusted });
    this.dirty = false;
  }

  private flush(): void {
    if (!this.ready || !this.dirty || !this.panel.visible) return;
    this.dirty = false;
    const m = this.model;
    if (m.metrics.length < this.sentRows) { this.reset(); return; } // a resumed run rewrote steps
    const samples = m.lastSamples && m.lastSamples.step !== this.sentSamplesStep ? m.lastSamples : null;
    this.post({ type: 'append', runId: this.runId, series: m.metrics.slice(this.sentRows),
      evals: m.evals.length > this.sentEvals ? m.evals.slice(this.sentEvals) : null, samples, run: this.runInfo(), progress: m.progress });
    this.sentRows = m.metrics.length;
    this.sentEvals = m.evals.length;
    if (samples) this.sentSamplesStep = samples.step;
  }

  private onMessage(m: unknown): void {
    if (!isWebviewToHost(m)) { this.ctx.log.warn(`dashboard: ignored an invalid message from the webview`); return; }
    switch (m.type) {
      case 'ready': this.ready = true; this.reset(); break;
      case 'stop': void vscode.commands.executeCommand('rlhf.stopTraining', m.runId); break;
      case 'openLog': void vscode.commands.executeCommand('rlhf.showTrainerLog', m.runId); break;
      case 'export': {
        const dir = this.ctx.runDir(this.runId);
        void saveExport(m, dir && fs.existsSync(dir) ? vscode.Uri.file(dir) : undefined);
        break;
      }
    }
  }

  private html(webview: vscode.Webview): string {
    const uri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.ctx.ext.extensionUri, ...p)).toString();
    return dashboardHtml({ runId: this.runId, nonce: crypto.randomBytes(16).toString('base64'), cspSource: webview.cspSource,
      uplotCss: uri('dist', 'uPlot.min.css'), dashboardCss: uri('media', 'dashboard.css'), script: uri('dist', 'webview.js') });
  }

  dispose(): void {
    clearInterval(this.timer);
    DashboardPanel.panels.delete(this.runId);
    for (const d of this.disposables) d.dispose();
  }
}
