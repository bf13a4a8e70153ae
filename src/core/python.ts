// Which Python runs the trainer, and whether it can: torch and transformers must import.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PythonChoice { path: string; source: 'setting' | 'python-extension' | 'workspace-venv' | 'PATH' }

export interface ResolveInput {
  setting?: string;
  /** Where the setting was set, e.g. 'User settings' (named in errors). */
  settingLevel?: string;
  /** The Python extension's resolved executable; a folder (a conda environment without Python) is not one. */
  pythonExtensionPath?: string;
  workspaceRoots: string[];
  /** Whether an interpreter file is there; by default: a file (not a folder) exists. */
  exists?: (p: string) => boolean;
}

const isFile = (p: string): boolean => { try { return fs.statSync(p).isFile(); } catch { return false; } };

/** Order: the rlhf.pythonPath setting, the Python extension's interpreter, a workspace .venv, python3. */
export function resolvePython(input: ResolveInput): PythonChoice {
  const exists = input.exists ?? isFile;
  if (input.setting && input.setting.trim()) return { path: input.setting.trim(), source: 'setting' };
  if (input.pythonExtensionPath && exists(input.pythonExtensionPath)) return { path: input.pythonExtensionPath, source: 'python-extension' };
  for (const root of input.workspaceRoots) {
    for (const venv of ['.venv', 'venv']) {
      const p = process.platform === 'win32' ? path.join(root, venv, 'Scripts', 'python.exe') : path.join(root, venv, 'bin', 'python');
      if (exists(p)) return { path: p, source: 'workspace-venv' };
    }
  }
  return { path: 'python3', source: 'PATH' };
}

/** Where a choice came from and, for the fallbacks, what was looked at before it: for error messages. */
export function describePythonChoice(choice: PythonChoice, input: ResolveInput): string {
  const roots = input.workspaceRoots.length ? input.workspaceRoots.join(', ') : 'no workspace folder';
  switch (choice.source) {
    case 'setting': return `rlhf.pythonPath${input.settingLevel ? ` in ${input.settingLevel}` : ''}`;
    case 'python-extension': return "the Python extension's selected interpreter";
    case 'workspace-venv': return 'the workspace .venv';
    case 'PATH': return `python3 on PATH: rlhf.pythonPath is not set for this window, ${input.pythonExtensionPath === undefined
      ? 'the Python extension gave no interpreter' : `the Python extension's '${input.pythonExtensionPath}' is not an interpreter file`}, no .venv or venv in ${roots}`;
  }
}

export interface ProbeResult {
  ok: boolean;
  python: string;
  version?: string;
  torch?: string;
  transformers?: string;
  cuda?: boolean;
  /** What is wrong and the command that fixes it. */
  problem?: string;
  /** 'not-found': no such interpreter; 'packages': it lacks the trainer's packages; 'broken': it does not run. */
  kind?: 'not-found' | 'packages' | 'broken';
  fix?: string;
}

const PROBE = `
import json, sys
out = {"version": sys.version.split()[0], "missing": []}
for mod in ("torch", "transformers", "yaml", "jsonschema"):
    try:
        m = __import__(mod)
        out[mod] = getattr(m, "__version__", "?")
    except Exception as e:
        out["missing"].append(mod)
try:
    import torch
    out["cuda"] = bool(torch.cuda.is_available())
except Exception:
    out["cuda"] = False
print(json.dumps(out))
`;

/**
 * The same answer without importing anything (find_spec and the installed versions: ~0.1 s instead of ~2 s of
 * CPU): what a start that launches the trainer alongside its probe checks, so the probe does not compete with
 * the trainer's own imports on a small machine. A package that is installed but fails to import is then said
 * by the trainer's log (the run fails with it) instead of before the start. cuda is not known.
 */
const PROBE_LIGHT = `
import json, sys
from importlib import metadata, util
out = {"version": sys.version.split()[0], "missing": []}
for mod, dist in (("torch", "torch"), ("transformers", "transformers"), ("yaml", "PyYAML"), ("jsonschema", "jsonschema")):
    try:
        if util.find_spec(mod) is None:
            raise ImportError(mod)
        out[mod] = metadata.version(dist)
    except Exception:
        out["missing"].append(mod)
print(json.dumps(out))
`;

/** What the probe script prints. */
interface ProbeAnswer { version?: string; missing?: string[]; torch?: string; transformers?: string; cuda?: boolean }

const PIP_NAMES: Record<string, string> = { torch: 'torch==2.13.0', transformers: 'transformers', yaml: 'PyYAML', jsonschema: 'jsonschema' };

const probed = new Map<string, { key: string; result: ProbeResult }>();
const probing = new Map<string, Promise<ProbeResult>>();
const interpreterKey = (python: string): string | undefined => {
  try { const real = fs.realpathSync(python); return `${real}:${fs.statSync(real).mtimeMs}`; } catch { return undefined; }
};

/**
 * probePython, answered from memory when this interpreter (its real file, unchanged) passed before in this
 * process: a start does not pay for a Python start to import torch again (~2 s). Only a pass is kept.
 */
export async function probePythonCached(python: string, timeoutMs = 60_000, origin?: string): Promise<ProbeResult> {
  const key = interpreterKey(python);
  const known = probed.get(python);
  if (key && known?.key === key) return known.result;
  // one probe at a time per interpreter: a start while the editor's background probe runs waits for that one
  const running = probing.get(python);
  if (running) return running;
  const p = probePython(python, timeoutMs, origin).then((result) => {
    if (result.ok && key) probed.set(python, { key, result });
    return result;
  }).finally(() => probing.delete(python));
  probing.set(python, p);
  return p;
}

/**
 * The probe before a Python process that imports torch itself (the trainer at once, a validate): a remembered full
 * probe, else the light one, which does not import torch beside that process's own import of it.
 */
export const probeBeforeTorch = (python: string, origin?: string): Promise<ProbeResult> =>
  (probeKnown(python) ? probePythonCached(python, undefined, origin) : probePython(python, undefined, origin, true));

/** Whether probePythonCached would answer at once for this interpreter. */
export const probeKnown = (python: string): boolean => { const k = interpreterKey(python); return !!k && probed.get(python)?.key === k; };

/** `origin` says where the interpreter came from (describePythonChoice); problems name it. */
export function probePython(python: string, timeoutMs = 60_000, origin?: string, light = false): Promise<ProbeResult> {
  const who = origin ? `${python} (${origin})` : python;
  return new Promise((resolve) => {
    execFile(python, ['-c', light ? PROBE_LIGHT : PROBE], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && !stdout) {
        const notFound = (err as NodeJS.ErrnoException).code === 'ENOENT';
        resolve({
          ok: false, python, kind: notFound ? 'not-found' : 'broken',
          problem: notFound ? `Python interpreter '${python}' was not found${origin ? ` (${origin})` : ''}.` : `'${who}' failed: ${(stderr || err.message).trim().split('\n').pop()}`,
          fix: notFound ? 'Set rlhf.pythonPath to a Python 3.10+ interpreter, or create a .venv in the workspace.' : undefined,
        });
        return;
      }
      try {
        const info = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ProbeAnswer;
        const missing = info.missing ?? [];
        if (missing.length) {
          resolve({
            ok: false, python, version: info.version, kind: 'packages',
            problem: `${who} cannot import ${missing.join(', ')}.`,
            fix: `"${python}" -m pip install ${missing.map((m) => PIP_NAMES[m] ?? m).join(' ')}`,
          });
          return;
        }
        resolve({ ok: true, python, version: info.version, torch: info.torch, transformers: info.transformers, cuda: info.cuda });
      } catch {
        resolve({ ok: false, python, kind: 'broken', problem: `could not read the answer of ${who}: ${stdout.slice(0, 200)}` });
      }
    });
  });
}
