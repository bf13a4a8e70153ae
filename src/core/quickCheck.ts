// What the editor says about a run config on every edit, without starting Python (issue #22: diagnostics
// within 1.5 s of an edit): the YAML/schema/rule checks (configDiagnostics) and the batch arithmetic
// (batches.ts: the trainer's rules and messages, trainer/tests/fixtures/batch_rules.json), each at its
// line. The checks that need the model folder or run code (positions, tokenizer, paths, reward code) stay
// the trainer's `validate`; its answers are kept per document text and model folder (ValidationCache), so
// a Python start is paid again only when one of them changed. No vscode here.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { batchProblems, batchSizesOf } from './batches';
import { lineAt, schemaProblems, valueRange, type ConfigLineProblem, type ModelFacts } from './configCheck';

/** The batch problems of this config text, at the line of the value they are about (line 1 when it is a default). */
export function batchLineProblems(text: string, schema: object): ConfigLineProblem[] {
  const sizes = batchSizesOf(text, schema);
  if (!sizes) return [];
  return batchProblems(sizes).map((p) => {
    const r = valueRange(text, p.field.split('.')) ?? valueRange(text, ['rollout', 'batch_size']);
    return { line: r ? lineAt(text, r[0]) : undefined, field: p.field, message: p.message };
  });
}

/** Every problem found without Python: YAML, schema and rules first (the batch sizes are not read from a config that fails them). */
export function quickProblems(text: string, schema: object): ConfigLineProblem[] {
  const schemaFound = schemaProblems(text, schema);
  return schemaFound.length ? schemaFound : batchLineProblems(text, schema);
}

/** preflight.py length_fixes: the splits of the positions that work, each a `set|lower FIELD to N` (a Quick Fix). */
export function lengthFixes(prompt: number, newTokens: number, positions: number): string {
  const fixes: string[] = [];
  if (positions - prompt >= 1) fixes.push(`lower rollout.max_new_tokens to ${positions - prompt}`);
  if (positions - newTokens >= Math.max(1, Math.ceil(prompt / 2))) fixes.push(`lower data.max_prompt_tokens to ${positions - newTokens}`);
  if (fixes.length) return fixes.join(' or ');
  const keep = Math.max(1, Math.min(prompt, Math.floor(positions / 2), positions - 1));
  return `set data.max_prompt_tokens to ${keep} and set rollout.max_new_tokens to ${positions - keep}`;
}

/**
 * preflight.py check_model_limits from kept facts: the longest prompt (after data.max_prompt_tokens) plus
 * rollout.max_new_tokens must fit the model's positions; the trainer's message, at rollout.max_new_tokens.
 */
export function positionProblems(text: string, schema: object, facts: ModelFacts): ConfigLineProblem[] {
  if (facts.positions === null) return [];
  let cfg: { rollout?: { max_new_tokens?: unknown }; data?: { max_prompt_tokens?: unknown } } | null;
  try { cfg = YAML.parse(text) as typeof cfg; } catch { return []; }
  const props = (schema as { properties?: Record<string, { properties?: Record<string, { default?: unknown }> }> }).properties ?? {};
  const newTokens = cfg?.rollout?.max_new_tokens ?? props.rollout?.properties?.max_new_tokens?.default;
  const cap = cfg?.data?.max_prompt_tokens ?? props.data?.properties?.max_prompt_tokens?.default;
  if (typeof newTokens !== 'number' || typeof cap !== 'number') return [];
  const longest = facts.longest_prompt;
  const prompt = Math.min(longest, cap);
  if (prompt + newTokens <= facts.positions) return [];
  const r = valueRange(text, ['rollout', 'max_new_tokens']);
  return [{ line: r ? lineAt(text, r[0]) : undefined, field: 'rollout.max_new_tokens',
    message: `the longest prompt has ${prompt} tokens${longest > prompt ? ' (after data.max_prompt_tokens)' : ''}; with max_new_tokens ${newTokens} ` +
      `that is ${prompt + newTokens}, beyond the model's ${facts.positions} positions (${facts.positions_key} in config.json); ` +
      lengthFixes(prompt, newTokens, facts.positions) }];
}

/**
 * What the kept model facts depend on: the model folder (modelStamp), the data section (prompt key, template,
 * files) and the prompt files' modification times; '' when there is no model folder to key on.
 */
export function factsKey(text: string, configFile: string): string {
  const model = modelStamp(text, configFile);
  if (!model) return '';
  let data: Record<string, unknown> = {};
  try { data = ((YAML.parse(text) as { data?: Record<string, unknown> } | null)?.data) ?? {}; } catch { return ''; }
  const { max_prompt_tokens: _cap, ...rest } = data; // the cap is applied to the kept raw length, not part of the key
  const files = ['prompts', 'eval_prompts'].map((k) => {
    const f = data[k];
    if (typeof f !== 'string') return '';
    try { return String(fs.statSync(path.resolve(path.dirname(configFile), f)).mtimeMs); } catch { return 'missing'; }
  });
  return `${model}|${JSON.stringify(rest)}|${files.join(',')}`;
}

/**
 * What identifies the model folder's answers: the modification times of the files the model-dependent checks
 * read (config.json, the tokenizer's files); '' when the config names no folder that exists.
 */
export function modelStamp(text: string, configFile: string): string {
  let policy: unknown;
  try { policy = (YAML.parse(text) as { model?: { policy?: unknown } } | null)?.model?.policy; } catch { return ''; }
  if (typeof policy !== 'string' || !policy) return '';
  const dir = path.resolve(path.dirname(configFile), policy);
  const parts: string[] = [];
  for (const name of ['config.json', 'tokenizer_config.json', 'tokenizer.json', 'vocab.json', 'tokenizer.model', 'special_tokens_map.json']) {
    try { parts.push(`${name}:${fs.statSync(path.join(dir, name)).mtimeMs}`); } catch { /* not in this folder */ }
  }
  return parts.length ? `${dir}|${parts.join(',')}` : '';
}

/**
 * The trainer's `validate` answers by config text and model folder: the same text of the same file against an
 * unchanged model folder is answered without starting Python (undo, reopen, save after a check). Bounded.
 */
export class ValidationCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly max = 64) {}

  key(configFile: string, text: string): string {
    return createHash('sha1').update(configFile).update('\0').update(text).update('\0').update(modelStamp(text, configFile)).digest('hex');
  }

  get(key: string): T | undefined { return this.entries.get(key); }

  clear(): void { this.entries.clear(); }

  set(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }
}
