// The playground panel ("RLHF: Try Checkpoint"): the webview shell around PlaygroundSession
// (src/sessions/playgroundSession.ts), which loads the models, streams tokens and scores answers.
// This file adds the webview, the run's dataset prompts and reward rules, and the cleanup.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { playgroundSettings } from '../core/onnx/playgroundRun';
import { PlaygroundSession, runDatasetPrompts, type PlaygroundOptions } from '../sessions/playgroundSession';
import { RewardEngine } from '../core/rewards/engine';
import { loadRules } from '../core/rewards/load';
import { chooseNode } from '../core/trainerEnv';
import type { Ctx } from './ctx';
import { playgroundHtml } from '../../webview/playground/html';
import { CONFIG_FILE } from '../core/run/names';

export interface PlaygroundRequest extends Pick<PlaygroundOptions, 'title' | 'choices' | 'selected' | 'prepare'> {
  /** The run the models come from: its dataset fills the prompt and its reward rules score answers. */
  runDir?: string;
}

export class PlaygroundPanel {
  static readonly viewType = 'rlhf.playground';
  private readonly disposables: vscode.Disposable[] = [];
  private session?: PlaygroundSession;
  private engine?: RewardEngine;

  static show(ctx: Ctx, req: PlaygroundRequest): PlaygroundPanel {
    const panel = vscode.window.createWebviewPanel(PlaygroundPanel.viewType, `Try: ${req.title}`, vscode.ViewColumn.Active,
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist')] });
    return new PlaygroundPanel(ctx, panel, req);
  }

  private constructor(private readonly ctx: Ctx, readonly panel: vscode.WebviewPanel, req: PlaygroundRequest) {
    const prompts = req.runDir ? runDatasetPrompts(req.runDir) : [];
    const labels = new Map(prompts.map((p) => [p.prompt, p.label]));
    // the run's rollout sampling (config.yaml rollout, or run_started), and the page says so
    const { settings, source } = playgroundSettings(req.runDir);
    this.session = new PlaygroundSession({
      ...req, prompt: prompts[0]?.prompt ?? '', settings, settingsSource: source, rewards: this.rewards(req.runDir), labelOf: (p) => labels.get(p),
      log: (m) => ctx.log.error(m),
    }, (m) => void panel.webview.postMessage(m));
    const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist', 'playground.js')).toString();
    panel.webview.html = playgroundHtml({ title: req.title, cspSource: panel.webview.cspSource, script });
    this.disposables.push(panel.webview.onDidReceiveMessage((m) => this.session?.handle(m)), panel.onDidDispose(() => void this.dispose()));
  }

  /** The run's reward rules (config.yaml reward.rules) on the rule engine, as the CodeLens runs them; only in a trusted workspace (rules are code). */
  private rewards(runDir: string | undefined): PlaygroundOptions['rewards'] {
    if (!runDir || !this.ctx.trusted) return undefined;
    try {
      const rules = loadRules(path.join(runDir, CONFIG_FILE));
      this.engine = new RewardEngine(rules, { workers: 1, node: chooseNode({ setting: this.ctx.config.nodePath }) });
      return { engine: this.engine, describe: rules.rules.map((r) => r.name).join(' + ') };
    } catch (e) {
      this.ctx.log.warn(`playground: no rewards for ${runDir}: ${(e as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }

  private async dispose(): Promise<void> {
    for (const d of this.disposables) d.dispose();
    await this.session?.dispose();
    this.session = undefined;
    await this.engine?.close();
  }
}
