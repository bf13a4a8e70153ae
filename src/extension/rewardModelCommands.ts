// Reward models in the editor: "Train Reward Model" (palette, and the sample browser's button: its run's
// labels exported, then a reward-model run started like any run) and "Use as Reward Model" (on a
// reward-model run or one of its checkpoints: a `reward_model` source added to a config the user picks,
// comments kept). The logic is in core/rewardModel.ts; this file asks and shows. Registered in commands.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Labels } from '../core/samples/labels';
import { ConfigSchemas, RM_SCHEMA_FILE, RewardModelError, addRewardModelSource, isRewardModelConfig, isRewardModelRun, rewardModelOf,
  startRewardModelTraining } from '../core/rewardModel';
import { embeddedExample } from '../core/presets';
import { StartError } from '../core/training';
import type { Ctx } from './ctx';
import { launchRun } from './launch';
import { cachedModels, isCheckpointNode, pickConfig, refuseUntrusted, runIdOf } from './pickers';
import { LABELS_FILE } from '../core/run/names';
import { readRunConfig } from '../core/run/config';

const PREFERENCES = 'preferences.jsonl';

type Item<T> = vscode.QuickPickItem & { value: T };

/** The run a command was given: a Runs view node, a run id, or `{runDir}` from the sample browser. */
function runDirOf(ctx: Ctx, arg: unknown): string | undefined {
  if (arg && typeof arg === 'object' && 'runDir' in arg && typeof arg.runDir === 'string' && !isCheckpointNode(arg)) return arg.runDir;
  const id = runIdOf(arg);
  return id ? ctx.runDir(id) : undefined;
}

/** Writes a run's labels as RUN/preferences.jsonl; undefined (and says why) when there is no pair to train on. */
function exportLabels(runDir: string): string | undefined {
  const file = path.join(runDir, PREFERENCES);
  const n = new Labels(runDir).export(file);
  if (n > 0) return file;
  void vscode.window.showInformationMessage(`RLHF: ${path.basename(runDir)} has no preference pair yet: prefer one response over another of the same prompt `
    + '(or mark one good and one bad) in the sample browser first.');
  return undefined;
}

/** The preference file: the run's labels (from the sample browser), else a pick with the current run's exported preferences first. */
async function pickPreferences(ctx: Ctx, arg: unknown): Promise<string | undefined> {
  const given = runDirOf(ctx, arg);
  if (given) return exportLabels(given);
  const runs = ctx.runs().filter((r) => fs.existsSync(path.join(r.dir, PREFERENCES)) || fs.existsSync(path.join(r.dir, LABELS_FILE)));
  runs.sort((a, b) => Number(b.id === ctx.activeRun) - Number(a.id === ctx.activeRun)); // the current run first: the default
  const items: Item<string | { run: string } | null>[] = [
    ...runs.map((r) => ({ label: `${r.id}/${PREFERENCES}`, description: fs.existsSync(path.join(r.dir, PREFERENCES)) ? 'exported preferences' : 'export the run\'s labels now',
      value: fs.existsSync(path.join(r.dir, PREFERENCES)) ? path.join(r.dir, PREFERENCES) : { run: r.dir } })),
    { label: '$(file) Choose a JSONL file…', description: 'prompt/chosen/rejected pairs (OpenRLHF / TRL format)', value: null },
  ];
  const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { placeHolder: 'Preference pairs to train the reward model on' });
  if (!pick) return undefined;
  if (pick.value === null) {
    return (await vscode.window.showOpenDialog({ filters: { 'JSON Lines': ['jsonl'] }, canSelectMany: false, openLabel: 'Train on these pairs' }))?.[0].fsPath;
  }
  return typeof pick.value === 'string' ? pick.value : exportLabels(pick.value.run);
}

/** The base model: the labelled run's policy first (when known), the embedded example, a folder, or the local Hugging Face cache. */
async function pickBaseModel(ctx: Ctx, runDir: string | undefined): Promise<{ model: string; embedded: boolean } | undefined> {
  const embedded = embeddedExample(ctx.layout.root).model;
  const policy = runDir && policyOf(runDir);
  const items: Item<string>[] = [
    ...(policy ? [{ label: `$(history) ${path.basename(policy)}`, description: `the policy model of ${path.basename(runDir)}`, value: policy }] : []),
    { label: '$(beaker) Embedded example model', description: 'tiny character-level model, built on first use; trains on a CPU', value: embedded },
    { label: '$(folder) Choose a model folder…', description: 'a causal LM or sequence-classification save_pretrained folder', value: '' },
    ...cachedModels().map((id) => ({ label: id, description: 'in the local Hugging Face cache', value: id })),
  ];
  const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Base model of the reward model (a scalar head is added)', matchOnDescription: true });
  if (!pick) return undefined;
  if (pick.value) return { model: pick.value, embedded: pick.value === embedded };
  const dir = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model' }))?.[0].fsPath;
  return dir ? { model: dir, embedded: false } : undefined;
}

/** A run's policy model (its resolved config.yaml `model.policy`), when it names one. */
function policyOf(runDir: string): string | undefined {
  try { const p = readRunConfig(runDir)?.model?.policy; return typeof p === 'string' && p ? p : undefined; } catch { return undefined; }
}

export async function trainRewardModel(ctx: Ctx, schemas: ConfigSchemas, arg: unknown): Promise<void> {
  if (refuseUntrusted(ctx, 'Training a reward model') || !ctx.runsDir) return;
  const data = await pickPreferences(ctx, arg);
  if (!data) return;
  const base = await pickBaseModel(ctx, runDirOf(ctx, arg) ?? (ctx.activeRun ? ctx.runDir(ctx.activeRun) : undefined));
  if (!base) return;
  const opts = { model: base.model, data, createIfMissing: base.embedded ? 'arithmetic' : undefined };
  ctx.log.info(`train reward model on ${data} from ${base.model}`);
  const start = (python: { path: string; origin?: string }) => startRewardModelTraining(schemas.get(RM_SCHEMA_FILE), opts,
    { python, layout: ctx.layout, runsDir: ctx.runsDir!, nodePath: ctx.config.nodePath, nproc: ctx.config.trainingProcesses })
    .then((r) => r.handle, (e: unknown) => { throw e instanceof RewardModelError ? new StartError(e.message) : e; });
  const go = (): Promise<void> => launchRun(ctx, start, go); // after a Python set-up: the same start again
  await go();
}

/** The reward model a command is about: a checkpoint of a reward-model run, or a finished reward-model run's model. */
function modelOf(ctx: Ctx, arg: unknown): { dir: string; name: string } | undefined {
  if (isCheckpointNode(arg)) {
    if (!isRewardModelRun(arg.runDir)) return undefined;
    return { dir: arg.checkpoint.dir, name: `${arg.runId.replace(/^\d{8}-\d{6}-/, '')}_step${arg.checkpoint.step}` };
  }
  const dir = runDirOf(ctx, arg);
  const model = dir && isRewardModelRun(dir) ? rewardModelOf(dir) : undefined;
  return model && dir ? { dir: model, name: path.basename(dir).replace(/^\d{8}-\d{6}-/, '') } : undefined;
}

/** Adds the reward model as a `reward_model` source of a policy config the user picks (or `target`), through the editor (undo keeps working). */
export async function useAsRewardModel(ctx: Ctx, arg: unknown, target: string | undefined): Promise<void> {
  const model = modelOf(ctx, arg);
  if (!model) {
    void vscode.window.showInformationMessage('RLHF: Use as Reward Model is for a finished reward-model run (rlhf train-rm, Train Reward Model) or one of its checkpoints.');
    return;
  }
  const file = target ?? await pickConfig('Policy config that gets this reward model as a reward source');
  if (!file) return;
  const doc = await vscode.workspace.openTextDocument(file);
  if (isRewardModelConfig(doc.getText())) { void vscode.window.showErrorMessage(`RLHF: ${path.basename(file)} trains a reward model; pick a policy run config.`); return; }
  let r: ReturnType<typeof addRewardModelSource>;
  try { r = addRewardModelSource(doc.getText(), file, model.dir, model.name); } catch (e) {
    if (!(e instanceof RewardModelError)) throw e;
    void vscode.window.showErrorMessage(`RLHF: ${e.message}`);
    return;
  }
  const editor = await vscode.window.showTextDocument(doc);
  if (!r.added) { void vscode.window.showInformationMessage(`RLHF: ${path.basename(file)} already scores with this model (source '${r.name}').`); return; }
  await editor.edit((b) => b.replace(new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), r.text));
  await doc.save();
  ctx.log.info(`added reward source ${r.name} (${model.dir}) to ${file}`);
  void vscode.window.showInformationMessage(`RLHF: added the reward source '${r.name}' (reward_model: ${model.dir}) to ${vscode.workspace.asRelativePath(file)}.`);
}
