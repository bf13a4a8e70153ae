// The rlhf.* settings, typed, in one place. Defaults come from package.json (getConfiguration's get
// without a default returns the contributed one), and change events are sorted here.
import * as vscode from 'vscode';
import type { RayOptions } from '../core/launch/ray';
import type { SlurmOptions } from '../core/launch/slurm';

const KEYS = ['pythonPath', 'nodePath', 'runsDirectory', 'stopTimeoutSeconds', 'trainingProcesses', 'launchTarget'] as const;
export type ConfigKey = (typeof KEYS)[number];

export interface SettingValue<T> { value: T; /** e.g. 'User settings'; undefined when the default applies. */ level?: string }

export class Config implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Set<ConfigKey>>();
  /** Fires with the rlhf.* keys that changed. */
  readonly onDidChange = this.emitter.event;
  private readonly sub = vscode.workspace.onDidChangeConfiguration((e) => {
    const changed = new Set(KEYS.filter((k) => e.affectsConfiguration(`rlhf.${k}`)));
    if (changed.size) this.emitter.fire(changed);
  });

  private get section(): vscode.WorkspaceConfiguration { return vscode.workspace.getConfiguration('rlhf', vscode.workspace.workspaceFolders?.[0]?.uri); }

  /** The effective value and the settings level it came from (for messages that say where a value was found). */
  private withLevel<T>(key: ConfigKey): SettingValue<T> {
    const value = this.section.get<T>(key) as T;
    const i = this.section.inspect<T>(key);
    // the value in effect is the most specific level that holds it; in an untrusted workspace the
    // workspace levels of restricted settings are ignored by VS Code, so they are not named either
    const trusted = vscode.workspace.isTrusted;
    const remote = vscode.env.remoteName ? ` (or the ${vscode.env.remoteName} machine's Remote settings)` : '';
    const level = trusted && i?.workspaceFolderValue !== undefined && i.workspaceFolderValue === value ? 'Folder settings'
      : trusted && i?.workspaceValue !== undefined && i.workspaceValue === value ? 'Workspace settings'
        : i?.globalValue !== undefined && i.globalValue === value ? `User settings${remote}` : undefined;
    return { value, level };
  }

  get pythonPath(): SettingValue<string> { const v = this.withLevel<string>('pythonPath'); return { ...v, value: (v.value ?? '').trim() }; }
  get nodePath(): string { return (this.section.get<string>('nodePath') ?? '').trim(); }
  get runsDirectory(): string { return this.section.get<string>('runsDirectory')!; }
  get stopTimeoutMs(): number { return this.section.get<number>('stopTimeoutSeconds')! * 1000; }
  get trainingProcesses(): number { return Math.max(1, Math.floor(this.section.get<number>('trainingProcesses') ?? 1)); }
  get launchTarget(): 'local' | 'slurm' | 'ray' { return this.section.get<'local' | 'slurm' | 'ray'>('launchTarget') ?? 'local'; }
  /** rlhf.slurm.*: the options of `rlhf train --slurm`; ranks per node on CPU: rlhf.trainingProcesses. */
  get slurm(): SlurmOptions {
    const text = (k: string) => (this.section.get<string>(`slurm.${k}`) ?? '').trim() || undefined;
    return { nodes: this.section.get<number>('slurm.nodes'), gpusPerNode: this.section.get<number>('slurm.gpusPerNode'), procs: this.trainingProcesses,
      partition: text('partition'), time: text('time'), account: text('account'), requeue: this.section.get<boolean>('slurm.requeue') };
  }
  /** rlhf.ray.*: the options of `rlhf train --ray`; the stop timeout is rlhf.stopTimeoutSeconds. */
  get ray(): RayOptions {
    const text = (k: string) => (this.section.get<string>(`ray.${k}`) ?? '').trim() || undefined;
    return { address: text('address') ?? '', workers: this.section.get<number>('ray.workers'), gpusPerWorker: this.section.get<number>('ray.gpusPerWorker'),
      storage: text('storagePath'), stopTimeoutS: this.stopTimeoutMs / 1000 };
  }

  /** Writes rlhf.pythonPath where the user keeps it: the level it is set at, else User settings. */
  async setPythonPath(value: string): Promise<void> {
    const i = this.section.inspect<string>('pythonPath');
    const target = i?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder
      : i?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await this.section.update('pythonPath', value, target);
  }

  dispose(): void { this.sub.dispose(); this.emitter.dispose(); }
}
