// Config presets: the paper's Table 1 settings, the embedded CPU example, and one preset per estimator
// on the same data for comparisons. Each renders to a commented YAML run config that the trainer's
// `validate` accepts (test/integration/presets.test.ts checks every one with the real trainer and one step).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConfigSchema } from './schemaTypes';
import { positionsOf } from './modelPositions';

/** algorithm.estimator of schemas/config.schema.json (the type is generated from it: src/core/schemaTypes.ts). */
export type Estimator = NonNullable<NonNullable<ConfigSchema['algorithm']>['estimator']>;

/** The estimators that baseline within a prompt's group (algorithms.py GROUPED_ESTIMATORS; test/unit/facts.test.ts). */
export const GROUPED_ESTIMATORS: readonly Estimator[] = ['reinforce_pp_baseline', 'rloo', 'grpo', 'dr_grpo'];

export interface Preset {
  name: string;
  summary: string;
  estimator: Estimator;
  /** beta: Table 1 uses 0.01 for general RLHF and 0.001 for mathematics. */
  klCoef: number;
  kl: { estimator: 'k1' | 'k2'; mode: 'reward' | 'loss' };
  samplesPerPrompt: number;
  rolloutBatch: number;
  trainBatch: number;
  microBatch: number;
  lr: number;
  /** Tokens generated per sample with a real model (the embedded model has 64 positions: 6 there). */
  maxNewTokens: number;
  /** Only the embedded example: its own model size and schedule. */
  embedded?: boolean;
}

// Table 1 of the REINFORCE++ paper; the comparison presets share it so that only the estimator differs
const TABLE1 = { samplesPerPrompt: 4, rolloutBatch: 256, trainBatch: 128, microBatch: 8, lr: 5e-7, maxNewTokens: 1024 };
const K1_REWARD = { estimator: 'k1', mode: 'reward' } as const;
// grouped estimators put the KL in the loss with k2 (the paper's REINFORCE++-baseline setting)
const K2_LOSS = { estimator: 'k2', mode: 'loss' } as const;

export const PRESETS: readonly Preset[] = [
  { name: 'arithmetic-cpu', summary: 'the embedded example: REINFORCE++ on a+b= with a tiny character-level model, minutes on a CPU',
    estimator: 'reinforce_pp', klCoef: 0.001, kl: K1_REWARD, samplesPerPrompt: 1, rolloutBatch: 128, trainBatch: 64, microBatch: 64, lr: 2e-4,
    maxNewTokens: 6, embedded: true },
  { name: 'paper-general', summary: 'REINFORCE++, paper Table 1 for general RLHF (KL 0.01)', estimator: 'reinforce_pp', klCoef: 0.01, kl: K1_REWARD, ...TABLE1 },
  { name: 'paper-math', summary: 'REINFORCE++, paper Table 1 for mathematics (KL 0.001)', estimator: 'reinforce_pp', klCoef: 0.001, kl: K1_REWARD, ...TABLE1 },
  { name: 'compare-reinforce-pp-baseline', summary: 'REINFORCE++-baseline (group mean, then global normalisation) with Table 1 settings',
    estimator: 'reinforce_pp_baseline', klCoef: 0.001, kl: K2_LOSS, ...TABLE1 },
  { name: 'compare-grpo', summary: 'GRPO (group mean/std) with Table 1 settings', estimator: 'grpo', klCoef: 0.001, kl: K2_LOSS, ...TABLE1 },
  { name: 'compare-rloo', summary: 'RLOO (leave-one-out baseline) with Table 1 settings', estimator: 'rloo', klCoef: 0.001, kl: K1_REWARD, ...TABLE1 },
  { name: 'compare-ppo', summary: 'PPO (critic + GAE, critic LR 9e-6) with Table 1 settings', estimator: 'ppo', klCoef: 0.001, kl: K1_REWARD, ...TABLE1 },
];

export function findPreset(name: string): Preset | undefined { return PRESETS.find((p) => p.name === name); }

/** The embedded example of an install (its model is built on first use when missing). */
export function embeddedExample(root: string): { model: string; data: string; eval: string } {
  const ex = path.join(root, 'examples', 'arithmetic');
  return { model: path.join(ex, 'model'), data: path.join(ex, 'data', 'train.jsonl'), eval: path.join(ex, 'data', 'eval.jsonl') };
}

const PROMPT_KEYS = ['prompt', 'question', 'problem', 'input', 'query', 'instruction', 'text'];
const LABEL_KEYS = ['answer', 'label', 'solution', 'ground_truth', 'target', 'reference', 'output'];

/** The string-valued keys of a JSONL file's first rows (at most `rows` lines read), in order of first appearance. */
export function jsonlKeys(file: string, rows = 20): string[] {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(256 * 1024);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  const keys: string[] = [];
  for (const line of buf.subarray(0, n).toString('utf8').split('\n').slice(0, rows)) {
    let row: unknown;
    try { row = JSON.parse(line); } catch { continue; }
    if (!row || typeof row !== 'object' || Array.isArray(row)) continue;
    for (const [k, v] of Object.entries(row)) if ((typeof v === 'string' || typeof v === 'number') && !keys.includes(k)) keys.push(k);
  }
  return keys;
}

/** The prompt and label keys guessed from a dataset's keys (usual names first, else the first keys). */
export function guessKeys(keys: string[]): { prompt: string | undefined; label: string | undefined } {
  const prompt = PROMPT_KEYS.find((k) => keys.includes(k)) ?? keys[0];
  const label = LABEL_KEYS.find((k) => keys.includes(k) && k !== prompt) ?? keys.find((k) => k !== prompt);
  return { prompt, label };
}

/** The config.json of a model folder, or of a model id's newest snapshot in the local Hugging Face cache. */
function modelConfigFile(model: string, env: NodeJS.ProcessEnv): string | undefined {
  if (fs.existsSync(model)) return path.join(model, 'config.json');
  const hub = env.HF_HUB_CACHE ?? path.join(env.HF_HOME ?? path.join(os.homedir(), '.cache', 'huggingface'), 'hub');
  const snapshots = path.join(hub, `models--${model.split('/').join('--')}`, 'snapshots');
  try {
    const dirs = fs.readdirSync(snapshots).map((d) => path.join(snapshots, d)).filter((d) => fs.existsSync(path.join(d, 'config.json')));
    dirs.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    return dirs[0] && path.join(dirs[0], 'config.json');
  } catch { return undefined; }
}

/** The model's context length (positions) and the config.json key it came from, or undefined when it cannot be read. */
export function modelPositions(model: string, env: NodeJS.ProcessEnv = process.env): { positions: number; key: string } | undefined {
  const file = modelConfigFile(model, env);
  let conf: Record<string, unknown>;
  try { conf = JSON.parse(fs.readFileSync(file ?? '', 'utf8')) as Record<string, unknown>; } catch { return undefined; }
  return positionsOf(conf);
}

/** The preset's prompt length with a real model (data.max_prompt_tokens): Table 1's 1024 prompt + 1024 response. */
export const PRESET_PROMPT_TOKENS = 1024;

/**
 * max_prompt_tokens and max_new_tokens for a model of `positions`: the preset's own when they fit, else both
 * scaled down in the preset's proportion so that prompt + response fills the positions (the response at least
 * one token, the prompt the rest).
 */
export function fitLengths(prompt: number, response: number, positions: number | undefined): { prompt: number; response: number; scaled: boolean } {
  if (!positions || prompt + response <= positions) return { prompt, response, scaled: false };
  const r = Math.min(positions - 1, Math.max(1, Math.floor(positions * response / (prompt + response))));
  return { prompt: positions - r, response: r, scaled: true };
}

export interface RenderOptions {
  /** The install root (holds examples/arithmetic); used when model or data is not given. */
  root: string;
  /** A model folder or a Hugging Face id in the local cache; default: the embedded model. */
  model?: string;
  /** A JSONL prompt file; default: the embedded example's prompts. */
  data?: string;
  promptKey?: string;
  labelKey?: string | null;
  /** Where the file is written: local paths are written relative to it when they are below its folder. */
  outFile?: string;
  /** Where a model id's config.json is looked up (HF_HUB_CACHE / HF_HOME); default process.env. */
  env?: NodeJS.ProcessEnv;
}

const q = (s: string): string => JSON.stringify(s);
/** PyYAML (YAML 1.1) reads `5e-7` as a string: exponent forms get a mantissa with a dot. */
export const pyYamlNumber = (v: number): string => {
  const s = String(v);
  if (!/e/i.test(s)) return s;
  const [m, e] = s.split('e');
  return `${m.includes('.') ? m : `${m}.0`}e${e}`;
};

/** A commented YAML run config for `preset`; every value the preset sets is written out, the rest are the schema's defaults. */
export function renderPreset(preset: Preset, o: RenderOptions): string {
  const ex = embeddedExample(o.root);
  const embeddedModel = !o.model;
  const rel = (p: string): string => {
    if (!o.outFile || !path.isAbsolute(p)) return p;
    const r = path.relative(path.dirname(path.resolve(o.outFile)), p);
    return r.startsWith('..') ? p : r;
  };
  // the embedded model: the install's built copy when there is one (a checkout), else a `model` folder next
  // to the config, built on first use (an installed extension does not ship the weights)
  const model = o.model ? (fs.existsSync(o.model) ? rel(path.resolve(o.model)) : o.model) : fs.existsSync(ex.model) ? rel(ex.model) : 'model';
  const data = o.data ? rel(path.resolve(o.data)) : rel(ex.data);
  const evalData = o.data ? null : rel(ex.eval);
  const keys = o.data && o.promptKey === undefined ? guessKeys(jsonlKeys(o.data)) : { prompt: o.promptKey ?? 'prompt', label: o.labelKey === undefined ? 'answer' : o.labelKey };
  // the embedded model has 64 positions: 6 new tokens answer a+b=; a real model gets the preset's length
  // a chosen model gets the preset's lengths, scaled down to its positions when they do not fit (e.g. the
  // embedded model's folder chosen by hand: 64 positions, not 1024 + 1024)
  const found = embeddedModel ? undefined : modelPositions(o.model!, o.env);
  const fit = fitLengths(PRESET_PROMPT_TOKENS, preset.maxNewTokens, found?.positions);
  const maxNew = embeddedModel ? 6 : fit.response;
  const adapted = found && fit.scaled ? [
    `  # adapted to the model: it has ${found.positions} positions (${found.key} in its config.json), too few for the preset's`,
    `  # ${PRESET_PROMPT_TOKENS} prompt + ${preset.maxNewTokens} response tokens, so both are scaled to ${fit.prompt} + ${fit.response} (same proportion)`,
  ] : [];
  const p = preset;
  const grouped = GROUPED_ESTIMATORS.includes(p.estimator);
  const lines = [
    `# RLHF Studio run config from preset '${p.name}': ${p.summary}.`,
    '# Every key is described in docs/config.md; keys not written here take the schema\'s defaults.',
    `name: ${p.name}`,
    'seed: 42',
    'model:',
    `  # a save_pretrained folder (relative to this file) or a model id already in the local Hugging Face cache`,
    `  policy: ${q(model)}`,
    ...(embeddedModel ? ['  # built on first use when the folder is missing (the embedded tiny model)', '  create_if_missing: arithmetic'] : []),
    'data:',
    '  # JSONL, one prompt per line',
    `  prompts: ${q(data)}`,
    `  prompt_key: ${q(keys.prompt ?? 'prompt')}`,
    `  label_key: ${keys.label ? q(keys.label) : 'null'}`,
    `  eval_prompts: ${evalData ? q(evalData) : 'null'}`,
    ...(embeddedModel ? [] : [...adapted, `  max_prompt_tokens: ${fit.prompt}`]),
    'rollout:',
    `  batch_size: ${p.rolloutBatch}          # prompts per step`,
    `  n_samples_per_prompt: ${p.samplesPerPrompt}${grouped ? '   # grouped estimators need >= 2' : ''}`,
    `  max_new_tokens: ${maxNew}${embeddedModel && p.maxNewTokens !== maxNew ? `   # ${p.maxNewTokens} with a real model; the embedded model has 64 positions` : ''}` +
      (adapted.length ? `   # the preset's ${p.maxNewTokens}, scaled to the model's ${found!.positions} positions (see data.max_prompt_tokens)` : ''),
    '  temperature: 1.0',
    'train:',
    `  # rollout.batch_size x n_samples_per_prompt (${p.rolloutBatch * p.samplesPerPrompt}) must be a multiple of batch_size`,
    `  batch_size: ${p.trainBatch}`,
    `  micro_batch_size: ${p.microBatch}     # lower it when a step runs out of memory`,
    ...(p.embedded ? ['  num_episodes: 10', '  max_steps: 200'] : ['  num_episodes: 1']),
    `  lr: ${pyYamlNumber(p.lr)}${p.embedded ? '' : '           # actor learning rate (Table 1)'}`,
    ...(p.estimator === 'ppo' ? ['  critic_lr: 9.0e-6     # Table 1, PPO only'] : []),
    'algorithm:',
    `  estimator: ${p.estimator}`,
    '  gamma: 1.0',
    '  eps_clip: 0.2',
    '  kl:',
    `    coef: ${pyYamlNumber(p.klCoef)}${p.embedded ? '' : `           # Table 1: 0.01 general RLHF, 0.001 mathematics`}`,
    `    estimator: ${p.kl.estimator}`,
    `    mode: ${p.kl.mode}`,
    'reward:',
    '  fallback: 0.0',
    '  # 1 when the response matches the label; replace with your own rules or reward.sources',
    '  rules:',
    '    - name: correct',
    '      kind: answer_match',
    `      extract: ${embeddedModel ? 'full' : 'last_number'}`,
    'eval:',
    `  every_steps: ${p.embedded ? 50 : 20}`,
    'checkpoint:',
    `  every_steps: ${p.embedded ? 50 : 20}`,
    '  keep_last: 3',
  ];
  return lines.join('\n') + '\n';
}
