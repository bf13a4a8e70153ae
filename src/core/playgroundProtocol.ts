// Host <-> playground webview ("RLHF: Try Checkpoint"): one typed union each way, validated on
// receipt on both sides (like src/core/protocol.ts for the dashboard). A column is one model on the
// shared prompt; the page has two.

export const COLUMNS = 2;
/** Upper bounds the host enforces whatever the page sends (a prompt is text, not a file). */
export const MAX_PROMPT_CHARS = 100_000;
export const MAX_NEW_TOKENS_LIMIT = 4096;

/** A model a column can run: a checkpoint, the run's initial policy, or an ONNX folder picked by hand. */
export interface ModelChoice { id: string; label: string; detail?: string }

export interface GenerateSettings { temperature: number; topP: number; maxNewTokens: number; greedy: boolean }

export interface ColumnStats { tokens: number; stoppedBy: 'eos' | 'max_new_tokens' | 'aborted'; firstTokenMs: number; tokensPerSecond: number | null; device: string }

export type HostToPlayground =
  | { type: 'init'; title: string; prompt: string; choices: ModelChoice[]; selected: (string | null)[]; settings: GenerateSettings; rewards: string | null }
  /** A model is being loaded or exported for a column (export can take seconds). */
  | { type: 'status'; column: number; message: string }
  | { type: 'token'; column: number; index: number; text: string }
  | { type: 'done'; column: number; text: string; stats: ColumnStats }
  | { type: 'reward'; column: number; reward: number; breakdown: Record<string, number>; error?: string }
  | { type: 'error'; column: number; message: string };

export type PlaygroundToHost =
  | { type: 'ready' }
  | { type: 'generate'; prompt: string; models: (string | null)[]; settings: GenerateSettings }
  | { type: 'stop' };

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isColumn = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < COLUMNS;
const isChoiceId = (v: unknown): v is string => isStr(v) && v.length > 0 && v.length < 4096;

/** The ranges the sampler accepts: temperature >= 0 (0 is greedy), top-p in (0, 1], 1..MAX_NEW_TOKENS_LIMIT tokens. */
export function isSettings(s: unknown): s is GenerateSettings {
  return isObj(s) && isNum(s.temperature) && s.temperature >= 0 && s.temperature <= 100 && isNum(s.topP) && s.topP > 0 && s.topP <= 1
    && Number.isInteger(s.maxNewTokens) && (s.maxNewTokens as number) >= 1 && (s.maxNewTokens as number) <= MAX_NEW_TOKENS_LIMIT
    && typeof s.greedy === 'boolean';
}

export function isPlaygroundToHost(m: unknown): m is PlaygroundToHost {
  if (!isObj(m) || !isStr(m.type)) return false;
  switch (m.type) {
    case 'ready':
    case 'stop': return true;
    case 'generate':
      return isStr(m.prompt) && m.prompt.length > 0 && m.prompt.length <= MAX_PROMPT_CHARS && isSettings(m.settings)
        && Array.isArray(m.models) && m.models.length === COLUMNS && m.models.every((id) => id === null || isChoiceId(id))
        && m.models.some((id) => id !== null);
    default: return false;
  }
}

const isStats = (s: unknown): s is ColumnStats => isObj(s) && isNum(s.tokens) && isStr(s.stoppedBy) && isNum(s.firstTokenMs)
  && (s.tokensPerSecond === null || isNum(s.tokensPerSecond)) && isStr(s.device);

export function isHostToPlayground(m: unknown): m is HostToPlayground {
  if (!isObj(m) || !isStr(m.type)) return false;
  switch (m.type) {
    case 'init':
      return isStr(m.title) && isStr(m.prompt) && Array.isArray(m.choices) && m.choices.every((c) => isObj(c) && isChoiceId(c.id) && isStr(c.label))
        && Array.isArray(m.selected) && m.selected.length === COLUMNS && m.selected.every((id) => id === null || isChoiceId(id))
        && isSettings(m.settings) && (m.rewards === null || isStr(m.rewards));
    case 'status':
    case 'error': return isColumn(m.column) && isStr(m.message);
    case 'token': return isColumn(m.column) && Number.isInteger(m.index) && (m.index as number) >= 0 && isStr(m.text);
    case 'done': return isColumn(m.column) && isStr(m.text) && isStats(m.stats);
    case 'reward': return isColumn(m.column) && isNum(m.reward) && isObj(m.breakdown) && Object.values(m.breakdown).every(isNum)
      && (m.error === undefined || isStr(m.error));
    default: return false;
  }
}
