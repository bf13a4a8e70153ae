// The Checkpoints view's actions (on a checkpoint under its run in the Runs view) and "Save Checkpoint Now".
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import YAML from 'yaml';
import { checkpointConfig, deleteCheckpoint, setKept } from '../core/run/checkpoints';
import { requestCheckpoint } from '../core/run/control';
import { sendControl } from '../core/launcher';
import { runTrainerModule } from '../core/training';
import type { Ctx } from './ctx';
import { isCheckpointNode } from './pickers';
import type { CheckpointNode, RemoteCheckpointNode } from './runsView';
import { downloadRayCheckpoint, RayError } from '../core/launch/ray';

function need(arg: unknown): CheckpointNode | undefined {
  if (isCheckpointNode(arg)) return arg;
  void vscode.window.showInformationMessage('RLHF: pick a checkpoint under a run in the Runs view (expand the run).');
  return undefined;
}

export function openCheckpointFolder(arg: unknown): void {
  const node = need(arg);
  if (node) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(node.checkpoint.dir));
}

export function keepCheckpoint(ctx: Ctx, arg: unknown, keep: boolean): void {
  const node = need(arg);
  if (!node) return;
  try { setKept(node.checkpoint.dir, keep); } catch (e) {
    void vscode.window.showErrorMessage(`RLHF: cannot ${keep ? 'keep' : 'release'} ${node.checkpoint.dir}: ${(e as Error).message}`);
    return;
  }
  ctx.refresh();
}

export async function deleteCheckpointCommand(ctx: Ctx, arg: unknown): Promise<void> {
  const node = need(arg);
  if (!node) return;
  const c = node.checkpoint;
  const ok = await vscode.window.showWarningMessage(`Delete checkpoint step ${c.step} of ${node.runId}?${c.kept ? ' It is marked Keep.' : ''}`,
    { modal: true, detail: `${c.dir} is removed from disk; it cannot be resumed or exported afterwards.` }, 'Delete');
  if (ok !== 'Delete') return;
  try { deleteCheckpoint(c.dir); } catch (e) {
    void vscode.window.showErrorMessage(`RLHF: cannot delete ${c.dir}: ${(e as Error).message}`);
  }
  ctx.refresh();
}

/** A diff editor: the config the checkpoint was trained with (left) and the config file chosen now (right). */
export async function compareCheckpointConfig(arg: unknown, pickConfig: () => Promise<string | undefined>): Promise<void> {
  const node = need(arg);
  if (!node) return;
  const saved = checkpointConfig(node.checkpoint.dir);
  if (!saved) { void vscode.window.showErrorMessage(`RLHF: ${node.checkpoint.dir} has no resume.json and its run no config.yaml: nothing to compare.`); return; }
  const current = await pickConfig();
  if (!current) return;
  let left: vscode.Uri;
  if ('file' in saved) left = vscode.Uri.file(saved.file);
  else {
    // written as YAML in the temp folder: the diff compares like with like, key by key
    const file = path.join(os.tmpdir(), `rlhf-${node.runId}-step-${node.checkpoint.step}.config.yaml`);
    fs.writeFileSync(file, YAML.stringify(saved.config));
    left = vscode.Uri.file(file);
  }
  await vscode.commands.executeCommand('vscode.diff', left, vscode.Uri.file(current), `${node.runId} step ${node.checkpoint.step} ↔ ${path.basename(current)}`);
}

export async function exportCheckpointHf(ctx: Ctx, arg: unknown): Promise<void> {
  const node = need(arg);
  if (!node) return;
  if (!ctx.trusted) { void vscode.window.showWarningMessage('RLHF: exporting runs the trainer\'s Python: trust the workspace first.'); return; }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(node.runDir);
  const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(folder, 'exports', `${node.runId}-step-${node.checkpoint.step}`)),
    saveLabel: 'Export Here', title: 'Folder for the Hugging Face model (created)' });
  if (!target) return;
  const python = await ctx.interpreters.resolve();
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RLHF: exporting step ${node.checkpoint.step}…` },
    () => runTrainerModule(python.path, ctx.layout, 'rlhf_trainer.export_hf', [node.checkpoint.dir, '-o', target.fsPath]));
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').filter(Boolean).pop()?.replace(/^error: /, '') ?? `exit code ${r.code}`;
    ctx.log.error(`export ${node.checkpoint.dir}: ${r.stderr}`);
    void vscode.window.showErrorMessage(`RLHF: export failed: ${why}`);
    return;
  }
  const open = await vscode.window.showInformationMessage(`RLHF: exported to ${target.fsPath} (loads with AutoModelForCausalLM.from_pretrained).`, 'Open Model Card');
  if (open) void vscode.window.showTextDocument(vscode.Uri.file(path.join(target.fsPath, 'README.md')));
}

/**
 * Asks a live run to checkpoint after its current step: through the trainer's stdin when this window started it,
 * else through a request file in its run folder (core/run/control.ts), which works for a run started by another
 * window or the CLI. Says where the checkpoint landed once its event arrives.
 */
export async function saveCheckpointNow(ctx: Ctx, id: string | undefined): Promise<void> {
  if (!id) { void vscode.window.showInformationMessage('RLHF: no training run is active.'); return; }
  if (sendControl(ctx.handles.get(id), { type: 'save' })) {
    void vscode.window.showInformationMessage(`RLHF: ${id} will save a checkpoint after its current step.`);
    return;
  }
  const runDir = ctx.runDir(id);
  if (!runDir) return;
  try {
    const e = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RLHF: ${id}: checkpoint requested, saved after the current step…` },
      () => requestCheckpoint(runDir));
    ctx.refresh();
    void vscode.window.showInformationMessage(`RLHF: ${id} saved a checkpoint at step ${e.step}.`);
  } catch (err) {
    void vscode.window.showWarningMessage(`RLHF: ${(err as Error).message}`);
  }
}

const isRemoteCheckpointNode = (x: unknown): x is RemoteCheckpointNode =>
  typeof x === 'object' && x !== null && 'remote' in x && typeof (x as RemoteCheckpointNode).runDir === 'string'
  && typeof (x as RemoteCheckpointNode).remote?.step === 'number';

/** Download Checkpoint: a Ray run's checkpoint from the cluster's storage into RUN/checkpoints/step-N (a small Ray job; `rlhf download`). */
export async function downloadCheckpoint(ctx: Ctx, arg: unknown): Promise<void> {
  if (!isRemoteCheckpointNode(arg)) { void vscode.window.showInformationMessage('RLHF: pick a checkpoint marked "on the cluster" under a Ray run in the Runs view.'); return; }
  // it submits a job to the run's cluster: a trusted workspace's action only
  if (!ctx.trusted) { void vscode.window.showWarningMessage('RLHF: downloading submits a Ray job to the run\'s cluster: trust the workspace first.'); return; }
  try {
    const local = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RLHF: downloading step ${arg.remote.step} of ${arg.runId}` },
      (progress) => downloadRayCheckpoint(arg.runDir, ctx.layout, arg.remote.step, (stage) => progress.report({ message: stage })));
    ctx.refresh();
    void vscode.window.showInformationMessage(`RLHF: checkpoint downloaded to ${local}.`);
  } catch (e) {
    const message = e instanceof RayError ? e.message : (e as Error).message;
    ctx.log.error(`download ${arg.runId} step ${arg.remote.step}: ${message}`);
    void vscode.window.showErrorMessage(`RLHF: download failed: ${message}`);
  }
}
