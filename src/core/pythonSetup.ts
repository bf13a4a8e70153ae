// "Set Up Python Environment": the workspace .venv with the trainer's requirements (torch pinned), as
// scripts/setup-python.sh does for the repository. No vscode here: the extension and the CLI share it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface VenvSetupOptions {
  /** Folder that gets .venv (the workspace root). */
  root: string;
  /** The trainer's requirements.txt (torch pinned: an unpinned torch pulls a multi-GB CUDA build). */
  requirements: string;
  /** Interpreter that creates the venv; python3 by default. */
  basePython?: string;
  /** Every line of output, for the log. */
  log: (line: string) => void;
  /** Short phase messages for a progress notification. */
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  /** Extra pip arguments (an index URL, --no-index in tests). */
  pipArgs?: string[];
}

export class SetupError extends Error {}

/** Same stamp as scripts/setup-python.sh: the requirements the .venv was last set up with (the runtime
 *  requirements.txt, or it followed by requirements-dev.txt: a stamp that starts with ours has them). */
const STAMP = '.rlhf-setup-v1';

export function venvPython(root: string): string {
  return process.platform === 'win32' ? path.join(root, '.venv', 'Scripts', 'python.exe') : path.join(root, '.venv', 'bin', 'python');
}

/** Creates <root>/.venv when missing and installs the requirements; returns the venv's interpreter. */
export async function setUpVenv(o: VenvSetupOptions): Promise<string> {
  const python = venvPython(o.root);
  const stamp = path.join(o.root, '.venv', STAMP);
  const wanted = fs.readFileSync(o.requirements, 'utf8');
  const had = readOr(stamp);
  if (fs.existsSync(python) && had !== undefined && had.startsWith(wanted)) { o.log(`${python} already has ${o.requirements}`); return python; }
  if (!fs.existsSync(python)) {
    const base = o.basePython ?? 'python3';
    o.onProgress?.(`creating .venv with ${base}`);
    await step(base, ['-m', 'venv', path.join(o.root, '.venv')], o, `${base} -m venv .venv`);
  }
  o.onProgress?.('installing torch and the trainer requirements (this downloads several hundred MB once)');
  await step(python, ['-m', 'pip', 'install', '--disable-pip-version-check', ...(o.pipArgs ?? []), '-r', o.requirements], o,
    `pip install -r ${o.requirements}`);
  fs.writeFileSync(stamp, wanted);
  o.onProgress?.('.venv ready');
  return python;
}

function readOr(file: string): string | undefined {
  try { return fs.readFileSync(file, 'utf8'); } catch { return undefined; }
}

/** Runs one command, streaming its lines to the log; rejects with its last line when it fails. */
function step(cmd: string, args: string[], o: VenvSetupOptions, what: string): Promise<void> {
  o.log(`$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.root, stdio: ['ignore', 'pipe', 'pipe'], signal: o.signal });
    let last = '';
    const onLine = (line: string) => {
      o.log(line);
      if (line.trim()) last = line.trim();
      const pkg = /^(Collecting|Downloading|Installing collected packages:?)\s*(.*)/.exec(line.trim());
      if (pkg) o.onProgress?.(`${pkg[1].toLowerCase()} ${pkg[2]}`.slice(0, 120));
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', onLine);
    child.once('error', (e) => reject(new SetupError((e as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${cmd} was not found: install Python 3.10+ or choose an interpreter` : o.signal?.aborted ? `${what}: cancelled` : `${what}: ${e.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new SetupError(o.signal?.aborted ? `${what}: cancelled` : `${what} failed (exit ${code}): ${last || 'no output'}`));
    });
  });
}
