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
   * auto = CUDA when available (bf16 autocast), else CPU (fp32).
   */
  device?: 'auto' | 'cpu' | 'cuda';
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
     * What generates the rollouts: hf (the training model's own generate(), every device) or vllm (a colocated vLLM engine on CUDA; needs the vllm package, not part of the trainer's requirements).
     */
    engine?: 'hf' | 'vllm';
  };
  train?: {
    /**
     * Samples per optimizer step; rollout.batch_size x n_samples_per_prompt must be a multiple of it. Optimizer steps per global step = rollout.batch_size x n x max_epochs / batch_size.
     */
    batch_size?: number;
    /**
     * Samples per forward/backward; gradients are accumulated up to train.batch_size (which must be a multiple of it).
     */
    micro_batch_size?: number;
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
   * Reward-hacking alerts (an alert event in events.jsonl, shown in the dashboard): one per stretch of steps where a signal holds.
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
  [k: string]: unknown | undefined;
}
