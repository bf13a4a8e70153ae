// Every command of the extension is registered here and nowhere else (rust-analyzer style: plain functions over
// the context). The bodies live in the command modules (*Commands.ts), which share pickers.ts and never import
// one another; views never import a command module (.dependency-cruiser.cjs, the extension-* rules).
import * as vscode from 'vscode';
import { ConfigSchemas } from '../core/rewardModel';
import { compareCheckpointConfig, deleteCheckpointCommand, downloadCheckpoint, exportCheckpointHf, keepCheckpoint, openCheckpointFolder,
  saveCheckpointNow } from './checkpointCommands';
import { compareEstimators } from './compareCommand';
import { newConfig, validateConfigCommand } from './configCommands';
import type { ConfigValidation } from './configValidation';
import type { Ctx } from './ctx';
import { labelSample, showPromptHistory } from './datasetCommands';
import type { DatasetLens } from './datasetLens';
import type { SampleKind } from '../core/samples/promptLenses';
import { exportJob, unwatchRun, watchRunFolder } from './externalCommands';
import { exportCheckpointOnnx, tryCheckpoint } from './onnxCommands';
import { isLive, pickConfig, pickRun, refuseUntrusted } from './pickers';
import { trainRewardModel, useAsRewardModel } from './rewardModelCommands';
import type { RewardsUi } from './rewardsUi';
import { addNoteCommand, configDiffRunsCommand, editTagsCommand, filterRunsByTagCommand, overlayRunsCommand } from './runCommands';
import { exportPreferences, openDashboard, openRunFolder, openSampleBrowser, resumeFromCheckpoint, showTrainerLog, startRun,
  stopTraining } from './trainingCommands';

/** What some commands act through: the reward rules' UI, the config validation, the prompt dataset lenses. */
export interface CommandServices { rewards: RewardsUi; validation: ConfigValidation; datasetLens: DatasetLens }

export function registerCommands(ctx: Ctx, { rewards, validation, datasetLens }: CommandServices): void {
  const reg = (id: string, fn: (...a: unknown[]) => unknown) => ctx.ext.subscriptions.push(vscode.commands.registerCommand(id, fn));
  const fsPathOf = (uri: unknown) => uri instanceof vscode.Uri ? uri.fsPath : undefined;
  // runs: start, stop, resume, open
  reg('rlhf.startTraining', (uri) => startRun(ctx, fsPathOf(uri)));
  reg('rlhf.stopTraining', (arg) => stopTraining(ctx, arg));
  reg('rlhf.openDashboard', (arg) => openDashboard(ctx, arg));
  reg('rlhf.resumeFromCheckpoint', (arg) => resumeFromCheckpoint(ctx, arg));
  reg('rlhf.resumeFromHere', (arg) => resumeFromCheckpoint(ctx, arg));
  reg('rlhf.openRunFolder', (arg) => openRunFolder(ctx, arg));
  reg('rlhf.showTrainerLog', (arg) => showTrainerLog(ctx, arg));
  reg('rlhf.refreshRuns', () => ctx.refresh());
  reg('rlhf.openSampleBrowser', (arg, step) => openSampleBrowser(ctx, arg, typeof step === 'number' ? step : undefined));
  reg('rlhf.exportPreferences', (arg) => exportPreferences(ctx, arg));
  // the Python environment
  reg('rlhf.setUpPython', () => !refuseUntrusted(ctx, 'Setting up the Python environment') && ctx.interpreters.setUp(ctx.layout.requirements));
  reg('rlhf.selectInterpreter', () => !refuseUntrusted(ctx, 'Choosing the trainer interpreter') && ctx.interpreters.select());
  // reward rules and configs
  reg('rlhf.testRules', (uri) => rewards.test(uri instanceof vscode.Uri ? uri : undefined));
  reg('rlhf.newRewardRules', () => rewards.scaffold());
  reg('rlhf.showRewardReport', () => rewards.showReport());
  reg('rlhf.newConfig', () => newConfig(ctx));
  reg('rlhf.validateConfig', async (uri) => validateConfigCommand(ctx, validation, uri instanceof vscode.Uri ? uri.fsPath : await pickConfig('Run config to validate')));
  reg('rlhf.compareEstimators', () => compareEstimators(ctx, () => pickConfig('Config to train with each estimator')));
  // checkpoints
  reg('rlhf.saveCheckpointNow', async (arg) => saveCheckpointNow(ctx, await pickRun(ctx, arg, isLive, 'Run to checkpoint now')));
  reg('rlhf.openCheckpointFolder', (arg) => openCheckpointFolder(arg));
  reg('rlhf.keepCheckpoint', (arg) => keepCheckpoint(ctx, arg, true));
  reg('rlhf.unkeepCheckpoint', (arg) => keepCheckpoint(ctx, arg, false));
  reg('rlhf.deleteCheckpoint', (arg) => deleteCheckpointCommand(ctx, arg));
  reg('rlhf.compareCheckpointConfig', (arg) => compareCheckpointConfig(arg, () => pickConfig('Current config to compare with')));
  reg('rlhf.exportCheckpointHf', (arg) => exportCheckpointHf(ctx, arg));
  reg('rlhf.downloadCheckpoint', (arg) => downloadCheckpoint(ctx, arg));
  reg('rlhf.exportCheckpointOnnx', (arg) => exportCheckpointOnnx(ctx, arg));
  reg('rlhf.tryCheckpoint', (arg) => tryCheckpoint(ctx, arg));
  // over runs of the Runs view: overlay, config diff, notes, tags
  reg('rlhf.overlayRuns', (arg, selection) => overlayRunsCommand(ctx, arg, selection));
  reg('rlhf.configDiffRuns', (arg, selection) => configDiffRunsCommand(ctx, arg, selection));
  reg('rlhf.addRunNote', (arg) => addNoteCommand(ctx, arg));
  reg('rlhf.editRunTags', (arg) => editTagsCommand(ctx, arg));
  reg('rlhf.filterRunsByTag', (tag) => filterRunsByTagCommand(ctx, tag));
  // other frameworks' runs: watch, export a config as their job
  reg('rlhf.watchRunFolder', (arg) => watchRunFolder(ctx, arg));
  reg('rlhf.unwatchRun', (arg) => unwatchRun(ctx, arg));
  reg('rlhf.exportVerlJob', (uri) => exportJob(ctx, 'verl', fsPathOf(uri)));
  reg('rlhf.exportOpenRlhfJob', (uri) => exportJob(ctx, 'openrlhf', fsPathOf(uri)));
  // reward models
  const schemas = new ConfigSchemas(ctx.layout.schemasDir);
  reg('rlhf.trainRewardModel', (arg) => trainRewardModel(ctx, schemas, arg));
  reg('rlhf.useAsRewardModel', (arg, target) => useAsRewardModel(ctx, arg, typeof target === 'string' ? target : undefined));
  // the prompt dataset lenses: a hover's label link, a lens's history
  reg('rlhf.labelSample', (run, row, verdict) => labelSample(datasetLens, run, row, verdict));
  reg('rlhf.showPromptHistory', (run, file, line, kind) => showPromptHistory(datasetLens, run as string, file as string, line as number, kind as SampleKind | undefined));
}
