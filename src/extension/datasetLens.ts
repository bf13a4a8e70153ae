// Responses beside their prompts: in a prompt dataset (the data.prompts / data.eval_prompts of a run in
// the runs folder), each sampled line gets a CodeLens with its latest responses' mean reward, a hover
// with those responses, and "Show history", a diff of its earliest and latest step's responses; lines
// of the eval set get the same from the run's evals (eval_samples.jsonl: `↳ eval reward …`). The
// samples come from the run's SampleIndex per kind (keyed by the source file+line the trainer records,
// src/core/samples/promptLenses.ts), polled incrementally while such a file is on screen, so a live
// run's lenses move as it writes.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { historyText } from '../core/samples/promptHistory';
import type { Verdict } from '../core/samples/labels';
import { kindMarkdown, PromptLenses, type SampleKind } from '../core/samples/promptLenses';
import type { SampleRecord } from '../core/samples/record';

/** What the lens needs of the extension's context (Ctx satisfies it). */
export interface DatasetLensCtx { runs(): { dir: string }[] }

const SCHEME = 'rlhf-prompt-history';
const POLL_MS = 2000;
/** Lenses of a file beyond this many sampled lines are not drawn (the hover and history still work). */
const MAX_LENSES = 20_000;

/** The hover's label links run this command (registered in commands.ts, body in datasetCommands.ts). */
const LABEL_COMMAND = 'rlhf.labelSample';

/** "good · bad" links per response (command links run only the label command: isTrusted names it alone). */
function labelLinks(run: string, records: SampleRecord[], rows: number[]): vscode.MarkdownString {
  const link = (text: string, row: number, verdict: Verdict) =>
    `[${text}](command:${LABEL_COMMAND}?${encodeURIComponent(JSON.stringify([run, row, verdict]))} "${verdict === 'none' ? 'clear the label' : `mark this response ${verdict}`}")`;
  const md = new vscode.MarkdownString('**Label** (as in the sample browser)\n\n' + records.map((r, i) =>
    `- #${r.index} \`${r.response.slice(0, 40).replace(/[`\n]/g, ' ')}\` ${link('good', rows[i], 'good')} · ${link('bad', rows[i], 'bad')} · ${link('clear', rows[i], 'none')}`).join('\n'));
  md.isTrusted = { enabledCommands: [LABEL_COMMAND] };
  return md;
}

interface HistoryQuery { run: string; file: string; line: number; which: 'first' | 'last'; kind?: SampleKind }

/** The read-only document of a dataset line's responses at its first or last sampled step (the two sides of "Show history"). */
export function historyUri(q: Required<HistoryQuery>, step: number): vscode.Uri {
  return vscode.Uri.from({ scheme: SCHEME, path: `/${path.basename(q.file)}:${q.line} ${q.kind === 'eval' ? 'eval ' : ''}step ${step}.txt`,
    query: JSON.stringify(q satisfies HistoryQuery) });
}

export class DatasetLens implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.TextDocumentContentProvider {
  /** The runs' samples by dataset line (the label and history commands, datasetCommands.ts, read and label through it). */
  readonly lenses: PromptLenses;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(ctx: DatasetLensCtx) { this.lenses = new PromptLenses(() => ctx.runs()); }

  register(): vscode.Disposable {
    const selector: vscode.DocumentSelector = { scheme: 'file', pattern: '**/*.jsonl' };
    const timer = setInterval(() => this.pollVisible(), POLL_MS);
    return vscode.Disposable.from(
      vscode.languages.registerCodeLensProvider(selector, this),
      vscode.languages.registerHoverProvider(selector, this),
      vscode.workspace.registerTextDocumentContentProvider(SCHEME, this),
      this.changed, { dispose: () => clearInterval(timer) });
  }

  /** Reads what the runs of the visible dataset files appended (only the new bytes); redraws on news. */
  private pollVisible(): void {
    const files = new Set(vscode.window.visibleTextEditors.map((e) => e.document.uri).filter((u) => u.scheme === 'file' && u.fsPath.endsWith('.jsonl')).map((u) => u.fsPath));
    if (this.lenses.poll(files)) this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const file = doc.uri.fsPath, out: vscode.CodeLens[] = [];
    for (const l of this.lenses.lenses(file, MAX_LENSES)) {
      if (l.line > doc.lineCount) continue;
      const range = new vscode.Range(l.line - 1, 0, l.line - 1, 0);
      out.push(new vscode.CodeLens(range, { title: l.title, command: '' }));
      if (l.lastStep !== l.firstStep) {
        out.push(new vscode.CodeLens(range, { title: `Show ${l.kind === 'eval' ? 'eval ' : ''}history (steps ${l.firstStep} → ${l.lastStep})`,
          command: 'rlhf.showPromptHistory', arguments: [l.run, file, l.line, l.kind] }));
      }
    }
    return out;
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const latest = this.lenses.latest(doc.uri.fsPath, pos.line + 1);
    if (!latest.length) return undefined;
    return new vscode.Hover(latest.flatMap((l) => {
      const parts = [new vscode.MarkdownString(kindMarkdown(l.kind, l.records, l.step))];
      // training responses are labelled here as in the sample browser (labels.jsonl of the run); not in an untrusted workspace
      if (l.kind === 'train' && vscode.workspace.isTrusted) parts.push(labelLinks(l.run, l.records, l.rows));
      return parts;
    }));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    let q: HistoryQuery;
    try { q = JSON.parse(uri.query) as HistoryQuery; } catch { return `not a prompt history address: ${uri.toString()}\n`; }
    const got = this.lenses.records(q.run, q.kind ?? 'train', q.file, q.line, q.which);
    return got ? historyText(got.records, got.step) : `no samples of ${q.file}:${q.line} in ${q.run}\n`;
  }
}
