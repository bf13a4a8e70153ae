// The batch arithmetic of a run config, as the trainer checks it (trainer/rlhf_trainer/config.py
// batch_problems: the same rules and the same messages; trainer/tests/fixtures/batch_rules.json holds cases
// both must give). Every rollout sample is trained on in whole optimizer steps, so
// train.batch_size divides rollout.batch_size x n_samples_per_prompt, and train.micro_batch_size divides
// train.batch_size. Each message names its fixes ("set train.batch_size to 64"), which the editor offers as
// Quick Fixes (configCheck.ts fixesOf). No vscode here.
import YAML from 'yaml';
import { fixesOf, type ValueFix } from './configCheck';

export interface BatchSizes { rolloutBatch: number; samplesPerPrompt: number; trainBatch: number; microBatch: number; maxEpochs: number }
export interface BatchProblem { field: 'train.batch_size' | 'train.micro_batch_size'; message: string }

const downFrom = (from: number, ok: (d: number) => boolean): number | undefined => {
  for (let d = from; d >= 1; d--) if (ok(d)) return d;
  return undefined;
};

/** The rollout rule's message (train.batch_size does not divide the rollout's samples); `micro`: what the train batch must also be a multiple of. */
function rolloutMessage(b: BatchSizes, micro: number): string {
  const { rolloutBatch: rb, samplesPerPrompt: n, trainBatch: tb, maxEpochs } = b;
  const samples = rb * n;
  const d = downFrom(Math.min(tb, samples), (x) => samples % x === 0 && x % micro === 0);
  let fixRb = rb + 1;
  while ((fixRb * n) % tb !== 0) fixRb++;
  const fixes = [...(d !== undefined ? [`set train.batch_size to ${d}`] : []), `set rollout.batch_size to ${fixRb}`];
  return `a rollout batch holds ${samples} samples (rollout.batch_size ${rb} x n_samples_per_prompt ${n}), ` +
    `not a multiple of train.batch_size ${tb}: each of the ${maxEpochs} epoch(s) would train on ` +
    `${Math.floor(samples / tb) * tb} and skip ${samples % tb}; ${fixes.join(' or ')}`;
}

/** Every batch problem, at most one per field; empty when the sizes fit. */
export function batchProblems(b: BatchSizes): BatchProblem[] {
  const { rolloutBatch: rb, samplesPerPrompt: n, trainBatch: tb, microBatch: mb } = b;
  const samples = rb * n;
  if (mb > tb) {
    // the micro-batch is the memory limit: the whole train batch is below it
    const micro: BatchProblem = { field: 'train.micro_batch_size', message: `micro_batch_size ${mb} exceeds train.batch_size ${tb}; lower it to ${tb}` };
    return samples % tb ? [micro, { field: 'train.batch_size', message: rolloutMessage(b, 1) }] : [micro];
  }
  if (tb % mb) {
    // one line for train.batch_size, naming the rollout rule too when the train batch breaks it as well
    const rolloutOk = samples % tb === 0;
    const fixes: string[] = [];
    const d = downFrom(tb, (x) => samples % x === 0 && x % mb === 0);
    if (d !== undefined) fixes.push(`set train.batch_size to ${d}`);
    if (rolloutOk) fixes.push(`set train.micro_batch_size to ${downFrom(mb, (x) => tb % x === 0)!}`);
    // no train batch fits both: first one the rollout divides; its micro-batch is the next fix
    if (!fixes.length) fixes.push(`set train.batch_size to ${downFrom(tb, (x) => samples % x === 0)!}`);
    const rollout = rolloutOk ? '' : `, nor does it divide a rollout batch of ${samples} samples (rollout.batch_size ${rb} x n_samples_per_prompt ${n}), ` +
      `so ${samples % tb} would be skipped each epoch`;
    return [{ field: 'train.batch_size', message: `batch_size ${tb} is not a multiple of micro_batch_size ${mb}${rollout}; ${fixes.join(' or ')}` }];
  }
  return samples % tb ? [{ field: 'train.batch_size', message: rolloutMessage(b, mb) }] : [];
}

type Schema = { properties?: Record<string, { properties?: Record<string, { default?: unknown }> }> };

/** The batch sizes a run config sets, the schema's defaults for the rest; undefined when one is not a positive integer. */
export function batchSizesOf(text: string, schema: object): BatchSizes | undefined {
  let cfg: unknown;
  try { cfg = YAML.parse(text); } catch { return undefined; }
  const props = (schema as Schema).properties ?? {};
  const get = (section: string, key: string): number | undefined => {
    const sec = cfg && typeof cfg === 'object' ? (cfg as Record<string, unknown>)[section] : undefined;
    const v = sec && typeof sec === 'object' && key in sec ? (sec as Record<string, unknown>)[key] : props[section]?.properties?.[key]?.default;
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
  };
  const s = { rolloutBatch: get('rollout', 'batch_size'), samplesPerPrompt: get('rollout', 'n_samples_per_prompt'), trainBatch: get('train', 'batch_size'),
    microBatch: get('train', 'micro_batch_size'), maxEpochs: get('train', 'max_epochs') };
  return Object.values(s).every((v) => v !== undefined) ? s as BatchSizes : undefined;
}

/** The Quick Fixes for a problem at `field` of this config's batch sizes (computed from the document as it is now). */
export function batchQuickFixes(text: string, schema: object, field: string | undefined): ValueFix[] {
  const sizes = batchSizesOf(text, schema);
  if (!sizes || !field) return [];
  return batchProblems(sizes).filter((p) => p.field === field).flatMap((p) => fixesOf({ field: p.field, message: p.message }));
}
