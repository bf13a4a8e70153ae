// The trainer's `validate` problems as editor/terminal problems: its `file:line: field: message` lines
// parsed, schema problems (configDiagnostics) given line numbers, and the mechanical fixes a message
// names ("set train.batch_size to 64") as edits of one YAML value. No vscode here.
import YAML, { isMap, isPair, isScalar, type Node } from 'yaml';
import { diagnoseConfig } from './configDiagnostics';
import { runTrainerModule, validateProblems, type InstallLayout } from './training';
import type { NodeCommand } from './trainerEnv';

export interface ConfigLineProblem {
  /** 1-based; undefined when the message names no line (e.g. a missing file). */
  line?: number;
  field?: string;
  message: string;
}

/** One line of `python -m rlhf_trainer validate` stderr (`config error: FILE:LINE: FIELD: MESSAGE`). */
export function parseTrainerProblem(text: string): ConfigLineProblem {
  const body = text.replace(/^(config error|error): /, '');
  const m = /^(.*?):(\d+): ([A-Za-z_][\w.[\]]*|\(top level\)): (.*)$/.exec(body);
  if (m) return { line: Number(m[2]), field: m[3], message: m[4] };
  const f = /^(.*?\.ya?ml): ([A-Za-z_][\w.[\]]*): (.*)$/.exec(body);
  if (f) return { field: f[2], message: f[3] };
  return { message: body };
}

export const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

/** Every schema/YAML/rule problem the editor checks without Python, with its line. */
export function schemaProblems(text: string, schema: object): ConfigLineProblem[] {
  return diagnoseConfig(text, schema).map((p) => {
    // "field: message", or the rule engine's "reward.rules[1] (name): message"
    const m = /^([\w.[\]]+|\(top level\))(?: \(([^)]*)\))?: (.*)$/.exec(p.message);
    return { line: lineAt(text, p.start), field: m?.[1], message: !m ? p.message : m[2] ? `rule '${m[2]}': ${m[3]}` : m[3] };
  });
}

export const formatProblem = (file: string, p: ConfigLineProblem): string =>
  `${file}${p.line ? `:${p.line}` : ''}: ${p.field ? `${p.field}: ` : ''}${p.message}`;

export interface ValueFix { title: string; path: string[]; value: string }

/**
 * The fixes a message spells out: "set train.batch_size to 64", "set rollout.batch_size to 40", or for
 * its own field "set it to 4" / "lower rollout.max_new_tokens to 58". Only whole numbers and words, so a
 * fix never writes something the message did not say.
 */
export function fixesOf(p: ConfigLineProblem): ValueFix[] {
  const fixes: ValueFix[] = [];
  const re = /\b(?:set|lower|raise) ([a-z_]+(?:\.[a-z_]+)*|it) to ([\w.-]+)/g;
  for (let m = re.exec(p.message); m; m = re.exec(p.message)) {
    const dotted = m[1] === 'it' ? p.field : m[1].includes('.') ? m[1] : p.field?.replace(/[^.]+$/, m[1]);
    if (!dotted || /\[/.test(dotted)) continue;
    const value = m[2].replace(/[.;,]+$/, '');
    fixes.push({ title: `Set ${dotted} to ${value}`, path: dotted.split('.'), value });
  }
  const est = /\buse estimator ([a-z_]+)/.exec(p.message);
  if (est) fixes.push({ title: `Set algorithm.estimator to ${est[1]}`, path: ['algorithm', 'estimator'], value: est[1] });
  return fixes;
}

/** The [start, end) offsets of the scalar value at `path` in a YAML document, when it is there. */
export function valueRange(text: string, path: string[]): [number, number] | undefined {
  const doc = YAML.parseDocument(text);
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key);
    if (!pair) return undefined;
    node = pair.value;
  }
  const range = (node as Node | null)?.range;
  return isScalar(node) && range ? [range[0], range[1]] : undefined;
}

/** `text` with the value at `path` replaced (undefined when the key is not written in the file). */
export function applyFix(text: string, fix: ValueFix): string | undefined {
  const r = valueRange(text, fix.path);
  return r && text.slice(0, r[0]) + fix.value + text.slice(r[1]);
}

/** The model facts the trainer's `validate --facts` prints (__main__.py model_facts). */
export interface ModelFacts { positions: number | null; positions_key: string | null; longest_prompt: number }

/** A `validate --facts` stdout's facts, when it printed some. */
export function parseFacts(stdout: string): ModelFacts | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('facts: '));
  if (!line) return undefined;
  try {
    const f = JSON.parse(line.slice('facts: '.length)) as Partial<ModelFacts> | null;
    return f && typeof f.longest_prompt === 'number' ? { positions: f.positions ?? null, positions_key: f.positions_key ?? null, longest_prompt: f.longest_prompt } : undefined;
  } catch { return undefined; }
}

export interface TrainerValidation {
  /** Every problem line of `validate` (`config error: FILE:LINE: FIELD: MESSAGE`), all at once; empty: valid. */
  problems: string[];
  /** Its `estimate: ...` lines without the prefix (memory per device; time per step from an earlier run). */
  estimates: string[];
  /** With `facts`: the model's positions and the longest prompt's tokens (a valid config whose model folder exists). */
  facts?: ModelFacts;
}

/**
 * The trainer's `validate` on a config file: all its problems, or its estimates when the config is valid.
 * `runsDir` is where it looks for an earlier run of the same model (the time-per-step estimate).
 */
export async function trainerValidate(python: string, layout: InstallLayout, config: string,
  o: { node?: NodeCommand; signal?: AbortSignal; runsDir?: string; facts?: boolean } = {}): Promise<TrainerValidation> {
  const r = await runTrainerModule(python, layout, 'rlhf_trainer', ['validate', '--config', config, ...(o.runsDir ? ['--runs-dir', o.runsDir] : []),
    ...(o.facts ? ['--facts'] : [])], { node: o.node, signal: o.signal, timeoutMs: 120_000 });
  const estimates = r.stdout.split('\n').filter((l) => l.startsWith('estimate: ')).map((l) => l.slice('estimate: '.length));
  if (r.code === 0) return { problems: [], estimates, facts: o.facts ? parseFacts(r.stdout) : undefined };
  return { problems: validateProblems(r.stderr, `the trainer's validate exited with code ${r.code}`), estimates };
}

/** An estimate line's head for a one-line display ("memory per device ~ 14.6 MiB"); the details follow it in parentheses. */
export const estimateHead = (line: string): string => line.replace(/ \(.*$/s, '');
