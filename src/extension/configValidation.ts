// The trainer's own `validate` as you type: every semantic check (batch sizes, estimator and sample
// count, paths, the model's config and tokenizer, prompt + response within its positions, the rules)
// shows at its line, with Quick Fixes where the message names the value (and for the batch sizes, the
// fixes src/core/batches.ts computes from the document). The schema checks without
// Python stay in rewardsUi (configDiagnostics); this runs only when they pass, so the two never repeat.
//
// The estimates `validate` prints for a valid config (memory per device; time per step from the newest run
// of the same model in the runs folder) show as CodeLenses on the first line, details in their tooltips.
//
// Runs after typing stops (1.5 s), on open and on save; only in a trusted workspace (validate reads the
// reward code); one process at a time: a newer request aborts the running one, and a result for an
// older version of the document is dropped. Its answers are kept by document text and model folder
// (src/core/quickCheck.ts ValidationCache): the same text against an unchanged model folder is answered
// without a Python start. Meanwhile every edit gets the batch arithmetic at once (quickCheck.ts, the
// trainer's rules in TypeScript), so those problems show within a fraction of a second (issue #22).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { applyFix, estimateHead, fixesOf, parseTrainerProblem, schemaProblems, trainerValidate, valueRange, type ConfigLineProblem, type ModelFacts } from '../core/configCheck';
import { batchQuickFixes } from '../core/batches';
import { looksLikeRunConfig } from '../core/configDiagnostics';
import { batchLineProblems, factsKey, positionProblems, ValidationCache } from '../core/quickCheck';
import { ConfigSchemas } from '../core/rewardModel';
import { probeKnown, probePythonCached } from '../core/python';
import { chooseNode } from '../core/trainerEnv';
import type { Ctx } from './ctx';

export const RUN_CONFIG_CONTEXT = 'rlhf.isRunConfig';
const SOURCE = 'RLHF trainer';
const TYPING_DELAY_MS = 1500;
/** The checks without Python, after each edit. */
const QUICK_DELAY_MS = 150;

export const isRunConfigDoc = (doc: vscode.TextDocument): boolean => doc.languageId === 'yaml' && looksLikeRunConfig(doc.getText());

export class ConfigValidation implements vscode.CodeActionProvider, vscode.CodeLensProvider {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('rlhf-trainer');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running: { abort: AbortController; doc: vscode.TextDocument } | undefined;
  private readonly problems = new WeakMap<vscode.Diagnostic, ConfigLineProblem>();
  private readonly schemas: ConfigSchemas;
  private readonly estimates = new Map<string, string[]>();
  private readonly answers = new ValidationCache<{ problems: string[]; estimates: string[] }>();
  private readonly quickTimers = new Map<string, NodeJS.Timeout>();
  /** The model facts of the last valid check, by model folder and prompt files (quickCheck.ts factsKey). */
  private readonly facts = new ValidationCache<ModelFacts>(16);
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;

  constructor(private readonly ctx: Ctx) {
    this.schemas = new ConfigSchemas(ctx.layout.schemasDir);
    ctx.ext.subscriptions.push(
      this.diagnostics,
      vscode.languages.registerCodeActionsProvider({ language: 'yaml' }, this, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
      vscode.languages.registerCodeLensProvider({ language: 'yaml' }, this),
      this.lensesChanged,
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 300)),
      // a saved reward module, data file or anything else a check reads: the kept answers may be stale
      vscode.workspace.onDidSaveTextDocument((d) => { if (!isRunConfigDoc(d)) this.answers.clear(); this.schedule(d, 0); }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length) { this.scheduleQuick(e.document); this.schedule(e.document, TYPING_DELAY_MS); }
        this.updateContext();
      }),
      vscode.workspace.onDidCloseTextDocument((d) => { this.diagnostics.delete(d.uri); this.setEstimates(d, []); }),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateContext()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => { for (const d of vscode.workspace.textDocuments) this.schedule(d, 0); }),
      { dispose: () => { this.running?.abort.abort(); for (const t of [...this.timers.values(), ...this.quickTimers.values()]) clearTimeout(t); } },
    );
    this.updateContext();
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 300);
  }

  /** The ▷ in the editor title shows for YAML files that are run configs by their keys. */
  private updateContext(): void {
    const doc = vscode.window.activeTextEditor?.document;
    void vscode.commands.executeCommand('setContext', RUN_CONFIG_CONTEXT, !!doc && isRunConfigDoc(doc));
  }

  private schedule(doc: vscode.TextDocument, delayMs: number): void {
    if (!this.ctx.trusted || doc.uri.scheme !== 'file' || !isRunConfigDoc(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); void this.validate(doc); }, delayMs));
  }

  /** The batch problems of the text as it is now, shown until the trainer's check of it answers (which finds them too). */
  private scheduleQuick(doc: vscode.TextDocument): void {
    if (!this.ctx.trusted || doc.uri.scheme !== 'file' || !isRunConfigDoc(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.quickTimers.get(key));
    this.quickTimers.set(key, setTimeout(() => {
      this.quickTimers.delete(key);
      if (doc.isClosed) return;
      const text = doc.getText();
      const schema = this.schemas.schemaFor(text);
      if (schemaProblems(text, schema).length) { this.diagnostics.set(doc.uri, []); return; } // rewardsUi shows those
      const facts = this.facts.get(factsKey(text, doc.fileName));
      this.show(doc, [...batchLineProblems(text, schema), ...(facts ? positionProblems(text, schema, facts) : [])]);
    }, QUICK_DELAY_MS));
  }

  /**
   * Runs the trainer's validate on the document as it is now and shows its problem; returns the problem lines
   * (empty: valid), or undefined when a newer run superseded this one or the interpreter could not check.
   */
  async validate(doc: vscode.TextDocument): Promise<ConfigLineProblem[] | undefined> {
    const text = doc.getText();
    const version = doc.version;
    const dirty = doc.isDirty;
    if (schemaProblems(text, this.schemas.schemaFor(text)).length) { this.diagnostics.set(doc.uri, []); this.setEstimates(doc, []); return undefined; }
    const cacheKey = this.answers.key(doc.fileName, text);
    const known = this.answers.get(cacheKey);
    if (known) return this.showAnswer(doc, known.problems, known.estimates);
    // one process at a time: a newer check replaces the running one; another file's check is redone after this one
    const displaced = this.running && this.running.doc !== doc ? this.running.doc : undefined;
    this.running?.abort.abort();
    const abort = new AbortController();
    this.running = { abort, doc };
    // unsaved text is checked from a hidden sibling file: relative paths resolve against the same folder
    const file = dirty ? path.join(path.dirname(doc.fileName), `.${path.basename(doc.fileName)}.rlhf-check-${process.pid}.yaml`) : doc.fileName;
    try {
      if (dirty) fs.writeFileSync(file, text);
      const python = await this.ctx.interpreters.resolve();
      const { problems: lines, estimates, facts } = await trainerValidate(python.path, this.ctx.layout, file,
        { node: chooseNode({ setting: this.ctx.config.nodePath }), signal: abort.signal, runsDir: this.ctx.runsDir, facts: true });
      const kept = facts && factsKey(text, doc.fileName);
      if (facts && kept) this.facts.set(kept, facts);
      // once per interpreter, after its first check: the probe a ▷ needs is then already remembered (training.ts)
      if (!probeKnown(python.path)) void probePythonCached(python.path, undefined, python.origin);
      if (abort.signal.aborted) return undefined;
      // an answer that is only a crash line (no problem lines) is not kept: the next check asks again
      if (!lines.length || lines.some((l) => /^(config error|error): /.test(l))) this.answers.set(cacheKey, { problems: lines, estimates });
      if (doc.version !== version || doc.isClosed) return undefined;
      return this.showAnswer(doc, lines, estimates);
    } finally {
      if (dirty) fs.rmSync(file, { force: true });
      if (this.running?.abort === abort) this.running = undefined;
      if (displaced) this.schedule(displaced, 0);
    }
  }

  private showAnswer(doc: vscode.TextDocument, lines: string[], estimates: string[]): ConfigLineProblem[] {
    this.setEstimates(doc, estimates);
    const problems: ConfigLineProblem[] = [];
    for (const l of lines) {
      if (!/^(config error|error): /.test(l)) { this.ctx.log.warn(`validate ${doc.fileName}: ${l}`); continue; }
      problems.push(parseTrainerProblem(l));
    }
    this.show(doc, problems);
    return problems;
  }

  private setEstimates(doc: vscode.TextDocument, lines: string[]): void {
    const key = doc.uri.toString();
    if ((this.estimates.get(key) ?? []).join('\n') === lines.join('\n')) return;
    if (lines.length) this.estimates.set(key, lines); else this.estimates.delete(key);
    this.lensesChanged.fire();
  }

  /** The estimates of the last valid check of this document, on its first line (not a problem: no diagnostic). */
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const range = new vscode.Range(0, 0, 0, 0);
    return (this.estimates.get(doc.uri.toString()) ?? []).map((line) =>
      new vscode.CodeLens(range, { title: `$(dashboard) estimate: ${estimateHead(line)}`, tooltip: line, command: '' }));
  }

  private show(doc: vscode.TextDocument, problems: ConfigLineProblem[]): void {
    this.diagnostics.set(doc.uri, problems.map((p) => {
      const line = doc.lineAt(Math.min(Math.max((p.line ?? 1) - 1, 0), doc.lineCount - 1));
      const d = new vscode.Diagnostic(new vscode.Range(line.lineNumber, line.firstNonWhitespaceCharacterIndex, line.lineNumber, line.text.length),
        `${p.field ? `${p.field}: ` : ''}${p.message}`, vscode.DiagnosticSeverity.Error);
      d.source = SOURCE;
      this.problems.set(d, p);
      return d;
    }));
  }

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    const text = doc.getText();
    for (const d of context.diagnostics) {
      const p = d.source === SOURCE ? this.problems.get(d) : undefined;
      if (!p) continue;
      // the fixes the message names, and the batch sizes' own (src/core/batches.ts: computed from the document as it is now)
      const fixes = [...fixesOf(p), ...batchQuickFixes(text, this.schemas.schemaFor(text), p.field)];
      for (const fix of fixes.filter((f, i) => fixes.findIndex((g) => g.title === f.title) === i)) {
        const r = valueRange(text, fix.path);
        if (!r || applyFix(text, fix) === undefined) continue;
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.edit = new vscode.WorkspaceEdit();
        action.edit.replace(doc.uri, new vscode.Range(doc.positionAt(r[0]), doc.positionAt(r[1])), fix.value);
        action.diagnostics = [d];
        actions.push(action);
      }
      if (actions.length) actions[0].isPreferred = true;
    }
    return actions;
  }
}
