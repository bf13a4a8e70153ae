// "RLHF: New Training Config" (a preset, a model, a dataset and its keys -> a commented YAML file that
// validates) and "RLHF: Validate Config".
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PRESETS, guessKeys, jsonlKeys, renderPreset } from '../core/presets';
import { formatProblem } from '../core/configCheck';
import type { ConfigValidation } from './configValidation';
import type { Ctx } from './ctx';
import { cachedModels } from './pickers';

type Pick<T> = vscode.QuickPickItem & { value: T };

async function pickModel(): Promise<string | null | undefined> {
  const items: Pick<string | null>[] = [
    { label: '$(beaker) Embedded example model', description: 'tiny character-level model, built on first use; trains on a CPU', value: null },
    { label: '$(folder) Choose a model folder…', description: 'a save_pretrained folder', value: 'folder' },
    ...cachedModels().map((id) => ({ label: id, description: 'in the local Hugging Face cache', value: `hf:${id}` })),
  ];
  const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Model to train', matchOnDescription: true });
  if (!pick) return undefined;
  if (pick.value === 'folder') {
    const dir = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model' });
    return dir?.[0].fsPath;
  }
  return pick.value === null ? null : pick.value.slice(3);
}

async function pickDataset(): Promise<{ file: string; prompt: string; label: string | null } | null | undefined> {
  const pick = await vscode.window.showQuickPick<Pick<boolean>>([
    { label: '$(beaker) Embedded example prompts', description: 'a+b= with answers', value: false },
    { label: '$(file) Choose a JSONL file…', value: true }], { placeHolder: 'Prompts to train on' });
  if (!pick) return undefined;
  if (!pick.value) return null;
  const file = (await vscode.window.showOpenDialog({ filters: { 'JSON Lines': ['jsonl'] }, canSelectMany: false, openLabel: 'Use these prompts' }))?.[0].fsPath;
  if (!file) return undefined;
  const keys = jsonlKeys(file);
  if (!keys.length) { void vscode.window.showErrorMessage(`RLHF: ${file}: no JSON object with text fields in its first rows; each line must be {"prompt": "...", ...}.`); return undefined; }
  const guess = guessKeys(keys);
  const first = <T extends string | null>(list: T[], g: T | undefined) => (g !== undefined && list.includes(g) ? [g, ...list.filter((k) => k !== g)] : list);
  const prompt = (await vscode.window.showQuickPick(first(keys, guess.prompt), { placeHolder: `Field holding the prompt (${path.basename(file)})` }));
  if (!prompt) return undefined;
  const labelItems = first<string | null>([...keys.filter((k) => k !== prompt), null], guess.label).map((k) => ({ label: k ?? '(no label)', value: k }));
  const label = await vscode.window.showQuickPick(labelItems, { placeHolder: 'Field holding the reference answer (the reward rules compare with it)' });
  if (!label) return undefined;
  return { file, prompt, label: label.value };
}

export async function newConfig(ctx: Ctx): Promise<void> {
  const preset = (await vscode.window.showQuickPick(PRESETS.map((p) => ({ label: p.name, detail: p.summary, p })), { placeHolder: 'Preset', matchOnDetail: true }))?.p;
  if (!preset) return;
  const model = await pickModel();
  if (model === undefined) return;
  const data = await pickDataset();
  if (data === undefined) return;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
  let name = `${preset.name}.yaml`;
  for (let i = 2; fs.existsSync(path.join(folder, name)); i++) name = `${preset.name}-${i}.yaml`;
  const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(folder, name)), filters: { 'Run config': ['yaml'] } });
  if (!target) return;
  const text = renderPreset(preset, { root: ctx.layout.root, model: model ?? undefined, data: data?.file, promptKey: data?.prompt,
    labelKey: data ? data.label : undefined, outFile: target.fsPath });
  fs.writeFileSync(target.fsPath, text);
  ctx.log.info(`wrote ${target.fsPath} from preset ${preset.name}`);
  await vscode.window.showTextDocument(target);
}

/** Validates a config with the trainer; the problems also appear in the editor. */
export async function validateConfigCommand(ctx: Ctx, validation: ConfigValidation, file: string | undefined): Promise<void> {
  if (!file) return;
  const doc = await vscode.workspace.openTextDocument(file);
  if (!ctx.trusted) { void vscode.window.showWarningMessage('RLHF: validating a config runs the trainer and reads the reward code: trust the workspace first.'); return; }
  const problems = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RLHF: validating ${path.basename(file)}…` },
    () => validation.validate(doc));
  if (problems === undefined) {
    void vscode.window.showWarningMessage(`RLHF: ${path.basename(file)} was not checked by the trainer: fix the problems shown in the editor first, or see the RLHF Studio output.`);
  } else if (!problems.length) {
    void vscode.window.showInformationMessage(`RLHF: ${path.basename(file)} is valid.`);
  } else {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more, each shown at its line)` : '';
    const action = await vscode.window.showErrorMessage(`RLHF: ${formatProblem(path.basename(file), problems[0])}${more}`, 'Show');
    if (action) {
      const editor = await vscode.window.showTextDocument(doc);
      const line = Math.max((problems[0].line ?? 1) - 1, 0);
      editor.selection = new vscode.Selection(line, 0, line, 0);
      editor.revealRange(new vscode.Range(line, 0, line, 0));
    }
  }
}
