// "RLHF: Compare Estimators": the core's compare (src/core/compare.ts) behind a config pick, an
// estimator pick and a seed count, with a cancellable progress notification; at the end the runs on
// one overlay dashboard and the report's preview.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CompareError, DEFAULT_ESTIMATORS, DEFAULT_SEEDS, ESTIMATORS, runCompare } from '../core/compare';
import type { Estimator } from '../core/presets';
import { createRunDir } from '../core/launcher';
import type { Ctx } from './ctx';

const LABELS: Record<Estimator, string> = {
  reinforce_pp: 'REINFORCE++', reinforce_pp_baseline: 'REINFORCE++-baseline', grpo: 'GRPO', rloo: 'RLOO', dr_grpo: 'Dr. GRPO', ppo: 'PPO (trains a critic)',
};

async function pickEstimators(): Promise<string[] | undefined> {
  const items = ESTIMATORS.map((e) => ({ label: LABELS[e] ?? e, description: e, id: e, picked: DEFAULT_ESTIMATORS.includes(e) }));
  const picked = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder: 'Estimators to compare (same prompts and seeds)' });
  if (!picked) return undefined;
  if (!picked.length) { void vscode.window.showInformationMessage('RLHF: pick at least one estimator to compare.'); return undefined; }
  return picked.map((p) => p.id);
}

async function askSeeds(): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    prompt: 'Seeds per estimator (2 or more: the report compares the reward\'s spread across seeds)', value: String(DEFAULT_SEEDS),
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 100 ? undefined : 'a whole number from 1 to 100'),
  });
  return text === undefined ? undefined : Number(text.trim());
}

export async function compareEstimators(ctx: Ctx, pickConfig: () => Promise<string | undefined>): Promise<void> {
  if (!ctx.trusted) {
    void vscode.window.showWarningMessage('RLHF Studio: Compare Estimators is disabled in an untrusted workspace: it would run the trainer and reward code from this folder.');
    return;
  }
  const config = await pickConfig();
  if (!config || !ctx.runsDir) return;
  const estimators = await pickEstimators();
  if (!estimators) return;
  const seeds = await askSeeds();
  if (!seeds) return;
  // the runs go where the Runs view lists them; the report beside them, in a folder of its own
  const outDir = ctx.runsDir;
  const reportDir = createRunDir(ctx.runsDir, `compare-${path.basename(config).replace(/\.ya?ml$/, '')}`);
  const python = await ctx.interpreters.resolve();
  const abort = new AbortController();
  let result: Awaited<ReturnType<typeof runCompare>> | undefined;
  try {
    result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'RLHF: Compare Estimators', cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        return runCompare({ python, layout: ctx.layout, config, outDir, reportDir, estimators, seeds, nodePath: ctx.config.nodePath, signal: abort.signal,
          onLine: (line) => { ctx.log.info(`compare: ${line}`); progress.report({ message: line }); ctx.refresh(); } });
      });
  } catch (e) {
    void vscode.window.showErrorMessage(`RLHF: ${e instanceof CompareError ? e.message : String(e)}`);
    return;
  }
  ctx.refresh();
  const held = result.claims.map((c) => `${c.id}: ${c.verdict}`).join(', ');
  void vscode.window.showInformationMessage(`RLHF: ${result.runs.length} runs${result.cancelled ? ' (stopped)' : ''}; ${held}.`);
  const runDirs = result.runs.map((r) => r.runDir).filter((d): d is string => d !== null);
  if (runDirs.length) await vscode.commands.executeCommand('rlhf.overlayRuns', runDirs);
  await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(result.reportPath));
}
