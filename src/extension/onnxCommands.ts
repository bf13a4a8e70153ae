// ONNX in the editor: "Export as ONNX" on a checkpoint of the Runs view, and "RLHF: Try Checkpoint"
// (the playground), which exports what it runs when it has no export yet. The exporter is the
// trainer's (`python -m rlhf_trainer.onnx_export`, what `rlhf export --format onnx` runs). Export as
// ONNX writes into the checkpoint folder (only onnx/ is added: the user asked for it there, and `rlhf
// try CHECKPOINT` finds it); the playground's own exports go to the extension's global storage
// (onnx-cache/), never into a run folder (docs/onnx.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkpointInfos } from '../core/run/checkpoints';
import { exportOnnx } from '../core/onnx/exportOnnx';
import { onnxGraphPath } from '../core/onnx/model';
import { cachedChoice, exportCacheDir, runChoices } from '../core/onnx/playgroundRun';
import { exportName, type PlaygroundChoice } from '../sessions/playgroundSession';
import type { Ctx } from './ctx';
import { isCheckpointNode } from './pickers';
import { PlaygroundPanel } from './playground';

/** Exports `source` into `out` with the trainer's exporter, in a cancellable progress notification; resolves to whether it succeeded. */
export async function exportWithProgress(ctx: Ctx, source: string, out: string, what: string, int8: boolean,
  report?: (message: string) => void, signal?: AbortSignal): Promise<boolean> {
  if (!ctx.trusted) {
    void vscode.window.showWarningMessage(`RLHF: exporting ${what} to ONNX runs the trainer's Python: trust the workspace first.`);
    return false;
  }
  const python = await ctx.interpreters.resolve();
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RLHF: exporting ${what} to ONNX`, cancellable: true },
    async (progress, token) => {
      const ctl = new AbortController();
      token.onCancellationRequested(() => ctl.abort());
      signal?.addEventListener('abort', () => ctl.abort());
      try {
        await exportOnnx({ python: python.path, layout: ctx.layout, checkpoint: source, out, int8, signal: ctl.signal,
          onProgress: (message) => { progress.report({ message }); report?.(message); } });
        return true;
      } catch (e) {
        const why = (e as Error).message;
        if (ctl.signal.aborted) { // cancelled from the notification, or its playground was closed: nothing failed
          ctx.log.info(`ONNX export of ${source}: cancelled`);
          return false;
        }
        ctx.log.error(`ONNX export of ${source}: ${why}`);
        void vscode.window.showErrorMessage(`RLHF: cannot export ${what} to ONNX: ${why}`);
        return false;
      }
    });
}

/** Checkpoints view: Export as ONNX (fp32, or fp32 and int8) into the checkpoint folder. */
export async function exportCheckpointOnnx(ctx: Ctx, arg: unknown): Promise<void> {
  if (!isCheckpointNode(arg)) { void vscode.window.showInformationMessage('RLHF: pick a checkpoint under a run in the Runs view (expand the run).'); return; }
  const c = arg.checkpoint;
  const pick = await vscode.window.showQuickPick([
    { label: 'fp32', description: 'onnx/model.onnx', int8: false },
    { label: 'fp32 + int8', description: 'also onnx/model_quantized.onnx (dynamic quantisation: about 3x smaller, faster on CPU)', int8: true },
  ], { placeHolder: `Export step ${c.step} of ${arg.runId} to ONNX (into ${path.join(path.basename(c.dir), 'onnx')})` });
  if (!pick) return;
  if (!await exportWithProgress(ctx, c.dir, c.dir, `step ${c.step} of ${arg.runId}`, pick.int8)) return;
  ctx.refresh();
  const go = await vscode.window.showInformationMessage(`RLHF: exported step ${c.step} to ${path.join(c.dir, 'onnx')} (rlhf try ${c.dir}).`, 'Try It');
  if (go) void vscode.commands.executeCommand('rlhf.tryCheckpoint', arg);
}

/** Where the playground exports a model that has no ONNX export: the extension's global storage, outside every run folder. */
export function onnxCacheRoot(ctx: Ctx): string {
  return path.join(ctx.ext.globalStorageUri.fsPath, 'onnx-cache');
}

interface Target { runDir?: string; runId?: string; selected: string; choices: PlaygroundChoice[] }

const BROWSE = 'Choose an ONNX Export Folder…';

/** What to open: the checkpoint node given, an ONNX folder (explorer), or a pick among every run's checkpoints. */
async function pickTarget(ctx: Ctx, arg: unknown): Promise<Target | undefined> {
  if (isCheckpointNode(arg)) return runTarget(ctx, arg.runDir, arg.runId, arg.checkpoint.dir);
  let folder = arg instanceof vscode.Uri ? arg.fsPath : undefined;
  if (!folder) {
    const cache = onnxCacheRoot(ctx);
    const items = ctx.runs().flatMap((r) => checkpointInfos(r.dir).reverse().map((c) => ({ label: `${r.id} step ${c.step}`,
      description: onnxGraphPath(c.dir) || onnxGraphPath(exportCacheDir(cache, c.dir)) ? 'ONNX exported' : 'exports to ONNX first', run: r, dir: c.dir })));
    const pick = await vscode.window.showQuickPick([...items, { label: BROWSE, description: 'a folder written by rlhf export --format onnx' }],
      { placeHolder: 'Checkpoint to try' });
    if (!pick) return undefined;
    if ('run' in pick) return runTarget(ctx, pick.run.dir, pick.run.id, pick.dir);
    folder = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Try This Export' }))?.[0]?.fsPath;
    if (!folder) return undefined;
  }
  if (!onnxGraphPath(folder) && !fs.existsSync(path.join(folder, 'config.json'))) {
    void vscode.window.showErrorMessage(`RLHF: ${folder} is neither an ONNX export (onnx/model.onnx) nor a checkpoint (config.json).`);
    return undefined;
  }
  // a model folder without an export is exported into the cache, not into the folder
  return { selected: folder, choices: [cachedChoice(onnxCacheRoot(ctx), folder, folder, path.basename(folder))] };
}

function runTarget(ctx: Ctx, runDir: string, runId: string, selected: string): Target {
  return { runDir, runId, selected, choices: runChoices(runDir, runId, onnxCacheRoot(ctx)) };
}

/** RLHF: Try Checkpoint — the playground on a checkpoint, next to the run's initial policy. */
export async function tryCheckpoint(ctx: Ctx, arg: unknown): Promise<void> {
  const t = await pickTarget(ctx, arg);
  if (!t) return;
  const second = t.choices.find((c) => c.initial && c.id !== t.selected)?.id ?? null; // the initial policy, side by side
  PlaygroundPanel.show(ctx, {
    runDir: t.runDir, title: t.runId ? `${t.runId}` : path.basename(t.selected), choices: t.choices, selected: [t.selected, second],
    prepare: async (choice, status, signal) => {
      const ok = await exportWithProgress(ctx, choice.source ?? choice.dir, choice.dir, exportName(choice), false, status, signal);
      if (!ok) throw new Error(signal?.aborted ? 'the export was cancelled' : ctx.trusted ? 'the ONNX export failed (see the notification and the RLHF Studio log)' : 'exporting needs a trusted workspace');
      ctx.refresh();
    },
  });
}
