// Errors in a run config while it is edited: JSON Schema (ajv) plus the rule engine's own checks,
// each pinned to the YAML node it is about. Used by the extension's diagnostics; no vscode here.
import Ajv, { type ErrorObject } from 'ajv';
import YAML, { isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import { compileRules, RuleError } from './rewards/rules';
import { isRewardModelConfig } from './rewardModel';

export interface ConfigProblem { message: string; start: number; end: number; severity: 'error' | 'warning' }

const CONFIG_KEYS = ['model', 'data', 'rollout', 'train', 'algorithm', 'reward', 'eval', 'checkpoint'];

/** A YAML document looks like a run config when it has two or more of the top-level sections, or says `kind: reward_model`. */
export function looksLikeRunConfig(text: string): boolean {
  if (isRewardModelConfig(text)) return true;
  const hits = CONFIG_KEYS.filter((k) => new RegExp(`^${k}:`, 'm').test(text));
  return hits.length >= 2;
}

let compiled: { schema: object; validate: ReturnType<Ajv['compile']> } | undefined;

function nodeAt(doc: Document, segments: (string | number)[], key = false): Node | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return (keyNode ?? node) as Node;
      keyNode = pair.key;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
      const item = (node as { items: unknown[] }).items[Number(seg)];
      if (!item) return node as Node;
      keyNode = item;
      node = item;
    } else break;
  }
  return (key ? keyNode : node ?? keyNode) as Node | undefined;
}

function describe(e: ErrorObject): { message: string; extraKey?: string } {
  const where = e.instancePath.slice(1).replace(/\//g, '.') || '(top level)';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      return { message: `${where}: unknown key '${key}'`, extraKey: key };
    }
    case 'enum': return { message: `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'required': return { message: `${where}: missing '${(e.params as { missingProperty: string }).missingProperty}'` };
    default: return { message: `${where}: ${e.message}` };
  }
}

export function diagnoseConfig(text: string, schema: object): ConfigProblem[] {
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  const problems: ConfigProblem[] = doc.errors.map((e) => ({ message: e.message.split('\n')[0], start: e.pos[0], end: e.pos[1], severity: 'error' as const }));
  if (problems.length) return problems;
  if (!compiled || compiled.schema !== schema) compiled = { schema, validate: new Ajv({ allErrors: true, strict: false }).compile(schema) };
  const value = doc.toJS() as unknown;
  if (!compiled.validate(value)) {
    const seen = new Set<string>();
    for (const e of compiled.validate.errors ?? []) {
      if (e.keyword === 'if' || e.keyword === 'oneOf' && (compiled.validate.errors ?? []).some((o) => o !== e && o.instancePath.startsWith(e.instancePath) && o.keyword !== 'oneOf')) continue;
      const { message, extraKey } = describe(e);
      if (seen.has(message)) continue;
      seen.add(message);
      const segs = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      const node = extraKey ? nodeAt(doc, [...segs, extraKey], true) : nodeAt(doc, segs);
      const [start, end] = node?.range ?? [0, 0];
      problems.push({ message, start, end: Math.max(end, start + 1), severity: 'error' });
    }
  }
  // the rule engine's own checks (regular expressions, duplicate names); modules are checked on save
  const rules = (value as { reward?: { rules?: unknown[] } } | null)?.reward?.rules;
  if (Array.isArray(rules) && !problems.length) {
    try {
      compileRules(rules.filter((r) => (r as { kind?: string })?.kind !== 'module'));
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      const idx = /reward\.rules\[(\d+)\]/.exec(e.message)?.[1];
      const node = nodeAt(doc, ['reward', 'rules', ...(idx ? [Number(idx)] : [])]);
      const [start, end] = node?.range ?? [0, 0];
      problems.push({ message: e.message, start, end: Math.max(end, start + 1), severity: 'error' });
    }
  }
  return problems;
}

/** Offset of the `rules:` key under `reward:`, for the CodeLens. */
export function rulesKeyOffset(text: string): number | undefined {
  const doc = YAML.parseDocument(text);
  const node = nodeAt(doc, ['reward', 'rules'], true);
  return node && isScalar(node) && node.value === 'rules' ? node.range?.[0] : undefined;
}
