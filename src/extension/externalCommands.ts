// Commands for other frameworks' runs: watch a run folder of verl, OpenRLHF, TRL, prime-rl or NeMo-RL
// (read-only: works in an untrusted workspace, nothing of the workspace is run), and export a
// config of this project as a verl or OpenRLHF job. Registered in commands.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AdapterError } from '../core/adapters';
import { ExportError, exportOpenRlhfJob, exportVerlJob } from '../core/exportJob';
import type { Ctx } from './ctx';
import { DashboardPanel } from './dashboard';
import { pickConfig, runIdOf } from './pickers';
import { loadSchema, POLICY_SCHEMA_FILE } from '../core/schemas';

export type Engine = 'verl' | 'openrlhf';
const ENGINE_NAME: Record<Engine, string> = { verl: 'verl', openrlhf: 'OpenRLHF' };

/** Stops watching a run of another framework (its dashboard closes). */
export function unwatchRun(ctx: Ctx, arg: unknown): void {
  const id = runIdOf(arg);
  if (!id || !ctx.external.has(id)) return;
  DashboardPanel.close(id);
  ctx.external.remove(id);
}

/** Watches a folder (given as a path or a Uri, e.g. from the Explorer, else picked); opens its dashboard. */
export async function watchRunFolder(ctx: Ctx, arg: unknown): Promise<void> {
  const dir = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : (await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Watch',
    title: 'Run folder of verl, OpenRLHF, TRL, prime-rl or NeMo-RL (the framework is detected from its files)',
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  }))?.[0]?.fsPath;
  if (!dir) return;
  let id: string;
  try { id = ctx.external.add(dir); } catch (e) {
    if (!(e instanceof AdapterError)) throw e;
    void vscode.window.showErrorMessage(`RLHF: cannot watch ${e.message}`);
    return;
  }
  ctx.activeRun = id;
  DashboardPanel.show(ctx, id);
}

/** Exports a config as a job of `engine` into a picked folder; shows run.sh (the command) and the warnings. */
export async function exportJob(ctx: Ctx, engine: Engine, config: string | undefined): Promise<void> {
  const name = ENGINE_NAME[engine];
  config ??= await pickConfig(`Config to export as a ${name} job`);
  if (!config) return;
  const out = (await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: `Export ${name} Job Here`,
    title: `Folder for the ${name} job (run.sh and its files)`, defaultUri: vscode.Uri.file(path.dirname(config)),
  }))?.[0]?.fsPath;
  if (!out) return;
  let job: { command: string; warnings: string[]; files: string[] };
  try {
    const schema = loadSchema(POLICY_SCHEMA_FILE, ctx.layout.schemasDir);
    const opts = { configFile: config, schema, outDir: out };
    job = engine === 'verl' ? exportVerlJob(opts) : exportOpenRlhfJob(opts);
  } catch (e) {
    if (!(e instanceof ExportError)) throw e;
    void vscode.window.showErrorMessage(`RLHF: cannot export as a ${name} job: ${e.message}`);
    return;
  }
  ctx.log.info(`exported ${config} as a ${name} job into ${out}: ${job.files.join(', ')}`);
  for (const w of job.warnings) ctx.log.warn(`${name} export: ${w}`);
  // run.sh holds the launch command with the warnings as comments
  const runSh = job.files.find((f) => path.basename(f) === 'run.sh');
  if (runSh) await vscode.window.showTextDocument(vscode.Uri.file(runSh), { preview: false });
  const summary = `RLHF: ${name} job written to ${out}; run it with run.sh on the cluster and watch it with "RLHF: Watch Run Folder...".`;
  if (!job.warnings.length) { void vscode.window.showInformationMessage(summary); return; }
  const pick = await vscode.window.showWarningMessage(`${summary} ${job.warnings.length} option(s) have no ${name} equivalent: ${job.warnings.join(' | ')}`, 'Show Warnings');
  if (pick) ctx.log.show(true);
}
