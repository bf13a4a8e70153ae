// "Export as verl Job": a config of this project as a verl launch (python3 -m
// verl.trainer.main_ppo with Hydra overrides), its data as the Parquet files verl's RLHFDataset
// reads, and a reward function file verl loads (reward.custom_reward_function). The job logs with
// verl's `file` logger and dumps rollouts inside the output folder, so `rlhf watch OUT` follows it.
// src/core/exportMapping.ts has the mapping tables (docs/verl-export.md is generated from them); options with no verl equivalent become warnings.
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { Estimator } from './presets';
import { type CopyHow, OPENRLHF_MAPPING, VERL_MAPPING } from './exportMapping';
import { type ChatMessage, promptSettings, PromptFileError, readPromptRows } from './prompts';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A float that must stay a float in the override (1.0, not 1) so it keeps verl's type. */
export class Float { constructor(readonly value: number) {} }
export type OverrideValue = string | number | boolean | null | Float | (string | number)[];
export type Override = [key: string, value: OverrideValue];

export class ExportError extends Error {}

export interface VerlExportOptions {
  configFile: string;
  /** schemas/config.schema.json, for the defaults of keys the config leaves out. */
  schema: Obj;
  outDir: string;
  nnodes?: number;
  gpusPerNode?: number;
  rolloutEngine?: 'vllm' | 'sglang' | 'hf';
}

export interface VerlJob {
  overrides: Override[];
  env: Record<string, string>;
  /** The launch command, one override per line (run.sh holds it too). */
  command: string;
  warnings: string[];
  files: string[];
}

export const PROJECT_NAME = 'rlhf-studio';
// Record<Estimator, ...>: an estimator added to the schema does not compile until it has a mapping
const ESTIMATORS: Record<Estimator, string> = {
  reinforce_pp: 'reinforce_plus_plus', reinforce_pp_baseline: 'reinforce_plus_plus_baseline',
  grpo: 'grpo', dr_grpo: 'grpo', rloo: 'rloo', ppo: 'gae',
};
// verl/trainer/ppo/core_algos.py kl_penalty: "kl" is k1, "mse" k2 (½·log-ratio²), "low_var_kl" k3
const KL_ESTIMATORS: Record<string, string> = { k1: 'kl', k2: 'mse', k3: 'low_var_kl' };
const LOSS_AGG: Record<string, string> = { token_mean: 'token-mean', sequence_mean: 'seq-mean-token-mean' };

/** The config with the schema's defaults filled in (objects recursively, arrays of objects too), as the trainer's apply_defaults. */
export function withDefaults(schema: Obj, value: unknown): unknown {
  if (Array.isArray(value) && isObj(schema.items)) { const items = schema.items; return value.map((x) => withDefaults(items, x)); }
  if (!isObj(schema.properties)) return value ?? schema.default;
  // an optional section that is off by default (model.lora: null) stays off when the config leaves it out
  if ((value === undefined || value === null) && 'default' in schema && !isObj(schema.default)) return value ?? schema.default;
  const v: Obj = isObj(value) ? { ...value } : isObj(schema.default) ? { ...schema.default } : {};
  for (const [k, sub] of Object.entries(schema.properties)) {
    // a key that is absent and has no default stays absent (an object section too), as in apply_defaults
    if (!isObj(sub) || (v[k] === undefined && !('default' in sub))) continue;
    const filled = withDefaults(sub, v[k]);
    if (filled !== undefined) v[k] = filled;
  }
  return v;
}

/** A config value as a copy row writes it. */
function copied(v: unknown, how: CopyHow = 'same'): unknown {
  if (how === 'float') return new Float(v as number);
  if (typeof how === 'object') return v ?? how.nullAs;
  return v;
}

const get = (c: Obj, dotted: string): unknown => dotted.split('.').reduce<unknown>((o, k) => (isObj(o) ? o[k] : undefined), c);

/**
 * The overrides for a config (defaults filled) and what could not be carried over. Pure: paths are
 * given; nothing is read or written.
 */
export function verlOverrides(c: Obj, p: { modelPath: string; trainFile: string; valFile: string | null; rewardFile: string; outDir: string; nnodes: number; gpusPerNode: number; rolloutEngine: string }): { overrides: Override[]; warnings: string[] } {
  const o: Override[] = [];
  const warn: string[] = [];
  const set = (k: string, v: OverrideValue) => o.push([k, v]);
  const A = 'actor_rollout_ref.actor', R = 'actor_rollout_ref.rollout';
  const n = get(c, 'rollout.n_samples_per_prompt') as number;
  const estimator = get(c, 'algorithm.estimator') as string;

  set('algorithm.adv_estimator', ESTIMATORS[estimator as Estimator] ?? estimator);
  // the table's one-to-one rows (src/core/exportMapping.ts), with the rows whose value depends on more than one key
  for (const row of VERL_MAPPING) for (const [from, to, how] of row.copy ?? []) set(to, copied(get(c, from), how) as OverrideValue);

  if (estimator === 'dr_grpo') { set('algorithm.norm_adv_by_std_in_grpo', false); set(`${A}.loss_agg_mode`, 'seq-mean-token-sum-norm'); }
  else if (estimator === 'grpo') set('algorithm.norm_adv_by_std_in_grpo', get(c, 'algorithm.std_norm') as boolean);
  else {
    set(`${A}.loss_agg_mode`, LOSS_AGG[get(c, 'train.loss_aggregation') as string]);
    if (get(c, 'algorithm.std_norm') === false) warn.push('algorithm.std_norm: false has a verl equivalent only for grpo (norm_adv_by_std_in_grpo); verl whitens with the std');
  }
  if (estimator === 'ppo') { set('critic.optim.lr', new Float(get(c, 'train.critic_lr') as number)); set('critic.model.path', p.modelPath); }

  const kl = get(c, 'algorithm.kl') as Obj;
  const klCoef = kl.coef as number;
  if (kl.mode === 'loss') {
    set('algorithm.use_kl_in_reward', false);
    set(`${A}.use_kl_loss`, klCoef > 0);
    set(`${A}.kl_loss_coef`, new Float(klCoef));
    set(`${A}.kl_loss_type`, KL_ESTIMATORS[kl.estimator as string]);
  } else {
    set('algorithm.use_kl_in_reward', klCoef > 0);
    set('algorithm.kl_ctrl.kl_coef', new Float(klCoef));
    set('algorithm.kl_penalty', KL_ESTIMATORS[kl.estimator as string]);
    set(`${A}.use_kl_loss`, false);
  }
  if (get(c, 'model.reference')) warn.push('model.reference: verl\'s reference model is always the initial policy (actor_rollout_ref.model.path); the reference given is not used');

  set('data.train_files', p.trainFile);
  set('data.val_files', p.valFile ?? p.trainFile);
  set('data.prompt_key', 'prompt');
  set('data.truncation', 'left');
  if (get(c, 'data.apply_chat_template') !== true) warn.push('data.apply_chat_template: false: verl always applies the tokenizer\'s chat template to the prompt (a list of messages); the model needs one');

  set('actor_rollout_ref.model.path', p.modelPath);

  // verl counts ppo_mini_batch_size in prompts (it multiplies by rollout.n); ours counts samples.
  const trainBatch = get(c, 'train.batch_size') as number;
  if (trainBatch % n !== 0) warn.push(`train.batch_size ${trainBatch} is not a multiple of rollout.n_samples_per_prompt ${n}: verl's ppo_mini_batch_size counts prompts, so it is rounded up to ${Math.ceil(trainBatch / n)} prompts`);
  set(`${A}.ppo_mini_batch_size`, Math.max(1, Math.ceil(trainBatch / n)));
  set(`${A}.optim.lr_scheduler_type`, 'cosine');
  const eps = get(c, 'algorithm.eps_clip') as number;
  const epsHigh = get(c, 'algorithm.eps_clip_high') as number | null;
  set(`${A}.clip_ratio`, new Float(eps));
  set(`${A}.clip_ratio_low`, new Float(eps));
  set(`${A}.clip_ratio_high`, new Float(epsHigh ?? eps));
  const dual = get(c, 'algorithm.dual_clip') as number | null;
  if (dual !== null) set(`${A}.clip_ratio_c`, new Float(dual));
  else warn.push('algorithm.dual_clip: null (off) has no verl equivalent: verl always applies dual clip (actor.clip_ratio_c, default 3.0)');
  const rc = get(c, 'algorithm.reward_clip') as number[];
  warn.push(`algorithm.reward_clip [${rc.join(', ')}]: no verl equivalent (verl does not clip the scalar reward)`);

  set(`${R}.name`, p.rolloutEngine);
  set(`${R}.tensor_model_parallel_size`, 1);
  set(`${R}.val_kwargs.do_sample`, get(c, 'eval.greedy') !== true);

  set('reward.custom_reward_function.path', p.rewardFile);
  set('reward.custom_reward_function.name', 'compute_score');

  set('trainer.project_name', PROJECT_NAME);
  set('trainer.logger', ['console', 'file']);
  set('trainer.rollout_data_dir', path.join(p.outDir, 'rollouts'));
  set('trainer.validation_data_dir', path.join(p.outDir, 'validation'));
  set('trainer.default_local_dir', path.join(p.outDir, 'checkpoints')); // not a run-folder name: verl's output folder
  const maxSteps = get(c, 'train.max_steps') as number | null;
  if (maxSteps !== null) set('trainer.total_training_steps', maxSteps);
  set('trainer.test_freq', p.valFile ? get(c, 'eval.every_steps') as number : -1);
  set('trainer.val_before_train', p.valFile !== null);
  set('trainer.nnodes', p.nnodes);
  set('trainer.n_gpus_per_node', p.gpusPerNode);
  if (get(c, 'device') === 'cpu') warn.push('device: cpu: verl trains on GPUs (trainer.device=cuda)');
  warn.push(`logging.samples_per_step ${String(get(c, 'logging.samples_per_step'))}: verl dumps every rollout of a step to trainer.rollout_data_dir`);
  if (get(c, 'eval.max_prompts')) warn.push('eval.max_prompts: verl evaluates every prompt of data.val_files; the exported val file is cut to eval.max_prompts instead');
  return { overrides: o, warnings: warn };
}

/** One override as Hydra's command line grammar wants it. */
export function hydraArg([key, v]: Override): string {
  return `${key}=${hydraValue(v)}`;
}
function hydraValue(v: OverrideValue): string {
  if (v === null) return 'null';
  if (v instanceof Float) return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
  if (Array.isArray(v)) return `[${v.map((x) => hydraValue(x)).join(',')}]`;
  if (typeof v !== 'string') return String(v);
  // Hydra's unquoted values cannot hold spaces, quotes or its grammar's symbols: quote those.
  return /^[\w./\-+:~@]+$/.test(v) && !/^(true|false|null)$/i.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
const shellQuote = (s: string) => (/^[\w./=\-+:@,[\]]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

interface Prompt { prompt: string | ChatMessage[]; label: unknown }

function readPrompts(file: string, c: Obj, limit: number): Prompt[] {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { throw new ExportError(`${file}: cannot read the prompts file (data.prompts / data.eval_prompts)`); }
  try {
    return readPromptRows(text, file, promptSettings(c.data), limit);
  } catch (e) {
    if (e instanceof PromptFileError) throw new ExportError(e.message);
    throw e;
  }
}

/**
 * Parquet with verl's data layout (docs/preparation/prepare_data.rst, examples/data_preprocess):
 * data_source, prompt (chat messages), ability, reward_model {style, ground_truth}, extra_info
 * {split, index, prompt_text}. prompt_text lets the reward function rebuild query = prompt + response.
 */
export function verlParquet(prompts: Prompt[], dataSource: string, split: string): ArrayBuffer {
  const str = (name: string, repetition = 'OPTIONAL') => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: repetition as 'OPTIONAL' });
  return parquetWriteBuffer({
    columnData: [
      { name: 'data_source', data: prompts.map(() => dataSource) },
      { name: 'prompt', data: prompts.map((p) => (typeof p.prompt === 'string' ? [{ role: 'user', content: p.prompt }] : p.prompt)) },
      { name: 'ability', data: prompts.map(() => 'rlhf-studio') },
      { name: 'reward_model', data: prompts.map((p) => ({ style: 'rule', ground_truth: p.label === null || p.label === undefined ? null : typeof p.label === 'string' ? p.label : JSON.stringify(p.label) })) },
      { name: 'extra_info', data: prompts.map((p, index) => ({ split, index: BigInt(index), prompt_text: typeof p.prompt === 'string' ? p.prompt : JSON.stringify(p.prompt) })) },
    ],
    schema: [
      { name: 'root', num_children: 5 },
      str('data_source'),
      { name: 'prompt', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      str('role'), str('content'),
      str('ability'),
      { name: 'reward_model', repetition_type: 'OPTIONAL', num_children: 2 },
      str('style'), str('ground_truth'),
      { name: 'extra_info', repetition_type: 'OPTIONAL', num_children: 3 },
      str('split'),
      { name: 'index', type: 'INT64', repetition_type: 'OPTIONAL' },
      str('prompt_text'),
    ],
  });
}

/** The reward function verl calls per sample: the config's reward through `rlhf serve-rewards` or its Python sources. */
function rewardFunctionFile(c: Obj, configDir: string, warnings: string[]): string {
  const sources = (get(c, 'reward.sources') as Obj[]).filter(isObj);
  const rules = get(c, 'reward.rules') as unknown[];
  const py: { name: string; weight: number; file: string; fn: string }[] = [];
  for (const s of sources) {
    if (typeof s.function === 'string') {
      const [file, fn] = s.function.split(':');
      py.push({ name: String(s.name), weight: typeof s.weight === 'number' ? s.weight : 1, file: path.resolve(configDir, file), fn });
    } else warnings.push(`reward.sources ${String(s.name)}: only function sources are exported (worker and http sources have no verl equivalent here)`);
  }
  const useServer = rules.length > 0;
  const fallback = get(c, 'reward.fallback') as number;
  const timeout = get(c, 'reward.timeout_s') as number;
  return `# Written by RLHF Studio's "Export as verl Job": verl's reward.custom_reward_function.
# compute_score(data_source, solution_str, ground_truth, extra_info) -> float, per sample.
${useServer ? `# The rules (reward.rules) are served by \`rlhf serve-rewards CONFIG\`: set RLHF_REWARD_URL to the URL
# it prints (http://127.0.0.1:PORT/TOKEN/get_reward), reachable from the verl workers.
` : ''}import importlib.util
import json
import os
import urllib.request

FALLBACK = ${JSON.stringify(fallback)}
TIMEOUT_S = ${JSON.stringify(timeout)}
USE_SERVER = ${useServer ? 'True' : 'False'}
SOURCES = ${JSON.stringify(py.map(({ name, weight, file, fn }) => ({ name, weight, file, fn })))}
_loaded = {}


def _function(file, fn):
    if (file, fn) not in _loaded:
        spec = importlib.util.spec_from_file_location("rlhf_reward_" + str(len(_loaded)), file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded[(file, fn)] = getattr(module, fn)
    return _loaded[(file, fn)]


def _first_reward(result):
    rewards = result.get("rewards") if isinstance(result, dict) else result
    return float(rewards[0])


def _served(query, prompt, label):
    url = os.environ.get("RLHF_REWARD_URL")
    if not url:
        raise RuntimeError("RLHF_REWARD_URL is not set: run rlhf serve-rewards and export the URL it prints")
    body = json.dumps({"query": [query], "prompts": [prompt], "labels": [label]}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return _first_reward(json.load(response))


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    prompt = (extra_info or {}).get("prompt_text", "")
    query = prompt + solution_str
    total = 0.0
    try:
        if USE_SERVER:
            total += _served(query, prompt, ground_truth)
        for s in SOURCES:
            result = _function(s["file"], s["fn"])(queries=[query], prompts=[prompt], labels=[ground_truth], responses=[solution_str])
            total += s["weight"] * _first_reward(result)
    except Exception as e:  # one failing sample gets the fallback, as in RLHF Studio's trainer
        print(f"[rlhf reward] {type(e).__name__}: {e}; fallback {FALLBACK}")
        return FALLBACK
    return total
`;
}

interface LoadedConfig { c: Obj; configDir: string; modelPath: string; warnings: string[] }

/** The config with defaults, its folder, and the policy as a path (or a hub id). */
function loadConfig(configFile: string, schema: Obj): LoadedConfig {
  let raw: unknown;
  try { raw = YAML.parse(fs.readFileSync(configFile, 'utf8')); } catch (e) {
    throw new ExportError(`${configFile}: cannot read the config (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isObj(raw)) throw new ExportError(`${configFile}: the config must be a YAML mapping`);
  const c = withDefaults(schema, raw) as Obj;
  const configDir = path.dirname(path.resolve(configFile));
  const modelSetting = get(c, 'model.policy');
  if (typeof modelSetting !== 'string') throw new ExportError(`${configFile}: model.policy is required`);
  const local = path.resolve(configDir, modelSetting);
  const warnings: string[] = [];
  if (!fs.existsSync(local) && get(c, 'model.create_if_missing')) warnings.push(`model.policy ${local} does not exist yet: train once here (model.create_if_missing builds it) or point at a Hugging Face model folder`);
  // a folder (existing, or one create_if_missing will build) as an absolute path; anything else is a hub id
  const isLocal = fs.existsSync(local) || Boolean(get(c, 'model.create_if_missing'));
  return { c, configDir, modelPath: isLocal ? local : modelSetting, warnings };
}

/** Reads the config, writes OUT/{data/*.parquet, reward_fn.py, run.sh, overrides.json}; returns the job. */
export function exportVerlJob(opts: VerlExportOptions): VerlJob {
  const { c, configDir, modelPath, warnings } = loadConfig(opts.configFile, opts.schema);
  const out = path.resolve(opts.outDir);

  fs.mkdirSync(path.join(out, 'data'), { recursive: true });
  const name = get(c, 'name') as string;
  const train = readPrompts(path.resolve(configDir, get(c, 'data.prompts') as string), c, get(c, 'data.max_samples') as number);
  const trainFile = path.join(out, 'data/train.parquet');
  fs.writeFileSync(trainFile, Buffer.from(verlParquet(train, name, 'train')));
  const files = [trainFile];
  let valFile: string | null = null;
  const evalPrompts = get(c, 'data.eval_prompts');
  if (typeof evalPrompts === 'string') {
    valFile = path.join(out, 'data/val.parquet');
    fs.writeFileSync(valFile, Buffer.from(verlParquet(readPrompts(path.resolve(configDir, evalPrompts), c, get(c, 'eval.max_prompts') as number), name, 'test')));
    files.push(valFile);
  }
  const rewardFile = path.join(out, 'reward_fn.py');
  fs.writeFileSync(rewardFile, rewardFunctionFile(c, configDir, warnings));
  files.push(rewardFile);

  const built = verlOverrides(c, { modelPath, trainFile, valFile, rewardFile, outDir: out, nnodes: opts.nnodes ?? 1, gpusPerNode: opts.gpusPerNode ?? 1, rolloutEngine: opts.rolloutEngine ?? 'vllm' });
  warnings.unshift(...built.warnings);
  // The file logger writes <root>/<project>/<experiment>.jsonl: inside OUT, where rlhf watch looks.
  const env = { VERL_FILE_LOGGER_ROOT: out };
  const command = ['python3 -m verl.trainer.main_ppo', ...built.overrides.map((ov) => shellQuote(hydraArg(ov)))].join(' \\\n  ');
  const runSh = path.join(out, 'run.sh');
  fs.writeFileSync(runSh, `#!/usr/bin/env bash\n# verl job exported by RLHF Studio from ${path.resolve(opts.configFile)}\n# Watch it: rlhf watch ${shellQuote(out)}\n${warnings.map((w) => `# warning: ${w}\n`).join('')}set -euo pipefail\nexport VERL_FILE_LOGGER_ROOT=${shellQuote(out)}\n${command}\n`, { mode: 0o755 });
  const json = path.join(out, 'overrides.json');
  fs.writeFileSync(json, `${JSON.stringify({ overrides: built.overrides.map(hydraArg), env, warnings }, null, 1)}\n`);
  files.push(runSh, json);
  return { overrides: built.overrides, env, command, warnings, files };
}

// ---------------------------------------------------------------------------------------------
// OpenRLHF (second target): python3 -m openrlhf.cli.train_ppo_ray with its dotted flags (0.11).
// The prompts stay the config's JSONL files (OpenRLHF reads them with its input/label keys and
// applies input_template itself); rules are scored by `rlhf serve-rewards` (--reward.remote_url).
// ---------------------------------------------------------------------------------------------

const OPENRLHF_ESTIMATORS: Record<Estimator, string> = {
  reinforce_pp: 'reinforce', reinforce_pp_baseline: 'reinforce_baseline', rloo: 'rloo', grpo: 'group_norm', dr_grpo: 'dr_grpo', ppo: 'gae',
};

export interface OpenRlhfExportOptions { configFile: string; schema: Obj; outDir: string; nnodes?: number; gpusPerNode?: number }
export interface OpenRlhfJob { args: string[]; command: string; warnings: string[]; files: string[] }

/** The flags for a config (defaults filled); `args` alternate flag and value(s). Pure. */
export function openRlhfArgs(c: Obj, p: { modelPath: string; configDir: string; outDir: string; nnodes: number; gpusPerNode: number; rewardUrl: string }): { args: string[]; warnings: string[] } {
  const a: string[] = [];
  const warn: string[] = [];
  const flag = (k: string, ...v: (string | number)[]) => a.push(`--${k}`, ...v.map(String));
  const on = (k: string, b: unknown) => { if (b === true) a.push(`--${k}`); };
  const estimator = get(c, 'algorithm.estimator') as string;
  // the table's one-to-one rows (src/core/exportMapping.ts), then the rows whose value depends on more than one key
  for (const row of OPENRLHF_MAPPING) {
    for (const [from, to, how] of row.copy ?? []) {
      const v = copied(get(c, from), how);
      if (how === 'switch') on(to, v);
      else flag(to, ...(Array.isArray(v) ? v as (string | number)[] : [v as string | number]));
    }
  }
  flag('actor.model_name_or_path', p.modelPath);
  if (estimator === 'ppo') { flag('critic.model_name_or_path', p.modelPath); flag('critic.adam.lr', get(c, 'train.critic_lr') as number); }
  if (get(c, 'model.reference')) warn.push('model.reference: OpenRLHF\'s reference model is the initial policy; the reference given is not used');
  flag('data.prompt_dataset', path.resolve(p.configDir, get(c, 'data.prompts') as string));
  const label = get(c, 'data.label_key');
  if (typeof label === 'string') flag('data.label_key', label);
  const template = get(c, 'data.input_template');
  if (typeof template === 'string') flag('data.input_template', template);
  flag('data.max_len', (get(c, 'data.max_prompt_tokens') as number) + (get(c, 'rollout.max_new_tokens') as number));
  if (get(c, 'rollout.top_k') !== null) warn.push('rollout.top_k: no OpenRLHF flag (vLLM samples from the full softmax)');
  if (get(c, 'train.max_steps') !== null) warn.push('train.max_steps: no OpenRLHF flag (it trains train.num_episodes passes over the prompts)');
  flag('actor.loss_agg_mode', LOSS_AGG[get(c, 'train.loss_aggregation') as string]);
  flag('algo.advantage.estimator', OPENRLHF_ESTIMATORS[estimator as Estimator] ?? estimator);
  if (get(c, 'algorithm.std_norm') === false) a.push('--algo.advantage.no_std_norm');
  const eps = get(c, 'algorithm.eps_clip') as number;
  const epsHigh = get(c, 'algorithm.eps_clip_high') as number | null;
  if (epsHigh === null) flag('actor.eps_clip', eps); else flag('actor.eps_clip_low_high', eps, epsHigh);
  const dual = get(c, 'algorithm.dual_clip');
  if (typeof dual === 'number') flag('actor.dual_clip', dual);
  const ent = get(c, 'algorithm.entropy_coef');
  if (typeof ent === 'number') flag('actor.entropy_coef', ent);
  const kl = get(c, 'algorithm.kl') as Obj;
  if (kl.mode === 'loss') a.push('--algo.kl.use_loss');
  flag('reward.remote_url', p.rewardUrl);
  const evalPrompts = get(c, 'data.eval_prompts');
  if (typeof evalPrompts === 'string') {
    flag('eval.dataset', path.resolve(p.configDir, evalPrompts));
    flag('eval.steps', get(c, 'eval.every_steps') as number);
    flag('eval.n_samples_per_prompt', get(c, 'eval.k') as number);
    if (get(c, 'eval.greedy') === true) flag('eval.temperature', 0);
  }
  flag('ckpt.path', path.join(p.outDir, 'checkpoints')); // not a run-folder name: OpenRLHF's output folder
  // TensorBoard events at OUT/tensorboard/<name>: what `rlhf watch OUT` reads for OpenRLHF.
  flag('logger.tensorboard_dir', path.join(p.outDir, 'tensorboard'));
  flag('actor.num_nodes', p.nnodes);
  flag('actor.num_gpus_per_node', p.gpusPerNode);
  flag('ref.num_nodes', p.nnodes);
  flag('ref.num_gpus_per_node', p.gpusPerNode);
  flag('vllm.num_engines', p.nnodes * p.gpusPerNode);
  a.push('--train.colocate_all');
  return { args: a, warnings: warn };
}

/** The reward for OpenRLHF: one Python function source as its file, else the serve-rewards URL. */
function openRlhfReward(c: Obj, configDir: string, warnings: string[]): string {
  const sources = (get(c, 'reward.sources') as Obj[]).filter(isObj);
  const rules = get(c, 'reward.rules') as unknown[];
  const fn = sources.length === 1 && rules.length === 0 && typeof sources[0].function === 'string' ? sources[0].function : undefined;
  if (fn && fn.endsWith(':reward_func') && (sources[0].weight ?? 1) === 1) return path.resolve(configDir, fn.split(':')[0]);
  if (sources.length) warnings.push('reward.sources: OpenRLHF takes one reward (a URL or a reward_func file): the job posts to rlhf serve-rewards, which scores reward.rules only');
  return '${RLHF_REWARD_URL:?run rlhf serve-rewards CONFIG and export the URL it prints}';
}

/** Writes OUT/run.sh (and OUT/args.json) for OpenRLHF; returns the job. */
export function exportOpenRlhfJob(opts: OpenRlhfExportOptions): OpenRlhfJob {
  const { c, configDir, modelPath, warnings } = loadConfig(opts.configFile, opts.schema);
  const out = path.resolve(opts.outDir);
  fs.mkdirSync(out, { recursive: true });
  const rewardUrl = openRlhfReward(c, configDir, warnings);
  const built = openRlhfArgs(c, { modelPath, configDir, outDir: out, nnodes: opts.nnodes ?? 1, gpusPerNode: opts.gpusPerNode ?? 1, rewardUrl });
  warnings.push(...built.warnings);
  // one flag (with its values) per line; the reward URL stays a shell expansion
  const lines: string[] = [];
  for (const arg of built.args) {
    const q = arg === rewardUrl && arg.startsWith('${') ? `"${arg}"` : shellQuote(arg);
    if (arg.startsWith('--')) lines.push(q); else lines[lines.length - 1] += ` ${q}`;
  }
  const command = ['python3 -m openrlhf.cli.train_ppo_ray', ...lines].join(' \\\n  ');
  const runSh = path.join(out, 'run.sh');
  fs.writeFileSync(runSh, `#!/usr/bin/env bash\n# OpenRLHF job exported by RLHF Studio from ${path.resolve(opts.configFile)}\n# Watch it: rlhf watch ${shellQuote(path.join(out, 'tensorboard'))}\n${warnings.map((w) => `# warning: ${w}\n`).join('')}set -euo pipefail\n${command}\n`, { mode: 0o755 });
  const json = path.join(out, 'args.json');
  fs.writeFileSync(json, `${JSON.stringify({ args: built.args, warnings }, null, 1)}\n`);
  return { args: built.args, command, warnings, files: [runSh, json] };
}
