// What the command modules share: the quick picks that choose a run, runs or a config, what a command's
// argument (a Runs view node, a run id) names, and the refusals (untrusted workspace, watched run). The
// command modules import these from here, never from each other (the layering is a lint rule, .dependency-cruiser.cjs).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { looksLikeRunConfig } from '../core/configDiagnostics';
import type { RunSummary } from '../core/run/runStore';
import type { Ctx } from './ctx';
import { pickItems } from './dashboard';
import type { WatchedRun } from './externalRuns';
import type { CheckpointNode } from './runsView';

/** A run id from a Runs view node, a run id, or nothing. */
export function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && 'run' in arg) return (arg as { run: RunSummary }).run.id;
  if (arg && typeof arg === 'object' && 'external' in arg) return (arg as { external: WatchedRun }).external.id;
  return undefined;
}

/**
 * The runs a command is about: a list given by another command (run folders or ids), the Runs
 * view's selection (VS Code passes the clicked node and the selected nodes), or one node.
 */
export function runRefsOf(arg: unknown, selection: unknown): string[] {
  if (Array.isArray(arg)) return arg.filter((a): a is string => typeof a === 'string');
  const picked = Array.isArray(selection) ? selection.map(runIdOf) : [runIdOf(arg)];
  return picked.filter((id): id is string => id !== undefined);
}

/** A checkpoint row of the Runs view (the argument of Resume From Here, Keep, Export, …). */
export const isCheckpointNode = (arg: unknown): arg is CheckpointNode => !!arg && typeof arg === 'object' && 'checkpoint' in arg && 'runDir' in arg;

export const isLive = (r: RunSummary) => r.alive;

/** The run a command is about: the one given, the only one that fits, the active live one (for `isLive`), else a pick. */
export async function pickRun(ctx: Ctx, arg: unknown, filter: (r: RunSummary) => boolean, placeHolder: string): Promise<string | undefined> {
  const given = runIdOf(arg);
  if (given) return given;
  const runs = ctx.runs().filter(filter);
  if (runs.length === 1) return runs[0].id;
  if (ctx.activeRun && runs.some((r) => r.id === ctx.activeRun) && filter === isLive) return ctx.activeRun;
  const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.id, description: `${r.status?.state ?? ''} step ${r.status?.step ?? 0}` })), { placeHolder });
  return pick?.label;
}

/** Several runs, picked (native and watched), `preselect` checked. */
export async function pickRuns(ctx: Ctx, placeHolder: string, preselect: string[]): Promise<string[] | undefined> {
  const items = pickItems(ctx).map((i) => ({ ...i, picked: preselect.includes(i.id) }));
  if (!items.length) { void vscode.window.showInformationMessage('RLHF: no runs yet. Start one with "RLHF: Start Training".'); return undefined; }
  return (await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder }))?.map((i) => i.id);
}

/** A run config of the workspace (found by its keys, the active YAML editor first), else one chosen from disk. */
export async function pickConfig(placeHolder = 'Run config to train with'): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/*.{yaml,yml}', '{**/node_modules/**,**/runs/**,**/.venv/**}', 200);
  // a run config by its keys, whatever its file name (arith-debug.yaml too)
  const configs = found.filter((u) => { try { return looksLikeRunConfig(fs.readFileSync(u.fsPath, 'utf8')); } catch { return false; } });
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && /\.ya?ml$/.test(active.fsPath) && !configs.some((c) => c.fsPath === active.fsPath)) configs.unshift(active);
  if (configs.length === 1) return configs[0].fsPath;
  const pick = await vscode.window.showQuickPick(configs.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
    { placeHolder });
  if (pick) return pick.uri.fsPath;
  if (!configs.length) {
    const file = await vscode.window.showOpenDialog({ filters: { 'Run config': ['yaml', 'yml'] }, canSelectMany: false });
    return file?.[0].fsPath;
  }
  return undefined;
}

/** Model ids in the local Hugging Face cache (`models--org--name` folders), as from_pretrained names them: the model picks offer them. */
export function cachedModels(env: NodeJS.ProcessEnv = process.env): string[] {
  const hub = env.HF_HUB_CACHE ?? path.join(env.HF_HOME ?? path.join(os.homedir(), '.cache', 'huggingface'), 'hub');
  try {
    return fs.readdirSync(hub).filter((n) => n.startsWith('models--')).map((n) => n.slice('models--'.length).split('--').join('/')).sort();
  } catch { return []; }
}

/** A watched run of another framework is read-only: Stop, Resume and the trainer log are not for it. */
export function refuseExternal(ctx: Ctx, id: string, what: string): boolean {
  const run = ctx.external.get(id);
  if (!run) return false;
  void vscode.window.showInformationMessage(`RLHF: ${id} is a ${run.framework} run watched read-only; it ${what} ${run.dir}.`);
  return true;
}

/** In an untrusted workspace, says that `what` would run the workspace's code and offers to manage trust; true: refused. */
export function refuseUntrusted(ctx: Ctx, what: string): boolean {
  if (ctx.trusted) return false;
  void vscode.window.showWarningMessage(
    `RLHF Studio: ${what} is disabled in an untrusted workspace: it would run the trainer and reward code from this folder. ` +
    'Trust the workspace (Workspaces: Manage Workspace Trust) to train; runs and charts stay viewable.', 'Manage Workspace Trust',
  ).then((pick) => { if (pick) void vscode.commands.executeCommand('workbench.trust.manage'); });
  return true;
}
