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
import { lineAt, schemaProblems, valueRange, type ConfigLineProblem } from './configCheck';

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
