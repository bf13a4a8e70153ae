// Reward models, the TypeScript side: the config of a reward-model run (`kind: reward_model`, its own
// schema, defaults from it), starting one through the same path as a policy run, which run folders are
// reward-model runs and where their model is, and "Use as Reward Model": a `reward_model` source added
// to a policy config with its comments kept (yaml's Document API). No vscode here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML, { isMap, isScalar, isSeq } from 'yaml';
import { withDefaults } from './exportJob';
import type { TrainerHandle } from './launcher';
import { readStatus, newRunId } from './run/runStore';
import { pyYamlNumber } from './presets';
import { startTraining, type StartOptions } from './training';
import { loadSchema, POLICY_SCHEMA_FILE, RM_SCHEMA_FILE, type SchemaName } from './schemas';
import { readRunConfigText } from './run/config';

export { POLICY_SCHEMA_FILE, RM_SCHEMA_FILE } from './schemas';

export class RewardModelError extends Error {}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Whether a YAML text (or a parsed config) is a reward-model run config: `kind: reward_model` at the top. */
export function isRewardModelConfig(config: unknown): boolean {
  if (typeof config === 'string') return /^kind:\s*['"]?reward_model['"]?\s*(#.*)?$/m.test(config);
  return isObj(config) && config.kind === 'reward_model';
}

/** The schema file a config text is checked against: the reward-model schema for `kind: reward_model`, else the policy one. */
export const schemaFileFor = (text: string): SchemaName => (isRewardModelConfig(text) ? RM_SCHEMA_FILE : POLICY_SCHEMA_FILE);

/** Both config schemas of an install, read once per folder; `schemaFor(text)` picks a config's. */
export class ConfigSchemas {
  constructor(readonly schemasDir: string) {}
  get(file: SchemaName): object { return loadSchema(file, this.schemasDir); }
  schemaFor(text: string): object { return this.get(schemaFileFor(text)); }
}

export interface RewardModelOptions {
  /** The base model: a causal LM or sequence-classification folder, or a model id in the local Hugging Face cache. */
  model: string;
  /** prompt/chosen/rejected JSONL (rlhf labels export, OpenRLHF's and TRL's formats). */
  data: string;
  eval?: string;
  name?: string;
  lr?: number;
  epochs?: number;
  margin?: number;
  maxSteps?: number;
  batchSize?: number;
  seed?: number;
  /** Build the embedded example model at `model` when that folder is missing (as the policy presets do). */
  createIfMissing?: string;
}

/** A run name from the data file: `rm-<file name>` in the characters a run id keeps. */
export const rmRunName = (data: string): string => `rm-${path.basename(data).replace(/\.jsonl?$/i, '').replace(/[^\w.-]+/g, '-')}`.slice(0, 60);

type Obj = Record<string, unknown>;
/** Sets `dotted` in a config object when the schema knows that key (an option the schema lacks is not written). */
function setKnown(schema: Obj, c: Obj, dotted: string, value: unknown): void {
  if (value === undefined) return;
  const keys = dotted.split('.');
  let s: unknown = schema, o = c;
  for (const [i, k] of keys.entries()) {
    const props = isObj(s) && isObj(s.properties) ? s.properties : undefined;
    if (!props || !(k in props)) throw new RewardModelError(`the reward-model config schema has no key ${keys.slice(0, i + 1).join('.')}`);
    s = props[k];
    if (i === keys.length - 1) o[k] = value;
    else { if (!isObj(o[k])) o[k] = {}; o = o[k] as Obj; }
  }
}

/**
 * The reward-model run config for these options: every key the schema defines, with its defaults
 * (`withDefaults`), and the options over them. Paths absolute, so the file works from any folder.
 */
export function rewardModelConfig(schema: object, o: RewardModelOptions): Obj {
  const c: Obj = { kind: 'reward_model', name: o.name ?? rmRunName(o.data) };
  const s = schema as Obj;
  const abs = (p: string) => (fs.existsSync(p) || p.startsWith('.') || p.startsWith('/') ? path.resolve(p) : p); // a hub id stays as it is
  setKnown(s, c, 'model.base', abs(o.model));
  if (o.createIfMissing) setKnown(s, c, 'model.create_if_missing', o.createIfMissing);
  setKnown(s, c, 'data.train', path.resolve(o.data));
  if (o.eval) setKnown(s, c, 'data.eval', path.resolve(o.eval));
  setKnown(s, c, 'seed', o.seed);
  setKnown(s, c, 'train.lr', o.lr);
  setKnown(s, c, 'train.epochs', o.epochs);
  setKnown(s, c, 'train.margin', o.margin);
  setKnown(s, c, 'train.max_steps', o.maxSteps);
  setKnown(s, c, 'train.batch_size', o.batchSize);
  const full = withDefaults(s, c) as { train: { batch_size: number; micro_batch_size: number } };
  // --batch-size below the default micro batch: one forward is at most the whole batch (fewer pairs than a
  // batch the trainer handles itself: it trains on all of them each step)
  full.train.micro_batch_size = Math.min(full.train.micro_batch_size, full.train.batch_size);
  return full;
}

/** The config as a YAML file with a header saying what wrote it and how to rerun it. */
export function rewardModelConfigText(config: Obj): string {
  // PyYAML (YAML 1.1) reads 9e-6 as a string: an exponent gets a mantissa with a dot, as in the presets
  const text = YAML.stringify(config, { lineWidth: 0 }).replace(/^(\s*[\w.-]+: )(-?\d+(?:\.\d+)?e[-+]?\d+)$/gm, (_, key: string, v: string) => key + pyYamlNumber(Number(v)));
  return '# Reward-model run config written by rlhf train-rm (every key of schemas/reward-model-config.schema.json, defaults filled).\n'
    + '# Train again with: rlhf train THIS_FILE\n' + text;
}

/**
 * Starts a reward-model run: its config is written into a new run folder (RUN/reward-model.yaml), checked
 * by the trainer and launched exactly as `rlhf train` launches a policy config. A config the trainer
 * refuses leaves no run folder behind.
 */
export async function startRewardModelTraining(schema: object, o: RewardModelOptions,
  start: Omit<StartOptions, 'config' | 'runDir'>): Promise<{ handle: TrainerHandle; config: string }> {
  if (!fs.existsSync(o.data)) throw new RewardModelError(`${o.data}: no such preference file (prompt/chosen/rejected JSONL, e.g. from rlhf labels export)`);
  if (o.eval && !fs.existsSync(o.eval)) throw new RewardModelError(`--eval ${o.eval}: no such preference file`);
  const config = rewardModelConfig(schema, o);
  const runDir = path.join(start.runsDir, newRunId(String(config.name)));
  const file = path.join(runDir, 'reward-model.yaml');
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(file, rewardModelConfigText(config));
  try {
    return { handle: await startTraining({ ...start, config: file, runDir }), config: file };
  } catch (e) {
    fs.rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
}

/** Whether a run folder holds a reward-model run (status.json's `kind`, else its config.yaml says `kind: reward_model`). */
export function isRewardModelRun(runDir: string): boolean {
  if ((readStatus(runDir) as { kind?: unknown } | undefined)?.kind === 'reward_model') return true;
  try { const text = readRunConfigText(runDir); return text !== undefined && isRewardModelConfig(text); } catch { return false; }
}

/** The finished reward model of a run (status.json `reward_model`), when it exists. */
export function rewardModelOf(runDir: string): string | undefined {
  const p = (readStatus(runDir) as { reward_model?: unknown } | undefined)?.reward_model;
  return typeof p === 'string' && fs.existsSync(p) ? p : undefined;
}

/**
 * "Use as Reward Model": `text` (a policy run config) with `{name, reward_model: PATH}` appended to
 * reward.sources (created when missing). The Document API finds where; the change is a text insertion
 * there, so every other byte stays as written (comments, number forms PyYAML reads differently when
 * re-serialised: `2.0e-4`, flow styles). The path is written relative to the config's folder when the model
 * is below it. The name is `name` or the model folder's, made unique among the sources. A source with the
 * same model is not added twice.
 */
export function addRewardModelSource(text: string, configFile: string, modelDir: string, name?: string): { text: string; name: string; added: boolean } {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length) throw new RewardModelError(`${configFile}: not valid YAML (${doc.errors[0].message.split('\n')[0]}); fix it first`);
  if (!isMap(doc.contents)) throw new RewardModelError(`${configFile}: not a run config (its top level is not a mapping)`);
  const base = path.dirname(path.resolve(configFile));
  const rel = path.relative(base, path.resolve(modelDir));
  const written = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(modelDir);
  const reward = doc.get('reward', true);
  const isNull = (n: unknown) => n === undefined || n === null || (isScalar(n) && n.value === null);
  if (!isNull(reward) && !isMap(reward)) throw new RewardModelError(`${configFile}: reward is not a mapping; it must hold rules and/or sources`);
  const sources = doc.getIn(['reward', 'sources'], true);
  if (!isNull(sources) && !isSeq(sources)) throw new RewardModelError(`${configFile}: reward.sources is not a list`);
  const existing: unknown[] = isSeq(sources) ? sources.toJSON() : [];
  const same = existing.find((s) => isObj(s) && typeof s.reward_model === 'string' && path.resolve(base, s.reward_model) === path.resolve(modelDir));
  if (isObj(same)) return { text, name: String(same.name), added: false };
  const names = new Set(existing.map((s) => (isObj(s) ? s.name : undefined)));
  const stem = (name ?? path.basename(path.resolve(modelDir))).replace(/[^\w.-]+/g, '_') || 'reward_model';
  let unique = stem;
  for (let i = 2; names.has(unique); i++) unique = `${stem}_${i}`;
  const item = `{name: ${JSON.stringify(unique)}, reward_model: ${JSON.stringify(written)}}`;

  const lineStart = (at: number) => text.lastIndexOf('\n', at - 1) + 1;
  const column = (at: number) => at - lineStart(at);
  /** Just past the end of the line holding `at` (its comment included). */
  const lineEnd = (at: number) => { const n = text.indexOf('\n', at); return n < 0 ? text.length : n + 1; };
  const insert = (at: number, s: string) => text.slice(0, at) + (at === text.length && at > 0 && !text.endsWith('\n') ? '\n' : '') + s + text.slice(at);
  let out: string;
  if (isSeq(sources) && sources.flow) {
    const close = sources.range![1] - 1; // the closing bracket
    out = text.slice(0, close) + (sources.items.length ? `, ${item}` : item) + text.slice(close);
  } else if (isSeq(sources)) {
    // a node's end may be past its line's newline: the line of its last character
    const at = lineEnd(sources.range![1] - 1);
    out = insert(at, `${' '.repeat(column(sources.range![0]))}- ${item}\n`);
  } else if (isMap(reward) && reward.flow) {
    const close = reward.range![1] - 1;
    out = text.slice(0, close) + `${reward.items.length ? ', ' : ''}sources: [${item}]` + text.slice(close);
  } else if (isMap(reward)) {
    const pair = reward.items.find((p) => isScalar(p.key) && p.key.value === 'sources');
    if (pair) { // `sources:` with no value: the list goes right after the key
      const key = (pair.key as { range: [number, number, number] }).range;
      const colon = text.indexOf(':', key[1]);
      out = text.slice(0, colon + 1) + ` [${item}]` + text.slice(colon + 1);
    } else {
      const indent = ' '.repeat(column(reward.range![0]));
      out = insert(lineEnd(reward.range![1] - 1), `${indent}sources:\n${indent}  - ${item}\n`);
    }
  } else if (reward !== undefined) { // `reward:` with no value
    const pair = (doc.contents as { items: { key: unknown }[] }).items.find((p) => isScalar(p.key) && p.key.value === 'reward');
    const at = lineEnd((pair!.key as { range: [number, number, number] }).range[1]);
    out = insert(at, `  sources:\n    - ${item}\n`);
  } else {
    out = insert(text.length, `reward:\n  sources:\n    - ${item}\n`);
  }
  // the edit must say exactly this in YAML, or it is not made
  const check = YAML.parseDocument(out);
  const got: unknown = check.errors.length ? undefined : check.getIn(['reward', 'sources']);
  const added = Array.isArray((got as { toJSON?: () => unknown } | undefined)?.toJSON?.()) ? ((got as { toJSON: () => unknown[] }).toJSON()) : undefined;
  if (!added || added.length !== existing.length + 1 || JSON.stringify(added[added.length - 1]) !== JSON.stringify({ name: unique, reward_model: written })) {
    throw new RewardModelError(`${configFile}: could not add the source in place (unusual layout of reward:); add it by hand under reward.sources: - ${item}`);
  }
  return { text: out, name: unique, added: true };
}
