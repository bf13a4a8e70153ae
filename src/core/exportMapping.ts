// What a config of this project becomes in a verl job (Hydra overrides) and an OpenRLHF job (flags): one
// table per target. The exporters (exportJob.ts) apply every row's `copy` entries from these tables and set
// the `keys` of the other rows in their own code (where the value depends on more than one key);
// docs/verl-export.md's mapping tables are generated from them (`node scripts/export-mapping-doc.mjs`), and
// test/unit/exportMapping.test.ts checks that what the exporters emit is exactly what the tables declare.

/** How a copied value is written: as is, as a float that stays a float (verl's types), null → a number, a switch flag. */
export type CopyHow = 'same' | 'float' | { nullAs: number } | 'switch';
/** [config key, target key (a Hydra override path or an OpenRLHF flag without --), how] */
export type Copy = readonly [from: string, to: string, how?: CopyHow];

export interface MappingRow {
  /** the config key(s), as the doc names them */
  ours: string;
  /** what they become, as the doc names it ('–': nothing) */
  theirs: string;
  note?: string;
  /** applied by the exporter's loop, in order: the target gets the config value */
  copy?: readonly Copy[];
  /** targets the exporter's own code sets for this row (their value depends on more than one key, or on the export) */
  keys?: readonly string[];
}

const A = 'actor_rollout_ref.actor', R = 'actor_rollout_ref.rollout';

export const VERL_MAPPING: readonly MappingRow[] = [
  { ours: 'name', theirs: 'trainer.experiment_name (trainer.project_name=rlhf-studio)', copy: [['name', 'trainer.experiment_name']], keys: ['trainer.project_name'] },
  { ours: 'seed', theirs: 'data.seed', copy: [['seed', 'data.seed']] },
  { ours: 'device: cpu', theirs: '–', note: 'warning: verl trains on GPUs' },
  { ours: 'model.policy', theirs: 'actor_rollout_ref.model.path (critic.model.path for ppo)', note: 'resolved against the config\'s folder; a missing folder with create_if_missing warns', keys: ['actor_rollout_ref.model.path', 'critic.model.path'] },
  { ours: 'model.reference', theirs: '–', note: 'warning: verl\'s reference is the initial policy' },
  { ours: 'model.gradient_checkpointing', theirs: 'actor_rollout_ref.model.enable_gradient_checkpointing', copy: [['model.gradient_checkpointing', 'actor_rollout_ref.model.enable_gradient_checkpointing']] },
  { ours: 'model.trust_remote_code', theirs: 'actor_rollout_ref.model.trust_remote_code', copy: [['model.trust_remote_code', 'actor_rollout_ref.model.trust_remote_code']] },
  { ours: 'data.prompts / data.eval_prompts', theirs: 'data.train_files / data.val_files (the Parquet files)', note: 'no eval prompts: val_files = train, test_freq=-1, val_before_train=false', keys: ['data.train_files', 'data.val_files', 'trainer.val_before_train'] },
  { ours: 'data.prompt_key, data.label_key', theirs: 'prompt / reward_model.ground_truth columns', keys: ['data.prompt_key'] },
  { ours: 'data.input_template', theirs: 'applied to the prompt text at export' },
  { ours: 'data.apply_chat_template: false', theirs: '–', note: 'warning: verl always applies the chat template' },
  { ours: 'data.max_prompt_tokens', theirs: 'data.max_prompt_length (data.truncation=left)', copy: [['data.max_prompt_tokens', 'data.max_prompt_length']], keys: ['data.truncation'] },
  { ours: 'data.max_samples', theirs: 'data.train_max_samples', copy: [['data.max_samples', 'data.train_max_samples']] },
  { ours: 'rollout.batch_size', theirs: 'data.train_batch_size', note: 'prompts per step in both', copy: [['rollout.batch_size', 'data.train_batch_size']] },
  { ours: 'rollout.n_samples_per_prompt', theirs: `${R}.n`, copy: [['rollout.n_samples_per_prompt', `${R}.n`]] },
  { ours: 'rollout.max_new_tokens', theirs: 'data.max_response_length', copy: [['rollout.max_new_tokens', 'data.max_response_length']] },
  {
    ours: 'rollout.temperature, top_p, top_k (null)', theirs: `${R}.temperature, top_p, top_k (-1)`,
    copy: [['rollout.temperature', `${R}.temperature`, 'float'], ['rollout.top_p', `${R}.top_p`, 'float'], ['rollout.top_k', `${R}.top_k`, { nullAs: -1 }]],
  },
  {
    ours: 'rollout.micro_batch_size', theirs: `${R}.log_prob_micro_batch_size_per_gpu, actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu`,
    copy: [['rollout.micro_batch_size', `${R}.log_prob_micro_batch_size_per_gpu`], ['rollout.micro_batch_size', 'actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu']],
  },
  { ours: 'train.batch_size', theirs: `${A}.ppo_mini_batch_size = ⌈batch_size / n⌉`, note: 'verl counts prompts; warning if not a multiple of n', keys: [`${A}.ppo_mini_batch_size`] },
  { ours: 'train.micro_batch_size', theirs: `${A}.ppo_micro_batch_size_per_gpu`, copy: [['train.micro_batch_size', `${A}.ppo_micro_batch_size_per_gpu`]] },
  { ours: 'train.max_epochs', theirs: `${A}.ppo_epochs`, copy: [['train.max_epochs', `${A}.ppo_epochs`]] },
  { ours: 'train.num_episodes', theirs: 'trainer.total_epochs', copy: [['train.num_episodes', 'trainer.total_epochs']] },
  { ours: 'train.max_steps', theirs: 'trainer.total_training_steps', note: 'null: left out', keys: ['trainer.total_training_steps'] },
  {
    ours: 'train.lr, warmup_ratio, min_lr_ratio', theirs: 'actor.optim.lr, lr_warmup_steps_ratio, min_lr_ratio (lr_scheduler_type=cosine)',
    copy: [['train.lr', `${A}.optim.lr`, 'float'], ['train.warmup_ratio', `${A}.optim.lr_warmup_steps_ratio`, 'float'], ['train.min_lr_ratio', `${A}.optim.min_lr_ratio`, 'float']],
    keys: [`${A}.optim.lr_scheduler_type`],
  },
  { ours: 'train.weight_decay, adam_betas', theirs: 'actor.optim.weight_decay, betas', copy: [['train.weight_decay', `${A}.optim.weight_decay`, 'float'], ['train.adam_betas', `${A}.optim.betas`]] },
  { ours: 'train.max_grad_norm', theirs: 'actor.grad_clip', copy: [['train.max_grad_norm', `${A}.grad_clip`, 'float']] },
  { ours: 'train.loss_aggregation', theirs: 'actor.loss_agg_mode (token-mean / seq-mean-token-mean)', keys: [`${A}.loss_agg_mode`] },
  { ours: 'train.critic_lr', theirs: 'critic.optim.lr', note: 'ppo only', keys: ['critic.optim.lr'] },
  {
    ours: 'algorithm.estimator', theirs: 'algorithm.adv_estimator: reinforce_pp→reinforce_plus_plus, reinforce_pp_baseline→reinforce_plus_plus_baseline, grpo, rloo, dr_grpo→grpo (+norm_adv_by_std_in_grpo=false, loss_agg_mode=seq-mean-token-sum-norm), ppo→gae',
    keys: ['algorithm.adv_estimator'],
  },
  { ours: 'algorithm.std_norm', theirs: 'algorithm.norm_adv_by_std_in_grpo (grpo)', note: 'false with another estimator: warning', keys: ['algorithm.norm_adv_by_std_in_grpo'] },
  { ours: 'algorithm.gamma, lambd', theirs: 'algorithm.gamma, lam', copy: [['algorithm.gamma', 'algorithm.gamma', 'float'], ['algorithm.lambd', 'algorithm.lam', 'float']] },
  { ours: 'algorithm.eps_clip, eps_clip_high', theirs: 'actor.clip_ratio, clip_ratio_low, clip_ratio_high', keys: [`${A}.clip_ratio`, `${A}.clip_ratio_low`, `${A}.clip_ratio_high`] },
  { ours: 'algorithm.dual_clip', theirs: 'actor.clip_ratio_c', note: 'null (off): warning, verl always dual-clips', keys: [`${A}.clip_ratio_c`] },
  { ours: 'algorithm.entropy_coef (null)', theirs: 'actor.entropy_coeff (0)', copy: [['algorithm.entropy_coef', `${A}.entropy_coeff`, { nullAs: 0 }]] },
  { ours: 'algorithm.reward_clip', theirs: '–', note: 'warning' },
  { ours: 'algorithm.kl.mode: reward', theirs: 'algorithm.use_kl_in_reward=true, algorithm.kl_ctrl.kl_coef, algorithm.kl_penalty; actor.use_kl_loss=false', keys: ['algorithm.use_kl_in_reward', 'algorithm.kl_ctrl.kl_coef', 'algorithm.kl_penalty', `${A}.use_kl_loss`] },
  { ours: 'algorithm.kl.mode: loss', theirs: 'actor.use_kl_loss=true, actor.kl_loss_coef, actor.kl_loss_type; use_kl_in_reward=false', keys: [`${A}.kl_loss_coef`, `${A}.kl_loss_type`] },
  { ours: 'algorithm.kl.estimator k1 / k2 / k3', theirs: 'kl / mse / low_var_kl', note: 'verl `core_algos.kl_penalty`' },
  { ours: 'reward.*', theirs: 'reward.custom_reward_function.path/name (reward_fn.py, compute_score)', note: 'see Reward', keys: ['reward.custom_reward_function.path', 'reward.custom_reward_function.name'] },
  { ours: 'eval.every_steps', theirs: 'trainer.test_freq', keys: ['trainer.test_freq'] },
  { ours: 'eval.k, eval.greedy', theirs: `${R}.val_kwargs.n, val_kwargs.do_sample=!greedy`, copy: [['eval.k', `${R}.val_kwargs.n`]], keys: [`${R}.val_kwargs.do_sample`] },
  { ours: 'eval.max_prompts', theirs: 'rows of data/val.parquet', note: 'warning' },
  {
    ours: 'checkpoint.every_steps (null), keep_last', theirs: 'trainer.save_freq (-1), trainer.max_actor_ckpt_to_keep', note: 'trainer.default_local_dir=OUT/checkpoints', // not a run-folder name: verl's output folder
    copy: [['checkpoint.every_steps', 'trainer.save_freq', { nullAs: -1 }], ['checkpoint.keep_last', 'trainer.max_actor_ckpt_to_keep']], keys: ['trainer.default_local_dir'],
  },
  { ours: 'logging.samples_per_step', theirs: '–', note: 'warning: verl dumps every rollout' },
  {
    ours: '(cluster)', theirs: `trainer.nnodes, trainer.n_gpus_per_node, ${R}.name (vllm), tensor_model_parallel_size=1`, note: 'export options',
    keys: ['trainer.nnodes', 'trainer.n_gpus_per_node', `${R}.name`, `${R}.tensor_model_parallel_size`],
  },
  { ours: '(always)', theirs: 'trainer.logger=[console,file], trainer.rollout_data_dir=OUT/rollouts, trainer.validation_data_dir=OUT/validation', keys: ['trainer.logger', 'trainer.rollout_data_dir', 'trainer.validation_data_dir'] },
];

export const OPENRLHF_MAPPING: readonly MappingRow[] = [
  {
    ours: 'algorithm.estimator', theirs: '--algo.advantage.estimator: reinforce_pp→reinforce, reinforce_pp_baseline→reinforce_baseline, rloo, grpo→group_norm, dr_grpo, ppo→gae (+ --critic.model_name_or_path, --critic.adam.lr)',
    keys: ['algo.advantage.estimator', 'critic.model_name_or_path', 'critic.adam.lr'],
  },
  { ours: 'algorithm.std_norm: false', theirs: '--algo.advantage.no_std_norm', keys: ['algo.advantage.no_std_norm'] },
  { ours: 'algorithm.gamma, lambd', theirs: '--algo.advantage.gamma, --algo.advantage.lambd', copy: [['algorithm.gamma', 'algo.advantage.gamma'], ['algorithm.lambd', 'algo.advantage.lambd']] },
  {
    ours: 'algorithm.kl.coef, estimator, mode: loss', theirs: '--algo.kl.init_coef, --algo.kl.estimator, --algo.kl.use_loss',
    copy: [['algorithm.kl.coef', 'algo.kl.init_coef'], ['algorithm.kl.estimator', 'algo.kl.estimator']], keys: ['algo.kl.use_loss'],
  },
  { ours: 'algorithm.eps_clip (, eps_clip_high)', theirs: '--actor.eps_clip (--actor.eps_clip_low_high LOW HIGH)', keys: ['actor.eps_clip', 'actor.eps_clip_low_high'] },
  {
    ours: 'algorithm.dual_clip, entropy_coef, reward_clip', theirs: '--actor.dual_clip, --actor.entropy_coef, --reward.clip_range LO HI', note: 'null: left out',
    copy: [['algorithm.reward_clip', 'reward.clip_range']], keys: ['actor.dual_clip', 'actor.entropy_coef'],
  },
  {
    ours: 'model.policy, gradient_checkpointing', theirs: '--actor.model_name_or_path, --actor.gradient_checkpointing_enable',
    copy: [['model.gradient_checkpointing', 'actor.gradient_checkpointing_enable', 'switch']], keys: ['actor.model_name_or_path'],
  },
  {
    ours: 'data.prompts, prompt_key, label_key, input_template, apply_chat_template, max_samples', theirs: '--data.prompt_dataset, --data.input_key, --data.label_key, --data.input_template, --data.apply_chat_template, --data.max_samples',
    copy: [['data.prompt_key', 'data.input_key'], ['data.apply_chat_template', 'data.apply_chat_template', 'switch'], ['data.max_samples', 'data.max_samples']],
    keys: ['data.prompt_dataset', 'data.label_key', 'data.input_template'],
  },
  { ours: 'data.max_prompt_tokens + rollout.max_new_tokens', theirs: '--data.max_len; --rollout.max_new_tokens', copy: [['rollout.max_new_tokens', 'rollout.max_new_tokens']], keys: ['data.max_len'] },
  {
    ours: 'rollout.batch_size, n_samples_per_prompt, micro_batch_size, temperature, top_p', theirs: '--rollout.batch_size, --rollout.n_samples_per_prompt, --rollout.micro_batch_size, --rollout.temperature, --rollout.top_p',
    copy: [['rollout.batch_size', 'rollout.batch_size'], ['rollout.n_samples_per_prompt', 'rollout.n_samples_per_prompt'], ['rollout.micro_batch_size', 'rollout.micro_batch_size'],
      ['rollout.temperature', 'rollout.temperature'], ['rollout.top_p', 'rollout.top_p']],
  },
  { ours: 'rollout.top_k', theirs: '– (warning)' },
  {
    ours: 'train.batch_size, micro_batch_size, max_epochs, num_episodes; seed', theirs: '--train.batch_size, --train.micro_batch_size, --train.max_epochs, --train.num_episodes; --train.seed',
    copy: [['train.batch_size', 'train.batch_size'], ['train.micro_batch_size', 'train.micro_batch_size'], ['train.max_epochs', 'train.max_epochs'], ['train.num_episodes', 'train.num_episodes'], ['seed', 'train.seed']],
  },
  { ours: 'train.max_steps', theirs: '– (warning)' },
  {
    ours: 'train.lr, adam_betas, weight_decay, warmup_ratio, min_lr_ratio, max_grad_norm, loss_aggregation', theirs: '--actor.adam.lr, --actor.adam.betas, --actor.adam.weight_decay, --actor.lr_warmup_ratio, --actor.min_lr_ratio, --actor.max_norm, --actor.loss_agg_mode',
    copy: [['train.lr', 'actor.adam.lr'], ['train.adam_betas', 'actor.adam.betas'], ['train.weight_decay', 'actor.adam.weight_decay'], ['train.warmup_ratio', 'actor.lr_warmup_ratio'],
      ['train.min_lr_ratio', 'actor.min_lr_ratio'], ['train.max_grad_norm', 'actor.max_norm']],
    keys: ['actor.loss_agg_mode'],
  },
  { ours: 'reward.rules', theirs: '--reward.remote_url "$RLHF_REWARD_URL" (`rlhf serve-rewards CONFIG`)', keys: ['reward.remote_url'] },
  { ours: 'reward.sources: one `file.py:reward_func`, weight 1, no rules', theirs: '--reward.remote_url file.py (OpenRLHF\'s custom reward function)' },
  {
    ours: 'data.eval_prompts, eval.every_steps, eval.k, eval.greedy', theirs: '--eval.dataset, --eval.steps, --eval.n_samples_per_prompt, --eval.temperature 0', note: 'only with eval prompts',
    keys: ['eval.dataset', 'eval.steps', 'eval.n_samples_per_prompt', 'eval.temperature'],
  },
  {
    ours: 'checkpoint.every_steps, keep_last', theirs: '--ckpt.save_steps, --ckpt.max_num (--ckpt.path OUT/checkpoints)',
    copy: [['checkpoint.every_steps', 'ckpt.save_steps', { nullAs: -1 }], ['checkpoint.keep_last', 'ckpt.max_num']], keys: ['ckpt.path'],
  },
  { ours: 'name', theirs: '--logger.wandb.run_name (TensorBoard subfolder), --logger.tensorboard_dir OUT/tensorboard', copy: [['name', 'logger.wandb.run_name']], keys: ['logger.tensorboard_dir'] },
  {
    ours: '(cluster)', theirs: '--actor/ref.num_nodes, --actor/ref.num_gpus_per_node, --vllm.num_engines, --train.colocate_all', note: 'export options',
    keys: ['actor.num_nodes', 'actor.num_gpus_per_node', 'ref.num_nodes', 'ref.num_gpus_per_node', 'vllm.num_engines', 'train.colocate_all'],
  },
];

/** Every target a table declares: its rows' copy targets and keys. */
export function declaredTargets(rows: readonly MappingRow[]): Set<string> {
  return new Set(rows.flatMap((r) => [...(r.copy ?? []).map((c) => c[1]), ...(r.keys ?? [])]));
}

/** A table as the Markdown docs/verl-export.md shows (`note` column only where a row has one). */
export function mappingMarkdown(rows: readonly MappingRow[], theirsTitle: string): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const withNotes = rows.some((r) => r.note);
  const head = withNotes ? `| RLHF Studio | ${theirsTitle} | note |\n|---|---|---|` : `| RLHF Studio | ${theirsTitle} |\n|---|---|`;
  return [head, ...rows.map((r) => `| ${cell(r.ours)} | ${cell(r.theirs)} |${withNotes ? (r.note ? ` ${cell(r.note)} |` : ' |') : ''}`)].join('\n');
}
