// The host half of the dashboard's exports: the webview sends a chart, the dashboard or the metrics
// ({type: 'export'}, validated by protocol.ts), and this saves it where the user picks.
import * as vscode from 'vscode';
import type { ExportFormat, ExportMessage } from '../../webview/dashboard/protocol';

const FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] }, svg: { 'SVG image': ['svg'] }, csv: { 'CSV table': ['csv'] },
};

/** The bytes to write: a PNG's data URL decoded, SVG and CSV as UTF-8. */
export function exportBytes(m: ExportMessage): Uint8Array {
  if (m.format === 'png') return Buffer.from(m.data.slice(m.data.indexOf(',') + 1), 'base64');
  return Buffer.from(m.data, 'utf8');
}

/**
 * Asks where to save (defaulting to `folder`/name, e.g. the run folder) and writes the file; says
 * where it went, or one line of why it could not. Returns the saved file, or undefined.
 */
export async function saveExport(m: ExportMessage, folder: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  const defaultUri = folder ? vscode.Uri.joinPath(folder, m.name) : undefined;
  const target = await vscode.window.showSaveDialog({ defaultUri, filters: FILTERS[m.format], title: `Export ${m.name}` });
  if (!target) return undefined;
  try {
    await vscode.workspace.fs.writeFile(target, exportBytes(m));
  } catch (e) {
    void vscode.window.showErrorMessage(`RLHF: could not write ${target.fsPath}: ${(e as Error).message}. Pick another folder.`);
    return undefined;
  }
  void vscode.window.showInformationMessage(`RLHF: exported ${target.fsPath}`);
  return target;
}
