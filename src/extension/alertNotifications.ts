// A notification for each new alert of a watched run (which ones: src/core/alertNotices.ts), with
// *Show samples*: the sample browser at the alert's step, filtered as the alert says (a stall's step has no
// samples yet: it offers the trainer's log instead).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AlertNotice } from '../core/alertNotices';
import type { Ctx } from './ctx';
import { SamplesPanel } from './samplesPanel';
import { SAMPLES_FILE } from '../core/run/names';

const SHOW_SAMPLES = 'Show samples';
const SHOW_LOG = 'Show log';

export function registerAlertNotifications(ctx: Ctx): vscode.Disposable {
  return ctx.onDidAlert(({ notices, more }) => {
    for (const n of notices) void notify(ctx, n);
    if (more) void vscode.window.showWarningMessage(`RLHF: ${more} more alert(s); the dashboard lists them all.`);
  });
}

async function notify(ctx: Ctx, n: AlertNotice): Promise<void> {
  ctx.log.warn(n.text);
  const dir = ctx.runDir(n.runId);
  const samples = n.alert.kind !== 'stalled' && !!dir;
  const choice = await vscode.window.showWarningMessage(n.text, samples ? SHOW_SAMPLES : SHOW_LOG);
  if (choice === SHOW_LOG) { void vscode.commands.executeCommand('rlhf.showTrainerLog', n.runId); return; }
  if (choice !== SHOW_SAMPLES || !dir) return;
  if (!fs.existsSync(path.join(dir, SAMPLES_FILE))) {
    void vscode.window.showInformationMessage(`RLHF: ${n.runId} has no samples.jsonl to browse (logging.samples_per_step: 0?).`);
    return;
  }
  SamplesPanel.show(ctx, dir, { step: n.step, filter: n.filter });
}
