// The prompt dataset lenses' commands (datasetLens.ts draws the lenses and hovers): a hover's label link
// and a lens's "Show history". Registered in commands.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Verdict } from '../core/samples/labels';
import type { SampleKind } from '../core/samples/promptLenses';
import { historyUri, type DatasetLens } from './datasetLens';

/** A hover's "good · bad · clear" link: labels a training response in its run's labels.jsonl (as the sample browser does); trusted workspaces only. */
export function labelSample(lens: DatasetLens, run: unknown, row: unknown, verdict: unknown): void {
  if (!vscode.workspace.isTrusted || typeof run !== 'string' || !Number.isInteger(row) || !['good', 'bad', 'none'].includes(verdict as string)) return;
  const v = verdict as Verdict;
  const done = lens.lenses.label(run, row as number, v);
  void vscode.window.showInformationMessage(done ? `RLHF: ${v === 'none' ? 'label cleared' : `marked ${v}`} in ${path.basename(run)}/labels.jsonl (Export Preference Dataset pairs good with bad of one prompt).`
    : `RLHF: that sample is no longer in ${path.basename(run)}.`);
}

/** A lens's "Show history": a diff of the dataset line's responses at its first and its last sampled step. */
export async function showPromptHistory(lens: DatasetLens, run: string, file: string, line: number, kind: SampleKind = 'train'): Promise<void> {
  const h = lens.lenses.index(run, kind).historyOf(file, line);
  const what = kind === 'eval' ? 'eval samples' : 'samples';
  if (!h) { void vscode.window.showInformationMessage(`RLHF: no ${what} of ${path.basename(file)}:${line} in ${path.basename(run)}`); return; }
  const uri = (which: 'first' | 'last', step: number) => historyUri({ run, file, line, which, kind }, step);
  await vscode.commands.executeCommand('vscode.diff', uri('first', h.firstStep), uri('last', h.lastStep),
    `${path.basename(file)}:${line}: ${kind === 'eval' ? 'eval ' : ''}step ${h.firstStep} ↔ step ${h.lastStep}`);
}
