// The sample browser panel: host side. A thin shell around SamplesSession (src/sessions/samplesSession.ts),
// which answers the webview from the run's sample index and labels; this file adds the webview, the
// poll while the run writes, and the jump to a prompt's line in its dataset.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SamplesSession } from '../sessions/samplesSession';
import { samplesHtml } from '../../webview/samples/html';
import { readRunConfig } from '../core/run/config';

/** What the panel needs of the extension's context (Ctx satisfies it). */
export interface SamplesCtxLike { ext: { extensionUri: vscode.Uri }; trusted: boolean; log: { warn(m: string): void } }

const POLL_MS = 500;

export class SamplesPanel {
  static readonly viewType = 'rlhf.samples';
  private static panels = new Map<string, SamplesPanel>();
  private readonly session: SamplesSession;
  private readonly timer: NodeJS.Timeout;
  private readonly disposables: vscode.Disposable[] = [];

  /** Opens (or reveals) the browser of a run folder; with `step`, at that step; with `filter` (an alert's), filtered. */
  static show(ctx: SamplesCtxLike, runDir: string, opts: { step?: number; filter?: { truncatedOnly?: boolean } } = {}): SamplesPanel {
    const existing = SamplesPanel.panels.get(runDir);
    if (existing) {
      existing.panel.reveal();
      if (opts.step !== undefined) existing.session.focus(opts.step, opts.filter);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(SamplesPanel.viewType, `Samples: ${path.basename(runDir)}`, vscode.ViewColumn.Active,
      { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist')] });
    return new SamplesPanel(ctx, panel, runDir, opts.step, opts.filter);
  }

  private constructor(private readonly ctx: SamplesCtxLike, readonly panel: vscode.WebviewPanel, readonly runDir: string, step: number | undefined,
    filter: { truncatedOnly?: boolean } | undefined) {
    SamplesPanel.panels.set(runDir, this);
    this.session = new SamplesSession(runDir, (m) => void panel.webview.postMessage(m),
      { readOnly: !ctx.trusted, focusStep: step, focusFilter: filter, openPrompt: (prompt, source) => void this.openPrompt(prompt, source),
        exportPreferences: () => void vscode.commands.executeCommand('rlhf.exportPreferences', path.basename(runDir)),
        trainRewardModel: () => void vscode.commands.executeCommand('rlhf.trainRewardModel', { runDir }) });
    const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist', 'samples.js')).toString();
    panel.webview.html = samplesHtml({ runId: path.basename(runDir), cspSource: panel.webview.cspSource, script, focusStep: step });
    this.disposables.push(panel.webview.onDidReceiveMessage((m) => this.session.handle(m)), panel.onDidDispose(() => this.dispose()));
    this.timer = setInterval(() => { if (panel.visible) this.session.poll(); }, POLL_MS);
  }

  /** Opens the dataset line a sample's prompt came from (recorded by the trainer, else searched in the run's configured dataset). */
  private async openPrompt(prompt: string, source: { file: string; line: number } | undefined): Promise<void> {
    let file = source?.file, line = source?.line;
    if (!file) { const found = findPromptLine(this.runDir, prompt); file = found?.file; line = found?.line; }
    if (!file || !line) { void vscode.window.showInformationMessage('This sample does not say which dataset line its prompt came from.'); return; }
    const doc = await vscode.workspace.openTextDocument(path.resolve(this.runDir, file));
    const pos = new vscode.Position(line - 1, 0);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.Beside });
  }

  dispose(): void {
    clearInterval(this.timer);
    SamplesPanel.panels.delete(this.runDir);
    for (const d of this.disposables) d.dispose();
  }
}

/** The line of the run's prompt dataset (config.yaml data.prompts) whose "prompt" field is `prompt`, for runs that do not record it. */
function findPromptLine(runDir: string, prompt: string): { file: string; line: number } | undefined {
  let file: unknown;
  try { file = readRunConfig(runDir)?.data?.prompts; } catch { return undefined; }
  if (typeof file !== 'string' || !file) return undefined;
  let text: string;
  try { text = fs.readFileSync(path.resolve(runDir, file), 'utf8'); } catch { return undefined; }
  const needle = JSON.stringify(prompt);
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  return i >= 0 ? { file, line: i + 1 } : undefined;
}
