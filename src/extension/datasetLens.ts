// Responses beside their prompts: in a prompt dataset (the data.prompts / data.eval_prompts of a run in
// the runs folder), each sampled line gets a CodeLens with its latest responses' mean reward, a hover
// with those responses, and "Show history", a diff of its earliest and latest step's responses. The
// samples come from the run's SampleIndex (keyed by the source file+line the trainer records), polled
// incrementally while such a file is on screen, so a live run's lenses move as it writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SampleIndex } from '../core/samples/index';
import { datasetsOfRunConfig, historyMarkdown, historyText, lensTitle } from '../core/samples/promptHistory';
import type { SampleRecord } from '../core/samples/record';

/** What the lens needs of the extension's context (Ctx satisfies it). */
export interface DatasetLensCtx { runs(): { dir: string }[] }

const SCHEME = 'rlhf-prompt-history';
const POLL_MS = 2000;
/** Lenses of a file beyond this many sampled lines are not drawn (the hover and history still work). */
const MAX_LENSES = 20_000;

interface HistoryQuery { run: string; file: string; line: number; which: 'first' | 'last' }

export class DatasetLens implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.TextDocumentContentProvider {
  private readonly indexes = new Map<string, SampleIndex>();
  /** Run folder -> the dataset files its config.yaml names (read once: a run's config does not change). */
  private readonly datasets = new Map<string, string[]>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly ctx: DatasetLensCtx) {}

  register(): vscode.Disposable {
    const selector: vscode.DocumentSelector = { scheme: 'file', pattern: '**/*.jsonl' };
    const timer = setInterval(() => this.pollVisible(), POLL_MS);
    return vscode.Disposable.from(
      vscode.languages.registerCodeLensProvider(selector, this),
      vscode.languages.registerHoverProvider(selector, this),
      vscode.workspace.registerTextDocumentContentProvider(SCHEME, this),
      vscode.commands.registerCommand('rlhf.showPromptHistory', (run: string, file: string, line: number) => this.showHistory(run, file, line)),
      this.changed, { dispose: () => clearInterval(timer) });
  }

  /** The run whose samples name `file` and were written last (a live run wins over older ones). */
  private runFor(file: string): SampleIndex | undefined {
    let best: { idx: SampleIndex; mtime: number } | undefined;
    for (const { dir } of this.ctx.runs()) {
      if (!this.datasetsOf(dir).includes(file)) continue;
      let mtime: number;
      try { mtime = fs.statSync(path.join(dir, 'samples.jsonl')).mtimeMs; } catch { continue; }
      if (!best || mtime > best.mtime) best = { idx: this.index(dir), mtime };
    }
    return best?.idx;
  }

  private datasetsOf(dir: string): string[] {
    let d = this.datasets.get(dir);
    if (!d) {
      try { d = datasetsOfRunConfig(fs.readFileSync(path.join(dir, 'config.yaml'), 'utf8'), dir); } catch { return []; }
      this.datasets.set(dir, d);
    }
    return d;
  }

  private index(dir: string): SampleIndex {
    let idx = this.indexes.get(dir);
    if (!idx) { idx = new SampleIndex(dir); idx.poll(); this.indexes.set(dir, idx); }
    return idx;
  }

  /** Reads what the runs of the visible dataset files appended (only the new bytes); redraws on news. */
  private pollVisible(): void {
    const files = new Set(vscode.window.visibleTextEditors.map((e) => e.document.uri).filter((u) => u.scheme === 'file' && u.fsPath.endsWith('.jsonl')).map((u) => u.fsPath));
    let grew = false;
    for (const f of files) { const idx = this.runFor(f); if (idx && idx.poll() > 0) grew = true; }
    if (grew) this.changed.fire();
  }

  /** The records of a history's first or latest step. */
  private records(idx: SampleIndex, file: string, line: number, which: 'first' | 'last'): { step: number; records: SampleRecord[] } | undefined {
    const h = idx.historyOf(file, line);
    if (!h) return undefined;
    const records = idx.readMany(which === 'first' ? h.first : h.last).filter((r): r is SampleRecord => !!r);
    return records.length ? { step: which === 'first' ? h.firstStep : h.lastStep, records } : undefined;
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const file = doc.uri.fsPath, idx = this.runFor(file);
    if (!idx) return [];
    const out: vscode.CodeLens[] = [];
    for (const [line, h] of idx.historiesOf(file)) {
      if (out.length >= MAX_LENSES) break;
      if (line > doc.lineCount) continue;
      const range = new vscode.Range(line - 1, 0, line - 1, 0);
      // the title from the index's columns: no file read per line
      out.push(new vscode.CodeLens(range, { title: lensTitle(idx.rewards(h.last), h.lastStep), command: '' }));
      if (h.lastStep !== h.firstStep) {
        out.push(new vscode.CodeLens(range, { title: `Show history (steps ${h.firstStep} → ${h.lastStep})`, command: 'rlhf.showPromptHistory', arguments: [path.dirname(idx.file), file, line] }));
      }
    }
    return out;
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const idx = this.runFor(doc.uri.fsPath);
    const latest = idx && this.records(idx, doc.uri.fsPath, pos.line + 1, 'last');
    return latest && new vscode.Hover(new vscode.MarkdownString(historyMarkdown(latest.records, latest.step)));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    let q: HistoryQuery;
    try { q = JSON.parse(uri.query) as HistoryQuery; } catch { return `not a prompt history address: ${uri.toString()}\n`; }
    const got = this.records(this.index(q.run), q.file, q.line, q.which);
    return got ? historyText(got.records, got.step) : `no samples of ${q.file}:${q.line} in ${q.run}\n`;
  }

  private async showHistory(run: string, file: string, line: number): Promise<void> {
    const h = this.index(run).historyOf(file, line);
    if (!h) { void vscode.window.showInformationMessage(`RLHF: no samples of ${path.basename(file)}:${line} in ${path.basename(run)}`); return; }
    const uri = (which: 'first' | 'last', step: number) => vscode.Uri.from({ scheme: SCHEME, path: `/${path.basename(file)}:${line} step ${step}.txt`,
      query: JSON.stringify({ run, file, line, which } satisfies HistoryQuery) });
    await vscode.commands.executeCommand('vscode.diff', uri('first', h.firstStep), uri('last', h.lastStep),
      `${path.basename(file)}:${line}: step ${h.firstStep} ↔ step ${h.lastStep}`);
  }
}
