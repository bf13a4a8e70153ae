// The playground's sampling settings and model choices ("RLHF: Try Checkpoint"): what the host takes
// from a run (playgroundRun.ts) and what the page's protocol (webview/playground/protocol.ts) carries.

/** The most tokens an answer may ask for, whatever the page sends. */
export const MAX_NEW_TOKENS_LIMIT = 4096;

/** A model a column can run: a checkpoint, the run's initial policy, or an ONNX folder picked by hand. */
export interface ModelChoice { id: string; label: string; detail?: string }

/** The sampler's settings; `topK` absent or 0 is off (as the trainer's rollout.top_k null or 0). */
export interface GenerateSettings { temperature: number; topP: number; topK?: number; maxNewTokens: number; greedy: boolean }

/** The page's settings when there is no run to take them from (an ONNX folder picked by hand). */
export const DEFAULT_SETTINGS: GenerateSettings = { temperature: 0.7, topP: 0.95, topK: 0, maxNewTokens: 64, greedy: false };

/** A model a column can run; `dir` is (or will be, after `prepare`) an ONNX export folder. */
export interface PlaygroundChoice extends ModelChoice {
  dir: string;
  /** The checkpoint (or Hugging Face model folder) `prepare` exports into `dir`; default `dir` itself (in place). */
  source?: string;
  /** Run the int8 graph (onnx/model_quantized.onnx). */
  quantized?: boolean;
  /** The run's initial policy (the second column starts on it). */
  initial?: boolean;
}
