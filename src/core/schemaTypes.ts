// Generated from schemas/*.json by `node scripts/schema-types.mjs`; do not edit by hand.

// schemas/config.schema.json

export type Rule = {
  /**
   * answer_match: extracted answer equals the label. regex: the pattern occurs. format: the whole response matches. length_penalty: -per_unit per unit over max. contains / not_contains: text occurs / does not. module: a TypeScript rule module (*.reward.ts). onnx_model: the score of prompt+response by a reward model exported to ONNX (python -m rlhf_trainer.onnx_export), run by the rule engine's own process, batched.
   */
  kind: 'answer_match' | 'regex' | 'format' | 'length_penalty' | 'contains' | 'not_contains' | 'module' | 'onnx_model';
  /**
   * Name in the per-rule breakdown (default: the kind).
   */
  name?: string;
  /**
   * The reward is the sum of weight x rule value.
   */
  weight?: number;
  /**
   * answer_match: how to find the answer: last_number, boxed (\\boxed{...}), full (the whole response), {regex, group}, or {json: field.path}.
   */
  extract?:
    | ('last_number' | 'boxed' | 'full')
    | {
        regex: string;
        group?: number | string;
        flags?: string;
      }
    | {
        json: string;
      };
  /**
   * answer_match: absolute-or-relative numeric tolerance (default 1e-6); 0.5, 1/2 and 50% are equal.
   */
  tolerance?: number;
  /**
   * answer_match: value when right (default 1).
   */
  correct?: number;
  /**
   * answer_match: value when wrong or missing (default 0).
   */
  wrong?: number;
  /**
   * regex / format: a JavaScript regular expression.
   */
  pattern?: string;
  /**
   * regex / format: flags such as i, m, s.
   */
  flags?: string;
  /**
   * regex / format / contains / not_contains: value when the rule holds (default 1).
   */
  reward?: number;
  /**
   * regex / format / contains / not_contains: value when it does not (default 0).
   */
  otherwise?: number;
  /**
   * length_penalty: how length is counted (default chars).
   */
  unit?: 'chars' | 'words' | 'tokens';
  /**
   * length_penalty: length allowed without penalty.
   */
  max?: number;
  /**
   * length_penalty: penalty per unit over max (default 0.01).
   */
  per_unit?: number;
  /**
   * contains / not_contains: a string or a list (any of them).
   */
  text?: string | [string, ...string[]];
  /**
   * contains / not_contains: default false.
   */
  case_sensitive?: boolean;
  /**
   * module: path of a *.reward.ts module, relative to the config. onnx_model: the exported reward model folder (with onnx/model.onnx), relative to the config.
   */
  path?: string;
  /**
   * onnx_model: sequences per onnxruntime call (default 16).
   */
  batch_size?: number;
  /**
   * module: the export to use (default: default).
   */
  export?: string;
};

/**
 * One training run of the REINFORCE++ trainer. Relative paths are resolved against the folder of the config file. Defaults live here and nowhere else.
 */
export interface ConfigSchema {
  /**
   * Run name; the run folder is runs/<YYYYMMDD-HHMMSS>-<name>.
   */
  name?: string;
  /**
   * Seeds torch, numpy and Python's random (0 to 2^32-1); the prompt order is derived from it.
   */
  seed?: number;
  /**
   * auto = CUDA when available, else CPU.
   */
  device?: 'auto' | 'cpu' | 'cuda';
  /**
   * bf16 = every forward pass under bf16 autocast over fp32 weights and optimizer state, rollouts from a bf16 copy of the policy; fp32 = fp32 throughout. auto = bf16 on CUDA, fp32 on CPU. On a CPU that multiplies bf16 in hardware (AMX or AVX512-BF16: `grep -o 'amx_bf16\|avx512_bf16' /proc/cpuinfo`), bf16 trains about 1.5-2x faster; the trainer says so when it runs fp32 there.
   */
  precision?: 'auto' | 'fp32' | 'bf16';
  model: {
    /**
     * Folder of any Hugging Face AutoModelForCausalLM (save_pretrained layout) with its tokenizer, or a hub id already in the local cache.
     */
    policy: string;
    /**
     * Frozen reference model for the KL term; defaults to the initial policy. Not loaded when algorithm.kl.coef is 0.
     */
    reference?: string | null;
    /**
     * Build an embedded tiny model (character tokenizer + supervised warm start) at model.policy when that folder does not exist: arithmetic (the demo) or lengthgame (the length-gameable comparison example).
     */
    create_if_missing?: 'arithmetic' | 'lengthgame' | null;
    /**
     * Trade compute for memory on CUDA.
     */
    gradient_checkpointing?: boolean;
    /**
     * Train LoRA adapters (peft) instead of all weights: {rank, alpha (default 16), dropout (default 0), target_modules (a list of module names, or all-linear, the default)}; null: full fine-tuning. The KL reference is the same base model with the adapters disabled (no second copy). Checkpoints hold the adapters; the Hugging Face and ONNX exports merge them. Refused with train.strategy fsdp2 (use ddp).
     */
    lora?: {
      /**
       * LoRA rank r of each adapter (A: r x in, B: out x r).
       */
      rank: number;
      /**
       * Scaling: the adapter's update is multiplied by alpha / rank.
       */
      alpha?: number;
      /**
       * Dropout on the adapter's input (0: the policy's log-probs do not depend on train/eval mode).
       */
      dropout?: number;
      /**
       * Module names (or suffixes, e.g. [q_proj, v_proj]) that get adapters, or all-linear: every linear layer but the output head. A name that matches no module is an error before training.
       *
       * @minItems 1
       */
      target_modules?: [string, ...string[]] | string;
    } | null;
    /**
     * Passed to from_pretrained. Only for models you trust.
     */
    trust_remote_code?: boolean;
  };
  data: {
    /**
     * JSONL file of training prompts, one object per line.
     */
    prompts: string;
    /**
     * Field holding the prompt (a string, or a list of chat messages).
     */
    prompt_key?: string;
    /**
     * Field holding the reference answer passed to rewards as the label (null: no label).
     */
    label_key?: string | null;
    /**
     * Wrap each prompt as a user message and apply the tokenizer's chat template with the generation prompt.
     */
    apply_chat_template?: boolean;
    /**
     * Python format string with exactly one {} placeholder wrapped around each prompt (literal braces as {{ }}; ignored with apply_chat_template).
     */
    input_template?: string | null;
    /**
     * Prompts longer than this are cut from the left (the end of the prompt, next to the response, is kept); a warning event says how many were cut.
     */
    max_prompt_tokens?: number;
    /**
     * Use at most this many prompts of the file.
     */
    max_samples?: number;
    /**
     * Optional JSONL of held-out prompts, scored every eval.every_steps with the same reward.
     */
    eval_prompts?: string | null;
  };
  rollout?: {
    /**
     * Prompts per rollout batch (one global step). Paper: 256.
     */
    batch_size?: number;
    /**
     * Responses sampled per prompt. REINFORCE++: 1; grouped estimators need more than 1.
     */
    n_samples_per_prompt?: number;
    /**
     * Generation length cap; a response that reaches it counts as truncated.
     */
    max_new_tokens?: number;
    /**
     * Sampling temperature; log-probs are computed at the same temperature.
     */
    temperature?: number;
    /**
     * Nucleus sampling; 1.0 = off. Below 1 the samples come from a truncated distribution while the log-probs use the full softmax (a warning says so).
     */
    top_p?: number;
    /**
     * Top-k sampling; null or 0 = off (the full softmax at the temperature, which is what the log-probs and the loss assume). A value truncates the sampler (a warning says so).
     */
    top_k?: number | null;
    /**
     * Sequences per no-grad forward pass while making experience (log-probs of policy and reference).
     */
    micro_batch_size?: number;
    /**
     * What generates the rollouts (every engine draws the same tokens for the same seeds): auto (the fastest this device supports: static), hf (the training model's own generate(); the reference), static (a static KV cache and the trainer's own decode loop, each prompt prefilled once for its n samples; on CUDA a bf16 copy of the policy, refreshed after each optimizer step, and CUDA graphs), paged (transformers' continuous batching, CUDA only; its sampler is not keyed by the trainer's seeds) or vllm (not built into this version; needs the vllm package and CUDA).
     */
    engine?: 'auto' | 'hf' | 'static' | 'paged' | 'vllm';
  };
  train?: {
    /**
     * Samples per optimizer step; rollout.batch_size x n_samples_per_prompt must be a multiple of it. Optimizer steps per global step = rollout.batch_size x n x max_epochs / batch_size.
     */
    batch_size?: number;
    /**
     * Samples per forward/backward; gradients are accumulated up to train.batch_size (which must be a multiple of it). With micro_batch_tokens null it also sets the token budget of a micro-batch (see there).
     */
    micro_batch_size?: number;
    /**
     * Token budget of one forward/backward: the samples of an optimizer step are sorted by response length and packed so that rows x (prompt width + longest response in the micro-batch) stays within it (at least one sample each), so short responses are not padded to the longest. null: micro_batch_size x the step's longest prompt + response (never more tokens per pass than fixed micro-batches; fewer passes when responses are short). Raise it to use more memory for fewer, larger passes.
     */
    micro_batch_tokens?: number | null;
    /**
     * Passes over each rollout batch.
     */
    max_epochs?: number;
    /**
     * Passes over the prompt set.
     */
    num_episodes?: number;
    /**
     * Stop after this many global steps (null: when the episodes are done).
     */
    max_steps?: number | null;
    /**
     * Actor learning rate (paper: 5e-7 for an 8B model).
     */
    lr?: number;
    /**
     * Linear warmup share of all optimizer steps.
     */
    warmup_ratio?: number;
    /**
     * Cosine decay floor as a share of lr.
     */
    min_lr_ratio?: number;
    /**
     * AdamW weight decay.
     */
    weight_decay?: number;
    /**
     * Adam's (beta1, beta2), each in [0, 1).
     *
     * @minItems 2
     * @maxItems 2
     */
    adam_betas?: [number, number];
    /**
     * Gradient-norm clip; the logged grad_norm is before clipping.
     */
    max_grad_norm?: number;
    /**
     * token_mean: one token mean over the whole optimizer step (OpenRLHF HEAD). sequence_mean: v0.5-style mean of per-sequence means, for paper reproduction.
     */
    loss_aggregation?: 'token_mean' | 'sequence_mean';
    /**
     * Critic learning rate (estimator ppo only).
     */
    critic_lr?: number;
    /**
     * How N ranks (torchrun --nproc-per-node N, or rlhf train --nproc N) share the training: ddp (every rank holds the whole model, gradients are averaged) or fsdp2 (parameters, gradients and optimizer state sharded with torch's fully_shard). Unused with one process. Checkpoints are consolidated either way, so a run resumes with any N.
     */
    strategy?: 'ddp' | 'fsdp2';
  };
  algorithm?: {
    /**
     * reinforce_pp: REINFORCE++ (global normalisation). reinforce_pp_baseline: group-mean baseline then global normalisation. rloo: leave-one-out baseline. grpo: group mean/std. dr_grpo: group mean. ppo: critic + GAE.
     */
    estimator?: 'reinforce_pp' | 'reinforce_pp_baseline' | 'rloo' | 'grpo' | 'dr_grpo' | 'ppo';
    /**
     * Discount of the return; forced to 1 for grouped estimators.
     */
    gamma?: number;
    /**
     * GAE lambda (ppo only).
     */
    lambd?: number;
    /**
     * Divide by the batch std when whitening (false: centre only).
     */
    std_norm?: boolean;
    /**
     * PPO clip range (low side, and high side unless eps_clip_high is set).
     */
    eps_clip?: number;
    /**
     * Asymmetric upper clip (e.g. 0.28); must be > 0.
     */
    eps_clip_high?: number | null;
    /**
     * Dual-clip constant c > 1 for negative advantages (null: off).
     */
    dual_clip?: number | null;
    /**
     * Entropy bonus coefficient; null or 0 = log the entropy only.
     */
    entropy_coef?: number | null;
    /**
     * Clip of the shaped scalar reward.
     *
     * @minItems 2
     * @maxItems 2
     */
    reward_clip?: [number, number];
    kl?: {
      /**
       * beta. Paper Table 1: 0.01 general RLHF, 0.001 math. 0 disables the reference model.
       */
      coef?: number;
      /**
       * k1 in the reward (REINFORCE++), k2 as a loss (REINFORCE++-baseline).
       */
      estimator?: 'k1' | 'k2' | 'k3';
      /**
       * reward: -beta*KL folded into the token rewards. loss: KL(pi_theta, pi_ref) added to the loss.
       */
      mode?: 'reward' | 'loss';
    };
  };
  reward?: {
    /**
     * Reward given to a sample whose reward source failed; the error is recorded on the sample.
     */
    fallback?: number;
    /**
     * Time budget of one reward call for a batch.
     */
    timeout_s?: number;
    /**
     * Reward rules evaluated by the TypeScript rule engine (dist/reward-worker.js, run with Node); their weighted sum is the source 'rules'.
     */
    rules?: Rule[];
    /**
     * Reward sources; the reward is the weighted sum. Each sample records every source's value.
     */
    sources?: ({
      [k: string]: unknown | undefined;
    } & {
      name: string;
      weight?: number;
      /**
       * file.py:fn with OpenRLHF's signature fn(queries, prompts, labels, **kw) -> {rewards, scores?, extra_logs?} or a list.
       */
      function?: string;
      worker?: {
        /**
         * Program and arguments of a process speaking schemas/reward-worker.schema.json on stdio.
         *
         * @minItems 1
         */
        command: [string, ...string[]];
        /**
         * Passed to the worker in its init message.
         */
        options?: {
          [k: string]: unknown | undefined;
        };
      };
      /**
       * Folder of a Hugging Face AutoModelForSequenceClassification with one label (a Bradley-Terry reward model as OpenRLHF, TRL or a kind: reward_model run save it; relative to the config), or a hub id in the local cache. Loaded once on the training device (bf16 on CUDA); scores prompt + response (through its chat template when it has one and the prompt is chat messages).
       */
      reward_model?: string;
      /**
       * reward_model: sequences per forward (default 16).
       */
      batch_size?: number;
      /**
       * reward_model: (score - running mean) / running std over every score so far (OpenRLHF's normalize_reward); default false.
       */
      normalize?: boolean;
      http?: {
        url: string;
        /**
         * Environment variable holding a bearer token.
         */
        token_env?: string | null;
        retries?: number;
      };
    })[];
    /**
     * Time one sample may take in the rule engine; a rule past it gets a recorded error and the fallback.
     */
    rule_time_budget_ms?: number;
  };
  eval?: {
    /**
     * Score data.eval_prompts every N global steps (and at step 0 and the end).
     */
    every_steps?: number;
    /**
     * Also decode greedily (pass@1 greedy).
     */
    greedy?: boolean;
    /**
     * Samples per prompt for pass@k.
     */
    k?: number;
    max_prompts?: number;
  };
  checkpoint?: {
    /**
     * Save every N global steps (null: only at the end and on stop).
     */
    every_steps?: number | null;
    /**
     * Periodic checkpoints beyond the newest keep_last are deleted; checkpoints saved on request (Save Checkpoint Now, rlhf save) or marked Keep are never deleted.
     */
    keep_last?: number;
  };
  logging?: {
    /**
     * Samples of each step's rollout written to samples.jsonl, every one with its per-token logprob, ref logprob, KL, advantage and entropy (null: every sample; 0: none). The default keeps a 10,000-step run of the default config under 1 GB: a sample is at most 256 tokens (rollout.max_new_tokens) x about 50 bytes of per-token JSON + about 2 KB of text and fields = 14.8 KB, x 6 x 10,000 steps = 0.89 GB.
     */
    samples_per_step?: number | null;
    /**
     * Deprecated and ignored: every recorded sample now carries per-token data. Remove it; bound samples.jsonl with samples_per_step.
     */
    token_details_share?: number | null;
  };
  /**
   * Watchdogs: an alert event in events.jsonl (the dashboard, a VS Code notification with Show samples), a warning in the log and optionally a webhook POST; one alert per stretch of steps where a signal holds. A threshold set to null turns its watchdog off.
   */
  signals?: {
    /**
     * Watch the signals below each step.
     */
    enabled?: boolean;
    /**
     * Steps compared: the mean of the window's second half against its first half.
     */
    window?: number;
    /**
     * length_hacking: mean response length grew by at least this share over the window (0.2 = +20%) ...
     */
    min_length_growth?: number;
    /**
     * ... while the mean train reward rose by at most this much (absolute); eval_divergence needs a rise above it.
     */
    max_reward_gain?: number;
    /**
     * eval_divergence: eval_reward_mean fell by at least this much (absolute) from one eval to the next while the train reward (mean over the window before each eval) rose by more than max_reward_gain.
     */
    min_eval_drop?: number;
    /**
     * truncation, zero_variance, entropy_collapse, kl_blowup: the condition must hold this many consecutive steps before it alerts.
     */
    patience?: number;
    /**
     * truncation: the share of a step's responses cut at rollout.max_new_tokens (no EOS) is at or above this for `patience` steps (0.95: nearly every response is truncated).
     */
    truncation_share?: number | null;
    /**
     * zero_variance: the share of a step's prompt groups whose n samples all got the same reward (no learning signal for grouped estimators: grpo, rloo, reinforce_baseline, ...) is at or above this for `patience` steps; watched for grouped estimators only.
     */
    zero_variance_share?: number | null;
    /**
     * entropy_collapse: the update's mean token entropy (nats) is at or below this for `patience` steps ...
     */
    entropy_min?: number | null;
    /**
     * entropy_collapse: ... or at or below this share of its early value (the mean over the first window/2 steps watched; 0.1 = fell to a tenth).
     */
    entropy_drop?: number | null;
    /**
     * kl_blowup: the KL to the reference (the `kl` metric, nats per token) is at or above this for `patience` steps ...
     */
    kl_max?: number | null;
    /**
     * kl_blowup: ... or the mean KL of the window's second half is at least this many times its first half's (a first half below 0.001 is no base).
     */
    kl_growth?: number | null;
    /**
     * stalled: no progress (a decoded token, a reward source's answer, an optimizer step, an eval batch, a phase) for this many median step times; a watchdog thread sees it while the step hangs.
     */
    stall_factor?: number | null;
    /**
     * stalled: ... and never for less than this many seconds (the limit while no step time is known yet).
     */
    stall_min_s?: number;
    /**
     * Where alerts go besides the run folder.
     */
    notify?: {
      /**
       * The NAME of an environment variable that holds a Slack or Discord incoming-webhook URL (e.g. RLHF_ALERT_WEBHOOK): the trainer POSTs {"text", "content"} JSON for each alert. The URL itself never goes in the config, the run folder or the logs; a failing POST is a warning (once), never a stop.
       */
      webhook_env?: string | null;
    };
  };
}

// schemas/eval-sample.schema.json

/**
 * Written by the trainer after each eval (runfolder.write_eval_samples): every eval prompt's eval.k sampled responses, then (eval.greedy) every prompt's greedy one. A samples.jsonl line (sample.schema.json, whose fields it refers to) without per-token data, except that step may be 0 (the eval before the first optimizer step) and greedy tells the two kinds apart; group is the prompt's position in the eval set, source its line in data.eval_prompts. Readers ignore unknown fields and skip lines that do not parse.
 */
export interface EvalSampleSchema {
  /**
   * The optimizer steps done when the eval ran (0: before training).
   */
  step: number;
  /**
   * Position of the sample in the step's rollout batch.
   */
  index: number;
  /**
   * The prompt as the policy saw it (chat template applied).
   */
  prompt: string;
  /**
   * The decoded response, special tokens removed.
   */
  response: string;
  /**
   * The dataset's reference answer for the prompt (any JSON value), absent when the dataset has none.
   */
  label?: {
    [k: string]: unknown | undefined;
  };
  /**
   * The total reward (after weights, before KL shaping).
   */
  reward: number;
  rewards: Rewards;
  reward_errors?: RewardErrors;
  /**
   * Response tokens, EOS included.
   */
  response_length: number;
  /**
   * The response hit max_new_tokens without EOS.
   */
  truncated: boolean;
  /**
   * Optional. Index of the prompt within the rollout: the n samples of one prompt share it.
   */
  group: number;
  /**
   * Optional. Index of the sample within its group (0..n-1).
   */
  sample_in_group: number;
  source: Source;
  /**
   * The greedy response (eval.greedy) rather than one of the eval.k sampled ones.
   */
  greedy: boolean;
  [k: string]: unknown | undefined;
}
/**
 * Value per reward source (before weights); a source at or below 0 counts as failing for the sample browser's rule filter.
 */
export interface Rewards {
  [k: string]: number | undefined;
}
/**
 * Per source: why it could not score this sample (the source then counts as failing).
 */
export interface RewardErrors {
  [k: string]: string | undefined;
}
/**
 * Optional. Where the prompt comes from in the dataset.
 */
export interface Source {
  /**
   * The dataset file, as the trainer resolved the config's data.prompts (an absolute path).
   */
  file: string;
  /**
   * 1-based line of the prompt in that file.
   */
  line: number;
  [k: string]: unknown | undefined;
}

// schemas/events.schema.json

/**
 * Readers ignore unknown fields and unknown types and never die on a bad line.
 */
export type EventsSchema = {
  v: 1;
  type: string;
  /**
   * Unix time in seconds.
   */
  time: number;
  [k: string]: unknown | undefined;
};

// schemas/reward-model-config.schema.json

/**
 * A Bradley-Terry reward-model training run (top-level kind: reward_model), started like a policy run: python -m rlhf_trainer run --config CFG --run-dir RUN. Relative paths are resolved against the folder of the config file. Defaults live here and nowhere else.
 */
export interface RewardModelConfigSchema {
  /**
   * Marks this file as a reward-model run (a policy run config has no kind, or kind: policy).
   */
  kind: 'reward_model';
  /**
   * Run name; the run folder is runs/<YYYYMMDD-HHMMSS>-<name>.
   */
  name?: string;
  /**
   * Seeds torch, numpy and Python's random; the pair order of every epoch is derived from it.
   */
  seed?: number;
  /**
   * auto = CUDA when available (bf16 autocast), else CPU (fp32).
   */
  device?: 'auto' | 'cpu' | 'cuda';
  /**
   * Also save the trained model (model + tokenizer) to this folder when the run completes, relative to the config (replaced if it exists); RUN/reward_model is written either way.
   */
  output?: string | null;
  model: {
    /**
     * Folder of a Hugging Face causal LM (a scalar head is added: AutoModelForSequenceClassification with num_labels 1) or of a sequence-classification checkpoint with one label, with its tokenizer; or a hub id in the local cache.
     */
    base: string;
    /**
     * Build an embedded tiny causal LM at model.base when that folder does not exist (as in a policy config).
     */
    create_if_missing?: 'arithmetic' | 'lengthgame' | null;
    /**
     * Pass trust_remote_code to transformers.
     */
    trust_remote_code?: boolean;
    /**
     * Trade compute for memory on CUDA.
     */
    gradient_checkpointing?: boolean;
  };
  data: {
    /**
     * Preference pairs, JSONL: prompt/chosen/rejected as `rlhf labels export` writes them, or OpenRLHF's / TRL's chosen/rejected rows (strings or chat message lists; the prompt may be inside chosen and rejected).
     */
    train: string;
    /**
     * Held-out pairs in the same format; eval_rm_accuracy is measured on them. Without it, data.eval_share of the training pairs is held out.
     */
    eval?: string | null;
    /**
     * Share of data.train held out for eval when data.eval is null (a seeded split; 0 = no eval).
     */
    eval_share?: number;
    /**
     * Field of the prompt (optional in a row: without it the prompt is part of chosen and rejected).
     */
    prompt_key?: string;
    /**
     * Field of the preferred response.
     */
    chosen_key?: string;
    /**
     * Field of the other response.
     */
    rejected_key?: string;
    /**
     * Optional per-pair margin field (OpenRLHF's margin loss); added to train.margin.
     */
    margin_key?: string;
    /**
     * Tokens of prompt + response; longer sequences keep their end (the last token is scored).
     */
    max_length?: number;
    /**
     * Read at most this many pairs of data.train.
     */
    max_samples?: number;
  };
  train?: {
    /**
     * Pairs per optimizer step (all ranks together).
     */
    batch_size?: number;
    /**
     * Pairs per forward/backward on one rank.
     */
    micro_batch_size?: number;
    /**
     * Passes over the training pairs.
     */
    epochs?: number;
    /**
     * Stop after this many optimizer steps (null: all epochs).
     */
    max_steps?: number | null;
    /**
     * AdamW learning rate (OpenRLHF's train_rm default).
     */
    lr?: number;
    /**
     * Share of the steps with a linear LR warmup.
     */
    warmup_ratio?: number;
    /**
     * Cosine decay to lr x this at the last step.
     */
    min_lr_ratio?: number;
    weight_decay?: number;
    /**
     * @minItems 2
     * @maxItems 2
     */
    adam_betas?: [number, number];
    max_grad_norm?: number;
    /**
     * Bradley-Terry margin m: loss = -log sigmoid(r_chosen - r_rejected - m).
     */
    margin?: number;
    /**
     * With several processes (torchrun): ddp, every rank holds the whole model and its optimizer state.
     */
    strategy?: 'ddp';
  };
  eval?: {
    /**
     * Held-out accuracy every N steps (and before the first and after the last).
     */
    every_steps?: number;
  };
  checkpoint?: {
    /**
     * Save every N steps (null: only at the end, on stop, and on request).
     */
    every_steps?: number | null;
    keep_last?: number;
  };
}

// schemas/reward-worker.schema.json

/**
 * The trainer spawns the worker, sends init, waits for ready, then sends score requests one at a time. The worker answers every request with the same id. stderr is free-form log. EOF on stdin means exit.
 */
export type RewardWorkerSchema = Request | Response;
export type Request =
  | {
      v: 1;
      type: 'init';
      options: {
        [k: string]: unknown | undefined;
      };
      [k: string]: unknown | undefined;
    }
  | {
      v: 1;
      type: 'score';
      id: number;
      items: Item[];
      [k: string]: unknown | undefined;
    };
export type Response =
  | {
      v: 1;
      type: 'ready';
      rules?: string[];
      [k: string]: unknown | undefined;
    }
  | {
      v: 1;
      type: 'result';
      id: number;
      /**
       * null where the sample failed: the trainer uses the fallback and records the error.
       */
      rewards: (number | null)[];
      errors?: (string | null)[];
      breakdown?: {
        [k: string]: number | undefined;
      }[];
      [k: string]: unknown | undefined;
    }
  | {
      v: 1;
      type: 'error';
      id?: number | null;
      message: string;
      [k: string]: unknown | undefined;
    };

export interface Item {
  prompt: string;
  response: string;
  label?: unknown;
  metadata?: {
    [k: string]: unknown | undefined;
  };
  [k: string]: unknown | undefined;
}

// schemas/sample.schema.json

/**
 * Written by the trainer after each rollout (runfolder.write_samples). Readers ignore unknown fields and skip lines that do not parse (a torn last line is being written). Fields marked 'optional' may be absent; per-token arrays, when present, have one entry per response token.
 */
export interface SampleSchema {
  /**
   * The optimizer step whose rollout produced the sample.
   */
  step: number;
  /**
   * Position of the sample in the step's rollout batch.
   */
  index: number;
  /**
   * The prompt as the policy saw it (chat template applied).
   */
  prompt: string;
  /**
   * The decoded response, special tokens removed.
   */
  response: string;
  /**
   * The dataset's reference answer for the prompt (any JSON value), absent when the dataset has none.
   */
  label?: {
    [k: string]: unknown | undefined;
  };
  /**
   * The total reward (after weights, before KL shaping).
   */
  reward: number;
  /**
   * Value per reward source (before weights); a source at or below 0 counts as failing for the sample browser's rule filter.
   */
  rewards: {
    [k: string]: number | undefined;
  };
  /**
   * Per source: why it could not score this sample (the source then counts as failing).
   */
  reward_errors?: {
    [k: string]: string | undefined;
  };
  /**
   * Response tokens, EOS included.
   */
  response_length?: number;
  /**
   * The response hit max_new_tokens without EOS.
   */
  truncated?: boolean;
  /**
   * Optional. Index of the prompt within the rollout: the n samples of one prompt share it.
   */
  group?: number;
  /**
   * Optional. Index of the sample within its group (0..n-1).
   */
  sample_in_group?: number;
  /**
   * Optional. Where the prompt comes from in the dataset.
   */
  source?: {
    /**
     * The dataset file, as the trainer resolved the config's data.prompts (an absolute path).
     */
    file: string;
    /**
     * 1-based line of the prompt in that file.
     */
    line: number;
    [k: string]: unknown | undefined;
  };
  /**
   * Optional. The response tokens, each decoded on its own.
   */
  tokens?: string[];
  /**
   * Optional. Per token: log-probability under the policy that sampled it.
   */
  logprobs?: number[];
  /**
   * Optional. Per token: log-probability under the reference model.
   */
  ref_logprobs?: number[];
  /**
   * Optional. Per token: the KL estimate the reward is shaped with.
   */
  kl?: number[];
  /**
   * Optional. Per token: the advantage the policy loss uses.
   */
  advantages?: number[];
  /**
   * Optional. Per token: entropy of the policy's next-token distribution (nats).
   */
  entropy?: number[];
  [k: string]: unknown | undefined;
}

// schemas/status.schema.json

export interface StatusSchema {
  state: 'starting' | 'running' | 'stopping' | 'completed' | 'stopped' | 'failed';
  pid: number | null;
  step: number;
  total_steps?: number | null;
  updated: number;
  error?: string | null;
  /**
   * written by whoever saw the trainer end without recording it (the process that started it, or a stop that had to kill): its exit code, null when a signal ended it
   */
  exit_code?: number | null;
  /**
   * the signal that ended a trainer which could not record its end, e.g. SIGKILL (then state is failed and error says who killed it and why)
   */
  exit_signal?: string | null;
  last_checkpoint?: string | null;
  reward_mean?: number | null;
  /**
   * reward_model: a reward-model run (config kind: reward_model); absent for a policy run
   */
  kind?: 'policy' | 'reward_model';
  /**
   * reward-model run: the last step's pair accuracy
   */
  rm_accuracy?: number | null;
  /**
   * reward-model run, once completed: the trained model's save_pretrained folder (RUN/reward_model), what a reward_model reward source loads
   */
  reward_model?: string | null;
  /**
   * where the trainer runs: written by the launcher before a remote job starts (with the scheduler's job id) and kept by the trainer; from the environment under torchrun or Slurm; absent for one plain local process (src/core/launch/target.ts JobInfo)
   */
  job?: {
    target: 'local' | 'torchrun' | 'slurm' | 'ray';
    /**
     * the scheduler's job id: Slurm's 123456, Ray's raysubmit_...; null for local targets (or before sbatch answered)
     */
    id: string | null;
    nodes?: number | null;
    procs_per_node?: number | null;
    /**
     * the Ray dashboard address; Slurm's partition (null: the cluster's default)
     */
    address?: string | null;
    [k: string]: unknown | undefined;
  } | null;
  [k: string]: unknown | undefined;
}
