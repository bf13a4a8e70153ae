// What the playground ("RLHF: Try Checkpoint") takes from a run, without vscode: the sampling its
// rollouts used (the page's starting settings, so an answer here is drawn the way the trainer drew
// them), the models a column can run (the checkpoints and the initial policy), and where a model
// without an ONNX export is exported to: a cache outside the run folder (docs/onnx.md, "Where the
// playground's exports go").
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointInfos } from '../run/checkpoints';
import { readRunStarted } from '../run/events';
import { readRunConfig } from '../run/config';
import { onnxGraphPath } from './model';
import { DEFAULT_SETTINGS, MAX_NEW_TOKENS_LIMIT, type GenerateSettings, type PlaygroundChoice } from './sampling';

/** The trainer's defaults of rollout.temperature / top_p / top_k (schemas/config.schema.json). */
const TRAINER_ROLLOUT = { temperature: 1, top_p: 1, top_k: 0 };

export interface PlaygroundSettings {
  settings: GenerateSettings;
  /** Where they came from, as the page shows it beside them. */
  source: string;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The rollout keys (temperature, top_p, top_k, max_new_tokens) as the page's settings; undefined when a value is out of range. */
function fromRollout(r: Record<string, unknown>): GenerateSettings | undefined {
  const temperature = r.temperature ?? TRAINER_ROLLOUT.temperature;
  const topP = r.top_p ?? TRAINER_ROLLOUT.top_p;
  const topK = r.top_k ?? TRAINER_ROLLOUT.top_k; // null = off
  if (!isNum(temperature) || temperature < 0 || temperature > 100 || !isNum(topP) || !(topP > 0 && topP <= 1)) return undefined;
  if (!Number.isInteger(topK) || (topK as number) < 0) return undefined;
  const max = r.max_new_tokens;
  const maxNewTokens = Number.isInteger(max) && (max as number) >= 1 ? Math.min(max as number, MAX_NEW_TOKENS_LIMIT) : DEFAULT_SETTINGS.maxNewTokens;
  return { temperature, topP, topK: topK as number, maxNewTokens, greedy: temperature === 0 };
}

/** "temperature 1, top-p 0.9, top-k 40, 32 tokens". */
export function describeSettings(s: GenerateSettings): string {
  return `temperature ${s.temperature}, top-p ${s.topP}, top-k ${s.topK ? s.topK : 'off'}, ${s.maxNewTokens} tokens`;
}

/**
 * The sampling a run's rollouts used, as the playground's starting settings: config.yaml's rollout
 * (temperature, top_p, top_k, max_new_tokens; the trainer writes it resolved, a missing key is the
 * trainer's default), else run_started's `sampling` in events.jsonl; undefined when the run has neither.
 */
export function runSampling(runDir: string): PlaygroundSettings | undefined {
  let rollout: unknown;
  try { rollout = readRunConfig(runDir)?.rollout; } catch { rollout = undefined; }
  const fromConfig = isObj(rollout) ? fromRollout(rollout) : undefined;
  if (fromConfig) return { settings: fromConfig, source: `from the run's rollout settings (config.yaml rollout: ${describeSettings(fromConfig)})` };
  const started = readRunStarted(runDir)?.sampling;
  const fromEvents = isObj(started) && Object.keys(started).length ? fromRollout(started) : undefined;
  if (fromEvents) return { settings: fromEvents, source: `from the run's rollout settings (run_started sampling: ${describeSettings(fromEvents)})` };
  return undefined;
}

/** The page's starting settings: the run's rollout sampling, or the playground's defaults, saying which. */
export function playgroundSettings(runDir: string | undefined): PlaygroundSettings {
  const run = runDir ? runSampling(runDir) : undefined;
  if (run) return run;
  return { settings: DEFAULT_SETTINGS, source: `playground defaults (${runDir ? 'the run records no rollout sampling' : 'not opened on a run'}): ${describeSettings(DEFAULT_SETTINGS)}` };
}

// ---- the export cache -----------------------------------------------------------------------

/** The files whose size and time say the weights changed (a checkpoint saved again under the same name). */
const WEIGHT_FILE = /\.(safetensors|bin|json|model)$/;

/**
 * Where the playground exports `source` (a checkpoint or model folder): `<cacheRoot>/<folder name>-<hash>`,
 * the hash of its absolute path and its weight and config files' names, sizes and modification times,
 * so a folder saved again exports again, and never into the run folder itself.
 */
export function exportCacheDir(cacheRoot: string, source: string): string {
  const abs = path.resolve(source);
  const h = crypto.createHash('sha256').update(abs);
  let names: string[] = [];
  try { names = fs.readdirSync(abs).filter((n) => WEIGHT_FILE.test(n)).sort(); } catch { /* a missing folder: the export says so */ }
  for (const n of names) {
    try {
      const st = fs.statSync(path.join(abs, n));
      if (st.isFile()) h.update(`\0${n}\0${st.size}\0${st.mtimeMs}`);
    } catch { /* gone meanwhile */ }
  }
  const name = path.basename(abs).replace(/[^\w.-]+/g, '_').slice(0, 60) || 'model';
  return path.join(cacheRoot, `${name}-${h.digest('hex').slice(0, 16)}`);
}

/** The initial policy of a run (config.yaml model.policy: the trainer writes it as an absolute path), when it is a local model folder. */
export function initialPolicy(runDir: string): string | undefined {
  try {
    const cfg = readRunConfig(runDir);
    const p = cfg?.model?.policy;
    return typeof p === 'string' && path.isAbsolute(p) && fs.existsSync(path.join(p, 'config.json')) ? p : undefined;
  } catch { return undefined; }
}

/**
 * A model folder as a playground choice: its own export when it has one (Export as ONNX, `rlhf export
 * --format onnx -o CHECKPOINT`), else an export into the cache (made by `prepare` on the first Generate).
 */
export function cachedChoice(cacheRoot: string, source: string, id: string, label: string, detail = source): PlaygroundChoice {
  if (onnxGraphPath(source)) return { id, label, detail, dir: source };
  const dir = exportCacheDir(cacheRoot, source);
  return { id, label: `${label}${onnxGraphPath(dir) ? '' : ' (exports first)'}`, detail, dir, source };
}

/**
 * The models of a run a playground column can run: its checkpoints (newest first; an int8 graph exported
 * with Export as ONNX next to its fp32 one) and the initial policy (flagged `initial`). Nothing is exported
 * into the run folder: what has no export gets a folder under `cacheRoot`.
 */
export function runChoices(runDir: string, runId: string, cacheRoot: string): PlaygroundChoice[] {
  const choices: PlaygroundChoice[] = checkpointInfos(runDir).reverse().flatMap((c) => [
    cachedChoice(cacheRoot, c.dir, c.dir, `${runId} step ${c.step}`),
    ...(onnxGraphPath(c.dir, true) ? [{ id: `${c.dir}#int8`, label: `${runId} step ${c.step} int8`, detail: c.dir, dir: c.dir, quantized: true }] : []),
  ]);
  const policy = initialPolicy(runDir);
  if (policy) {
    // an export the playground made before it exported to the cache (RUN/onnx-initial-policy) is still used
    const legacy = path.join(runDir, 'onnx-initial-policy');
    const label = `initial policy (${path.basename(policy)})`;
    choices.push(onnxGraphPath(legacy) ? { id: `initial:${policy}`, label, detail: policy, dir: legacy, initial: true }
      : { ...cachedChoice(cacheRoot, policy, `initial:${policy}`, label), initial: true });
  }
  return choices;
}
