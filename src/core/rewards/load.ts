// Where rules come from: a run config's reward.rules, or a *.reward.ts module on its own.
// Modules are compiled with esbuild (types stripped, CommonJS out) — no npm install in the workspace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { compileRules, RuleError, type RuleSet, type RuleSpec } from './rules';

export interface CompileDiagnostic { file: string; line: number; column: number; message: string }

export class ModuleCompileError extends RuleError {
  constructor(message: string, readonly diagnostics: CompileDiagnostic[]) { super(message); }
}

/** TypeScript/JavaScript rule module -> CommonJS source. Throws ModuleCompileError with positions. */
export function compileModule(absPath: string, text?: string): string {
  // required lazily: esbuild is only needed when a rule module is used
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  let source: string;
  if (text !== undefined) source = text;
  else try { source = fs.readFileSync(absPath, 'utf8'); } catch { throw new RuleError(`rule module ${absPath} not found; fix the path (relative to the config)`); }
  try {
    return esbuild.transformSync(source, { loader: absPath.endsWith('.js') ? 'js' : 'ts', format: 'cjs', target: 'node18', sourcefile: absPath }).code;
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors ?? [];
    const diagnostics = errors.map((er) => ({ file: absPath, line: er.location?.line ?? 1, column: er.location?.column ?? 0, message: er.text }));
    const first = diagnostics[0];
    throw new ModuleCompileError(first ? `${absPath}:${first.line}:${first.column + 1}: ${first.message}` : String(e), diagnostics);
  }
}

/** Open editors' unsaved text, by absolute path: rules are tested as the user sees them. */
export type Overlay = (absPath: string) => string | undefined;

export function rulesFromSpecs(specs: unknown, baseDir: string, overlay?: Overlay): RuleSet {
  return compileRules(specs, { compileModule: (p) => compileModule(p, overlay?.(p)), resolvePath: (p) => path.resolve(baseDir, p) });
}

/** Like loadRules, from text (an editor's buffer) instead of the file on disk. */
export function rulesFromText(file: string, text: string, overlay?: Overlay): RuleSet {
  const abs = path.resolve(file);
  if (/\.(ts|js|mts|mjs)$/.test(abs)) {
    return rulesFromSpecs([{ kind: 'module', path: abs, name: path.basename(abs).replace(/\.reward\.\w+$|\.\w+$/, '') }], path.dirname(abs),
      (p) => (p === abs ? text : overlay?.(p)));
  }
  let doc: unknown;
  try { doc = YAML.parse(text); } catch (e) { throw new RuleError(`${file}: ${(e as Error).message}`); }
  const rules = (doc as { reward?: { rules?: RuleSpec[] } } | null)?.reward?.rules;
  if (!rules || !rules.length) throw new RuleError(`${file}: no reward.rules in this config`);
  return rulesFromSpecs(rules, path.dirname(abs), overlay);
}

/** The rule set of a config file (its reward.rules) or of a rule module file. */
export function loadRules(file: string): RuleSet {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { throw new RuleError(`${file}: no such file`); }
  return rulesFromText(file, text);
}
