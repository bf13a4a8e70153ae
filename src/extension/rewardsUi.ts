// Reward rules in the editor: diagnostics for run configs and rule modules, a CodeLens that tests
// the rules (as currently edited) on the last samples of a run and re-tests on every edit, and the
// "New Reward Rules" scaffold that gives IntelliSense without an npm install.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { diagnoseConfig, looksLikeRunConfig, rulesKeyOffset } from '../core/configDiagnostics';
import { ConfigSchemas } from '../core/rewardModel';
import { RewardEngine } from '../core/rewards/engine';
import { ModuleCompileError, compileModule, rulesFromText } from '../core/rewards/load';
import { formatReport, replayRun, type ReplayReport } from '../core/rewards/replay';
import { listRuns } from '../core/run/runStore';
import { chooseNode } from '../core/trainerEnv';
import type { Ctx } from './ctx';
import { SAMPLES_FILE } from '../core/run/names';

const LAST_N = 200;
const isRuleModule = (doc: vscode.TextDocument) => /\.reward\.(ts|js)$/.test(doc.fileName);
const isRunConfig = (doc: vscode.TextDocument) => doc.languageId === 'yaml' && looksLikeRunConfig(doc.getText());

type TestState = { status: 'running' } | { status: 'done'; report: ReplayReport; runId: string } | { status: 'error'; message: string };

export class RewardsUi implements vscode.CodeLensProvider {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('rlhf');
  private readonly output = vscode.window.createOutputChannel('RLHF Rewards');
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly tests = new Map<string, TestState>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly schemas: ConfigSchemas;

  constructor(private readonly ctx: Ctx) {
    this.schemas = new ConfigSchemas(path.join(ctx.ext.extensionPath, 'schemas'));
    const sel: vscode.DocumentSelector = [{ language: 'yaml' }, { pattern: '**/*.reward.{ts,js}' }];
    ctx.ext.subscriptions.push(
      this.diagnostics, this.output,
      vscode.languages.registerCodeLensProvider(sel, this),
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidChangeTextDocument((e) => { this.check(e.document); this.retestSoon(e.document); }),
      vscode.workspace.onDidCloseTextDocument((d) => { this.diagnostics.delete(d.uri); this.tests.delete(d.uri.toString()); }),
    );
    for (const d of vscode.workspace.textDocuments) this.check(d);
    this.refreshTypes();
  }

  // ---- diagnostics ------------------------------------------------------------------------
  private check(doc: vscode.TextDocument): void {
    if (isRuleModule(doc)) {
      try {
        compileModule(doc.fileName, doc.getText());
        this.diagnostics.set(doc.uri, []);
      } catch (e) {
        const diags = e instanceof ModuleCompileError ? e.diagnostics : [{ line: 1, column: 0, message: String(e) }];
        this.diagnostics.set(doc.uri, diags.map((d) => {
          const pos = new vscode.Position(Math.max(0, d.line - 1), d.column);
          return Object.assign(new vscode.Diagnostic(new vscode.Range(pos, pos.translate(0, 1)), d.message), { source: 'RLHF rules' });
        }));
      }
      return;
    }
    if (!isRunConfig(doc)) return;
    const problems = diagnoseConfig(doc.getText(), this.schemas.schemaFor(doc.getText()));
    this.diagnostics.set(doc.uri, problems.map((p) => Object.assign(
      new vscode.Diagnostic(new vscode.Range(doc.positionAt(p.start), doc.positionAt(p.end)), p.message,
        p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning), { source: 'RLHF config' })));
  }

  // ---- CodeLens ---------------------------------------------------------------------------
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    let line: number | undefined;
    if (isRuleModule(doc)) line = 0;
    else if (isRunConfig(doc)) {
      const off = rulesKeyOffset(doc.getText());
      if (off !== undefined) line = doc.positionAt(off).line;
    }
    if (line === undefined) return [];
    const range = new vscode.Range(line, 0, line, 0);
    if (!this.ctx.trusted) return [new vscode.CodeLens(range, { title: '$(shield) Reward rules run only in trusted workspaces', command: '' })];
    const run = this.newestRunWithSamples();
    const state = this.tests.get(doc.uri.toString());
    const lenses: vscode.CodeLens[] = [];
    if (!run) return [new vscode.CodeLens(range, { title: 'No run with samples yet: train once to test these rules on its samples', command: '' })];
    if (state?.status === 'running') lenses.push(new vscode.CodeLens(range, { title: '$(sync~spin) testing rules…', command: '' }));
    else if (state?.status === 'done') {
      const r = state.report;
      lenses.push(new vscode.CodeLens(range, {
        title: `Rules on last ${r.n} samples of ${state.runId}: mean reward ${r.mean.toFixed(3)} (recorded ${r.recordedMean.toFixed(3)}) · ${r.differ.length} differ${r.errors ? ` · ${r.errors} errors` : ''}`,
        command: 'rlhf.showRewardReport', arguments: [],
      }));
    } else if (state?.status === 'error') lenses.push(new vscode.CodeLens(range, { title: `$(error) ${state.message}`, command: '' }));
    lenses.push(new vscode.CodeLens(range, { title: `$(beaker) Test on last ${LAST_N} samples of ${path.basename(run)}`, command: 'rlhf.testRules', arguments: [doc.uri] }));
    return lenses;
  }

  private newestRunWithSamples(): string | undefined {
    return this.ctx.runsDir ? listRuns(this.ctx.runsDir).find((r) => fs.existsSync(path.join(r.dir, SAMPLES_FILE)))?.dir : undefined;
  }

  private retestSoon(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    if (!this.tests.has(key)) return; // only documents the user has tested once
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => void this.test(doc.uri), 400));
  }

  async test(uri?: vscode.Uri): Promise<void> {
    if (!this.ctx.trusted) {
      void vscode.window.showWarningMessage('RLHF: reward rules run only in trusted workspaces (rule modules are code from this folder).');
      return;
    }
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!doc) return;
    const run = this.newestRunWithSamples();
    if (!run) { void vscode.window.showInformationMessage('RLHF: no run with samples yet; train once first.'); return; }
    const key = doc.uri.toString();
    this.tests.set(key, { status: 'running' });
    this.lensesChanged.fire();
    const overlay = (p: string) => vscode.workspace.textDocuments.find((d) => d.fileName === p)?.getText();
    let engine: RewardEngine | undefined;
    try {
      engine = new RewardEngine(rulesFromText(doc.fileName, doc.getText(), overlay), { workers: 2, node: chooseNode({ setting: this.ctx.config.nodePath }) });
      const report = await replayRun(engine, run, LAST_N);
      this.tests.set(key, { status: 'done', report, runId: path.basename(run) });
      this.output.clear();
      this.output.appendLine(`${vscode.workspace.asRelativePath(doc.uri)}\n${formatReport(report, 50)}`);
    } catch (e) {
      this.tests.set(key, { status: 'error', message: e instanceof Error ? e.message.split('\n')[0] : String(e) });
    } finally {
      await engine?.close();
      this.lensesChanged.fire();
    }
  }

  showReport(): void { this.output.show(true); }

  // ---- scaffold ---------------------------------------------------------------------------
  private typesSource(): string { return fs.readFileSync(path.join(this.ctx.ext.extensionPath, 'media', 'rlhf-rewards.d.ts'), 'utf8'); }

  /** Keeps rewards/rlhf-rewards.d.ts in step with the installed extension (not in an untrusted folder: no silent writes there). */
  private refreshTypes(): void {
    if (!this.ctx.trusted) return;
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const file = root && path.join(root, 'rewards', 'rlhf-rewards.d.ts');
    if (file && fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== this.typesSource()) fs.writeFileSync(file, this.typesSource());
  }

  async scaffold(): Promise<void> {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!root) { void vscode.window.showErrorMessage('RLHF: open a folder first.'); return; }
    const dir = path.join(root, 'rewards');
    if (!this.ctx.trusted) {
      const go = await vscode.window.showWarningMessage(`RLHF: this workspace is not trusted. Write an example rule module, its types and a tsconfig.json into ${vscode.workspace.asRelativePath(dir)}? (Rules run only once the workspace is trusted.)`,
        { modal: true }, 'Write Files');
      if (go !== 'Write Files') return;
    }
    fs.mkdirSync(dir, { recursive: true });
    const media = path.join(this.ctx.ext.extensionPath, 'media');
    fs.writeFileSync(path.join(dir, 'rlhf-rewards.d.ts'), this.typesSource());
    if (!fs.existsSync(path.join(dir, 'tsconfig.json'))) fs.copyFileSync(path.join(media, 'rewards-tsconfig.json'), path.join(dir, 'tsconfig.json'));
    let name = 'example.reward.ts';
    for (let i = 2; fs.existsSync(path.join(dir, name)); i++) name = `example${i}.reward.ts`;
    fs.copyFileSync(path.join(media, 'example.reward.ts'), path.join(dir, name));
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(dir, name)));
  }
}
