// Which Python runs the trainer, and whether it can: torch and transformers must import.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PythonChoice { path: string; source: 'setting' | 'python-extension' | 'workspace-venv' | 'PATH' }

export interface ResolveInput {
  setting?: string;
  pythonExtensionPath?: string;
  workspaceRoots: string[];
  exists?: (p: string) => boolean;
}

/** Order: the rlhf.pythonPath setting, the Python extension's interpreter, a workspace .venv, python3. */
export function resolvePython(input: ResolveInput): PythonChoice {
  const exists = input.exists ?? ((p: string) => fs.existsSync(p));
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

export interface ProbeResult {
  ok: boolean;
  python: string;
  version?: string;
  torch?: string;
  transformers?: string;
  cuda?: boolean;
  /** What is wrong and the command that fixes it. */
  problem?: string;
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

const PIP_NAMES: Record<string, string> = { torch: 'torch==2.13.0', transformers: 'transformers', yaml: 'PyYAML', jsonschema: 'jsonschema' };

export function probePython(python: string, timeoutMs = 60_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && !stdout) {
        const notFound = (err as NodeJS.ErrnoException).code === 'ENOENT';
        resolve({
          ok: false, python,
          problem: notFound ? `Python interpreter '${python}' was not found.` : `'${python}' failed: ${(stderr || err.message).trim().split('\n').pop()}`,
          fix: notFound ? 'Set rlhf.pythonPath to a Python 3.10+ interpreter, or create a .venv in the workspace.' : undefined,
        });
        return;
      }
      try {
        const info = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
        const missing: string[] = info.missing ?? [];
        if (missing.length) {
          resolve({
            ok: false, python, version: info.version,
            problem: `${python} cannot import ${missing.join(', ')}.`,
            fix: `"${python}" -m pip install ${missing.map((m) => PIP_NAMES[m] ?? m).join(' ')}`,
          });
          return;
        }
        resolve({ ok: true, python, version: info.version, torch: info.torch, transformers: info.transformers, cuda: info.cuda });
      } catch {
        resolve({ ok: false, python, problem: `could not read the answer of ${python}: ${stdout.slice(0, 200)}` });
      }
    });
  });
}
