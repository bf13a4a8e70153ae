// The trainer's interpreter the editor's way: rlhf.pythonPath, else the Python extension's selected
// environment resolved to its executable (@vscode/python-extension), else the workspace .venv, else
// python3. Also the two ways out when it cannot train: set up a .venv, or select another interpreter.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';
import { describePythonChoice, resolvePython, type ResolveInput } from '../core/python';
import { setUpVenv, venvPython } from '../core/pythonSetup';

/** The rlhf.pythonPath setting (Config has it): its value and level, and where a pick is written. */
export interface PythonPathSetting {
  readonly pythonPath: { value: string; level?: string };
  setPythonPath(value: string): Promise<void>;
}

export interface Interpreter { path: string; /** where it came from, for messages */ origin: string }

const PYTHON_EXTENSION = 'ms-python.python';

export class Interpreters implements vscode.Disposable {
  private api: Promise<PythonExtension | undefined> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly config: PythonPathSetting, private readonly log: vscode.LogOutputChannel) {}

  private get folder(): vscode.WorkspaceFolder | undefined { return vscode.workspace.workspaceFolders?.[0]; }

  /** The Python extension's API once it is installed; its interpreter changes are logged as they happen. */
  private pythonExtension(): Promise<PythonExtension | undefined> {
    if (!vscode.extensions.getExtension(PYTHON_EXTENSION)) return Promise.resolve(undefined);
    this.api ??= PythonExtension.api().then((api) => {
      this.disposables.push(api.environments.onDidChangeActiveEnvironmentPath((e) =>
        this.log.info(`Python extension: the selected interpreter is now ${e.path}; the next start uses it`)));
      return api;
    }, (e) => { this.log.warn(`Python extension unavailable: ${e instanceof Error ? e.message : String(e)}`); this.api = undefined; return undefined; });
    return this.api;
  }

  /** The selected environment's executable: a conda environment folder without Python gives none. */
  private async fromPythonExtension(): Promise<string | undefined> {
    const api = await this.pythonExtension();
    if (!api) return undefined;
    try {
      const env = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(this.folder?.uri));
      return env?.executable.uri?.fsPath;
    } catch (e) {
      this.log.warn(`Python extension: could not resolve the selected environment: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  async resolve(): Promise<Interpreter> {
    const setting = this.config.pythonPath;
    const input: ResolveInput = {
      setting: setting.value, settingLevel: setting.level,
      pythonExtensionPath: setting.value ? undefined : await this.fromPythonExtension(),
      workspaceRoots: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    };
    const choice = resolvePython(input);
    return { path: choice.path, origin: describePythonChoice(choice, input) };
  }

  /**
   * The Python extension's picker when it decides (rlhf.pythonPath empty); otherwise a file picker that
   * writes rlhf.pythonPath where it is set. True when an interpreter was chosen.
   */
  async select(): Promise<boolean> {
    if (!this.config.pythonPath.value && await this.pythonExtension()) {
      const before = await this.fromPythonExtension();
      await vscode.commands.executeCommand('python.setInterpreter');
      return (await this.fromPythonExtension()) !== before;
    }
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use for RLHF training', title: 'Python interpreter for the trainer' });
    if (!picked?.[0]) return false;
    await this.config.setPythonPath(picked[0].fsPath);
    return true;
  }

  /**
   * Creates the workspace .venv with the trainer's requirements (progress, log, cancellable) and makes
   * it the interpreter in use. True when it is ready.
   */
  async setUp(requirements: string): Promise<boolean> {
    const root = this.folder?.uri.fsPath;
    if (!root) { void vscode.window.showErrorMessage('RLHF: open a folder first; the .venv is created in it.'); return false; }
    this.log.show(true);
    const current = await this.resolve();
    try {
      const python = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'RLHF: setting up .venv', cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          return setUpVenv({ root, requirements, signal: abort.signal, log: (l) => this.log.info(`[setup] ${l}`),
            onProgress: (message) => progress.report({ message }),
            // the interpreter in use creates the venv (its Python version); a missing one or a broken .venv: python3
            basePython: current.path !== venvPython(root) && fs.existsSync(current.path) ? current.path : undefined });
        });
      await this.use(python);
      void vscode.window.showInformationMessage(`RLHF: ${vscode.workspace.asRelativePath(python)} is ready for training.`);
      return true;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log.error(`[setup] ${msg}`);
      void vscode.window.showErrorMessage(`RLHF: setting up .venv failed: ${msg}`, 'Show Log').then((a) => { if (a) this.log.show(); });
      return false;
    }
  }

  /** Makes a fresh venv the one resolve() finds: through the setting or the Python extension when they decide. */
  private async use(python: string): Promise<void> {
    if (this.config.pythonPath.value) { await this.config.setPythonPath(python); return; }
    const api = await this.pythonExtension();
    if (api) await api.environments.updateActiveEnvironmentPath(python, this.folder?.uri);
  }

  dispose(): void { for (const d of this.disposables) d.dispose(); }
}
