// Each framework's metric names mapped onto the names the dashboard's panels plot (src/core/charts/data.ts
// PANELS, the native trainer's events). The first source present in a step wins; every other
// metric, a shadowed source included, keeps its own name. Metrics a table calls eval go to the
// eval series. docs/adapters.md shows these tables.
export type Framework = 'verl' | 'openrlhf' | 'trl' | 'prime-rl' | 'nemo-rl';
export const FRAMEWORKS: readonly Framework[] = ['verl', 'openrlhf', 'trl', 'prime-rl', 'nemo-rl'];

type Source = string | RegExp;
export interface NameTable {
  /** target name -> its sources, best first */
  panels: [string, Source[]][];
  /** eval metrics (mapped with `evalPanels`, else kept as they are) */
  isEval: (name: string) => boolean;
  evalPanels: [string, Source[]][];
}

export const NAME_TABLES: Record<Framework, NameTable> = {
  verl: {
    panels: [
      ['reward_mean', ['critic/score/mean', 'critic/rewards/mean']],
      ['kl', ['actor/kl_loss', 'actor/reward_kl_penalty']],
      ['policy_loss', ['actor/pg_loss']],
      ['entropy', ['actor/entropy']],
      ['clip_frac', ['actor/pg_clipfrac']],
      ['grad_norm', ['actor/grad_norm']],
      ['lr', ['actor/lr']],
      ['response_length_mean', ['response_length/mean']],
      ['response_length_max', ['response_length/max']],
      ['tokens_per_s', ['perf/throughput']],
      ['rollout_s', ['timing_s/gen']],
      ['train_s', ['timing_s/update_actor']],
    ],
    isEval: (n) => n.startsWith('val-core/') || n.startsWith('val-aux/') || n.startsWith('val/'),
    evalPanels: [['eval_reward_mean', [/^val-core\/[^/]+\/reward\/mean@\d+$/]]],
  },
  openrlhf: {
    panels: [
      ['reward_mean', ['train/rollout/reward_mean', 'train/reward']],
      ['reward_std', ['train/rollout/reward_std']],
      ['kl', ['train/kl']],
      ['policy_loss', ['train/policy_loss']],
      ['entropy', ['train/entropy_loss']],
      ['clip_frac', ['train/ppo_clip_ratio']],
      ['grad_norm', ['train/actor_grad_norm', 'train/grad_norm']],
      ['lr', ['train/actor_lr']],
      ['response_length_mean', ['train/rollout/response_length_mean', 'train/response_length']],
      ['total_length_mean', ['train/total_length']],
    ],
    isEval: (n) => n.startsWith('eval/'),
    evalPanels: [],
  },
  trl: {
    panels: [
      ['reward_mean', ['reward']],
      ['reward_std', ['reward_std']],
      ['kl', ['kl']],
      ['policy_loss', ['loss']],
      ['entropy', ['entropy']],
      ['clip_frac', ['clip_ratio/region_mean']],
      ['grad_norm', ['grad_norm']],
      ['lr', ['learning_rate']],
      ['response_length_mean', ['completions/mean_length']],
      ['response_length_max', ['completions/max_length']],
    ],
    isEval: (n) => n.startsWith('eval_'),
    evalPanels: [['eval_reward_mean', ['eval_reward']]],
  },
  'prime-rl': {
    // mismatch_kl (trainer vs inference policy) is no KL to a reference model: it keeps its name.
    panels: [
      ['reward_mean', [/^train\/agg\/effective\/[^/]+\/reward\/mean$/]],
      ['policy_loss', ['loss/mean']],
      ['entropy', ['entropy/all/mean']],
      ['grad_norm', ['optim/grad_norm']],
      ['lr', ['optim/lr']],
      ['response_length_mean', ['train/agg/effective/num_output_tokens/mean']],
      ['tokens_per_s', ['perf/throughput']],
    ],
    isEval: (n) => n.startsWith('eval/'),
    evalPanels: [],
  },
  'nemo-rl': {
    // TensorBoard's tags (Logger.log_metrics with prefix train/, validation/, timing/train/) first; the
    // train_data/ and val_data/ values are what the reader derives from the step's dumps.
    panels: [
      ['reward_mean', ['train/reward', 'train_data/reward_mean']],
      ['kl', ['train/kl_penalty']],
      ['policy_loss', ['train/loss']],
      ['entropy', ['train/approx_entropy']],
      ['grad_norm', ['train/grad_norm']],
      ['lr', ['train/lr']],
      ['response_length_mean', ['train/mean_gen_tokens_per_sample', 'train_data/response_length_mean']],
      ['response_length_max', ['train/max_gen_tokens_per_sample', 'train_data/response_length_max']],
      ['rollout_s', ['timing/train/generation']],
      ['train_s', ['timing/train/policy_training']],
    ],
    isEval: (n) => n.startsWith('validation/') || n.startsWith('val_data/'),
    evalPanels: [['eval_reward_mean', ['validation/accuracy', 'val_data/reward_mean']]],
  },
};

const matches = (s: Source, name: string): boolean => (typeof s === 'string' ? s === name : s.test(name));

function applyTable(values: Record<string, number | null>, panels: [string, Source[]][]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const used = new Set<string>();
  for (const [target, sources] of panels) {
    for (const s of sources) {
      const name = Object.keys(values).find((k) => !used.has(k) && matches(s, k));
      if (name !== undefined) { out[target] = values[name]; used.add(name); break; }
    }
  }
  for (const [k, v] of Object.entries(values)) if (!used.has(k) && !(k in out)) out[k] = v;
  return out;
}

/** Raw metrics split into training and eval values, still under the framework's names. */
export function splitMetrics(framework: Framework, raw: Record<string, number | null>): { train: Record<string, number | null>; eval: Record<string, number | null> } {
  const isEval = NAME_TABLES[framework].isEval;
  const train: Record<string, number | null> = {};
  const ev: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(raw)) (isEval(k) ? ev : train)[k] = v;
  return { train, eval: ev };
}

/** One step's training values under the dashboard's names. */
export const mapTrain = (framework: Framework, raw: Record<string, number | null>) => applyTable(raw, NAME_TABLES[framework].panels);
/** One step's eval values under the dashboard's names. */
export const mapEval = (framework: Framework, raw: Record<string, number | null>) => applyTable(raw, NAME_TABLES[framework].evalPanels);
