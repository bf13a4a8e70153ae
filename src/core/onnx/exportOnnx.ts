// Runs the trainer's ONNX exporter (`python -m rlhf_trainer.onnx_export`, what `rlhf export --format
// onnx` runs) with its `export: ...` stdout lines reported as they come, for the editor's progress
// notifications; runTrainerModule only returns the output at the end.
import { spawn } from 'node:child_process';
import { layoutEnv, type InstallLayout } from '../training';
import { chooseNode, type NodeCommand } from '../trainerEnv';

export interface OnnxExportRequest {
  python: string;
  layout: InstallLayout;
  checkpoint: string;
  /** The folder to write; the checkpoint itself exports in place (only onnx/ is added). */
  out: string;
  int8?: boolean;
  node?: NodeCommand;
  /** Each `export: ...` line, without the prefix. */
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

export class OnnxExportError extends Error {}

/** Resolves when the export is written; rejects with the exporter's one-line reason (an unsupported architecture, …). */
export function exportOnnx(r: OnnxExportRequest): Promise<void> {
  const args = ['-m', 'rlhf_trainer.onnx_export', r.checkpoint, '-o', r.out, ...(r.int8 ? ['--int8'] : [])];
  return new Promise((resolve, reject) => {
    const proc = spawn(r.python, args, { env: layoutEnv(r.layout, r.node ?? chooseNode()), stdio: ['ignore', 'pipe', 'pipe'], signal: r.signal });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('export: ')) r.onProgress?.(l.slice('export: '.length));
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-16_384); });
    proc.on('error', (e) => reject(new OnnxExportError(e.name === 'AbortError' ? 'export cancelled' : `cannot run ${r.python}: ${e.message}`)));
    proc.on('close', (code) => {
      if (code === 0) { resolve(); return; }
      if (r.signal?.aborted) return; // reported by 'error'
      const why = stderr.trim().split('\n').filter(Boolean).pop()?.replace(/^error: /, '') ?? `the exporter exited with code ${code}`;
      reject(new OnnxExportError(why));
    });
  });
}
