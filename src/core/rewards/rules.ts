// Declarative reward rules (reward.rules in a run config) and TypeScript rule modules, compiled into
// one serialisable RuleSet that the rule sandbox (sandbox.ts) turns into an evaluator.
import { helpers, extractAnswer, answersMatch, charCount, wordCount, tokenCount, type Extractor } from './helpers';

export interface Sample { prompt: string; response: string; label?: unknown; metadata?: Record<string, unknown> }

interface Base { name?: string; weight?: number }
export type RuleSpec = Base & (
  | { kind: 'answer_match'; extract?: Extractor; tolerance?: number; correct?: number; wrong?: number }
  | { kind: 'regex' | 'format'; pattern: string; flags?: string; reward?: number; otherwise?: number }
  | { kind: 'length_penalty'; unit?: 'chars' | 'words' | 'tokens'; max: number; per_unit?: number }
  | { kind: 'contains' | 'not_contains'; text: string | string[]; case_sensitive?: boolean; reward?: number; otherwise?: number }
  | { kind: 'module'; path: string; export?: string }
  // scored by the engine in its own process, not in the sandbox (see engine.ts, docs/onnx.md)
  | { kind: 'onnx_model'; path: string; batch_size?: number }
);
export type RuleKind = RuleSpec['kind'];
export const RULE_KINDS: RuleKind[] = ['answer_match', 'regex', 'format', 'length_penalty', 'contains', 'not_contains', 'module', 'onnx_model'];

/** A rule ready to ship to a worker: name and weight resolved, modules compiled to CommonJS. */
export type CompiledRule = RuleSpec & { name: string; weight: number; js?: string };
export interface RuleSet { rules: CompiledRule[] }

export class RuleError extends Error {}

export interface CompileOptions {
  /** Compiles a .reward.ts/.js module to CommonJS source; given the absolute path. */
  compileModule?: (absPath: string) => string;
  resolvePath?: (p: string) => string;
}

/** Validates and names the rules; compiles modules. Throws RuleError naming the rule and the fix. */
export function compileRules(specs: unknown, opts: CompileOptions = {}): RuleSet {
  if (!Array.isArray(specs)) throw new RuleError('reward.rules must be a list of rules');
  const seen = new Map<string, number>();
  const rules = specs.map((raw, i): CompiledRule => {
    if (!raw || typeof raw !== 'object') throw new RuleError(`reward.rules[${i}] must be an object with a kind`);
    const spec = raw as RuleSpec;
    const where = `reward.rules[${i}]${spec.name ? ` (${spec.name})` : ''}`;
    if (!RULE_KINDS.includes(spec.kind)) throw new RuleError(`${where}: unknown kind '${String(spec.kind)}'; use one of ${RULE_KINDS.join(', ')}`);
    let name = spec.name ?? spec.kind;
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    if (n > 0) {
      if (spec.name) throw new RuleError(`${where}: the name '${name}' is used twice; names must be unique`);
      name = `${name}_${n + 1}`;
    }
    const weight = spec.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight)) throw new RuleError(`${where}: weight must be a number`);
    const rule: CompiledRule = { ...spec, name, weight };
    if (spec.kind === 'regex' || spec.kind === 'format') {
      try { new RegExp(spec.pattern, spec.flags); } catch (e) { throw new RuleError(`${where}: invalid pattern: ${(e as Error).message}`); }
    }
    if (spec.kind === 'answer_match' && spec.extract && typeof spec.extract === 'object' && 'regex' in spec.extract) {
      try { new RegExp(spec.extract.regex, spec.extract.flags); } catch (e) { throw new RuleError(`${where}: invalid extract.regex: ${(e as Error).message}`); }
    }
    if (spec.kind === 'length_penalty' && !(typeof spec.max === 'number' && spec.max >= 0)) throw new RuleError(`${where}: max must be a number >= 0`);
    if (spec.kind === 'onnx_model') {
      if (typeof spec.path !== 'string' || !spec.path) throw new RuleError(`${where}: path must name an exported reward model folder (python -m rlhf_trainer.onnx_export)`);
      const batch = spec.batch_size ?? 16;
      if (!Number.isInteger(batch) || batch < 1) throw new RuleError(`${where}: batch_size must be a whole number >= 1`);
      return { ...rule, kind: 'onnx_model', path: opts.resolvePath ? opts.resolvePath(spec.path) : spec.path };
    }
    if (spec.kind === 'module') {
      if (!opts.compileModule) throw new RuleError(`${where}: rule modules cannot be compiled here`);
      const abs = opts.resolvePath ? opts.resolvePath(spec.path) : spec.path;
      return { ...rule, kind: 'module', path: abs, js: opts.compileModule(abs) };
    }
    return rule;
  });
  return { rules };
}

export type RuleFn = (s: Sample) => number | { reward: number; breakdown?: Record<string, number> };

/** Loads a compiled CommonJS module in the current realm (the sandbox's vm context) with no require (rules are pure functions). */
export function loadModule(js: string, path: string, exportName = 'default'): RuleFn {
  const module = { exports: {} as Record<string, unknown> };
  const noRequire = (id: string) => { throw new Error(`rule modules cannot import '${id}'; use the helpers argument`); };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- runs the module's compiled CommonJS source; only ever inside the rule sandbox's vm context (sandbox.ts)
  const run = new Function('module', 'exports', 'require', js) as (m: typeof module, e: typeof module.exports, r: typeof noRequire) => void;
  run(module, module.exports, noRequire);
  const exp = module.exports[exportName] ?? (exportName === 'default' ? module.exports : undefined);
  // a rule's result is checked by evaluatorOf (toNumber), whatever the module returns
  if (typeof exp === 'function') { const f = exp as (s: Sample, h: typeof helpers) => ReturnType<RuleFn>; return (s) => f(s, helpers); }
  if (exp && typeof exp === 'object') { // { ruleName: fn, ... } -> summed, each in the breakdown
    const entries = Object.entries(exp as Record<string, unknown>).filter(([, f]) => typeof f === 'function') as [string, (s: Sample, h: typeof helpers) => unknown][];
    if (entries.length) {
      return (s) => {
        const breakdown: Record<string, number> = {};
        let reward = 0;
        for (const [k, f] of entries) { const v = toNumber(f(s, helpers), k); breakdown[k] = v; reward += v; }
        return { reward, breakdown };
      };
    }
  }
  throw new Error(`${path}: export '${exportName}' must be a function (sample, helpers) => number, or an object of such functions`);
}

function toNumber(v: unknown, what: string): number {
  const n = typeof v === 'boolean' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`${what} returned ${typeof v === 'number' ? String(v) : typeof v}, not a finite number`);
  return n;
}

const lengthOf = { chars: charCount, words: wordCount, tokens: tokenCount };

/** The function of one rule. */
export function ruleFunction(rule: CompiledRule): (s: Sample) => number | { reward: number; breakdown?: Record<string, number> } {
  switch (rule.kind) {
    case 'answer_match': {
      const { extract = 'last_number', tolerance = 1e-6, correct = 1, wrong = 0 } = rule;
      return (s) => (answersMatch(extractAnswer(s.response, extract), s.label, tolerance) ? correct : wrong);
    }
    case 'regex': {
      const re = new RegExp(rule.pattern, (rule.flags ?? '').replace('g', ''));
      return (s) => (re.test(s.response) ? rule.reward ?? 1 : rule.otherwise ?? 0);
    }
    case 'format': {
      const re = new RegExp(`^(?:${rule.pattern})$`, (rule.flags ?? '').replace('g', ''));
      return (s) => (re.test(s.response.trim()) ? rule.reward ?? 1 : rule.otherwise ?? 0);
    }
    case 'length_penalty': {
      const measure = lengthOf[rule.unit ?? 'chars'];
      const per = rule.per_unit ?? 0.01;
      return (s) => -per * Math.max(0, measure(s.response) - rule.max);
    }
    case 'contains':
    case 'not_contains': {
      const cs = rule.case_sensitive ?? false;
      const needles = (Array.isArray(rule.text) ? rule.text : [rule.text]).map((t) => (cs ? t : t.toLowerCase()));
      const want = rule.kind === 'contains';
      return (s) => {
        const hay = cs ? s.response : s.response.toLowerCase();
        return needles.some((n) => hay.includes(n)) === want ? rule.reward ?? 1 : rule.otherwise ?? 0;
      };
    }
    case 'module':
      return loadModule(rule.js ?? '', rule.path, rule.export);
    case 'onnx_model': // the engine removes these before the rule set reaches the sandbox
      throw new Error(`rule ${rule.name}: onnx_model rules are scored by the reward engine, not inside the rule sandbox`);
  }
}

export interface Scored { reward: number; breakdown: Record<string, number> }
export interface LoadedRule { r: CompiledRule; f: ReturnType<typeof ruleFunction> }

/** The evaluator of loaded rules: weighted sum with a per-rule breakdown; throws "rule X: ..." on a bad rule. */
export function evaluatorOf(fns: LoadedRule[]): (s: Sample) => Scored {
  return (s) => {
    const breakdown: Record<string, number> = {};
    let reward = 0;
    for (const { r, f } of fns) {
      let out: ReturnType<typeof f>;
      try { out = f(s); } catch (e) { throw new Error(`rule ${r.name} threw: ${e instanceof Error ? e.message : String(e)}`, { cause: e }); }
      const value = typeof out === 'object' && out !== null ? toNumber(out.reward, `rule ${r.name}`) : toNumber(out, `rule ${r.name}`);
      breakdown[r.name] = value;
      if (typeof out === 'object' && out?.breakdown) for (const [k, v] of Object.entries(out.breakdown)) breakdown[`${r.name}.${k}`] = toNumber(v, `rule ${r.name}.${k}`);
      reward += r.weight * value;
    }
    return { reward, breakdown };
  };
}
