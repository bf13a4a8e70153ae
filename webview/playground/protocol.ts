// Host <-> playground webview ("RLHF: Try Checkpoint"): one typed union each way, validated on
// receipt on both sides (like webview/dashboard/protocol.ts); the settings and model choices it carries are src/core/onnx/sampling.ts's. A column is one model on the
// shared prompt; the page has two.

export const COLUMNS = 2;
/** Upper bounds the host enforces whatever the page sends (a prompt is text, not a file). */
export const MAX_PROMPT_CHARS = 100_000;
import { MAX_NEW_TOKENS_LIMIT, type GenerateSettings, type ModelChoice } from '../../src/core/onnx/sampling';

export { MAX_NEW_TOKENS_LIMIT, type GenerateSettings, type ModelChoice } from '../../src/core/onnx/sampling';

/**
 * One answer's speed. `firstTokenMs`: prefill + first token. `totalMs`: the whole generation.
 * `tokensPerSecond`: decodeRate() (null when the answer is too short for a rate that means anything).
 */
export interface ColumnStats { tokens: number; stoppedBy: 'eos' | 'max_new_tokens' | 'aborted'; firstTokenMs: number; totalMs: number; tokensPerSecond: number | null; device: string }

// ---- the speed figure -----------------------------------------------------------------------
// Tokens/s of one short answer swung from 254 to 2341 on the same model: with 3 tokens the "rate" is
// 2 tokens over 1-8 ms, i.e. timer resolution, one GC pause or the worker's message hop. The figure:
//   decode tokens/s = (tokens - 1) / (totalMs - firstTokenMs) * 1000
// (the first token is prefill + one step, shown apart as "first token N ms"), given only when at least
// MIN_RATE_TOKENS tokens follow the first; a shorter answer says "n tokens in X ms". Across answers the
// page adds decode tokens and decode time per model (sum / sum, not a mean of rates), which is stable
// whatever each answer's length.

/** Decode tokens (after the first) an answer needs before its tokens/s is shown. */
export const MIN_RATE_TOKENS = 8;

/** Decode tokens/s of one answer (the first token excluded), or null below MIN_RATE_TOKENS decode tokens. */
export function decodeRate(tokens: number, firstTokenMs: number, totalMs: number): number | null {
  const n = tokens - 1;
  const ms = totalMs - firstTokenMs;
  return n >= MIN_RATE_TOKENS && ms > 0 ? n / (ms / 1000) : null;
}

/** Decode tokens and decode milliseconds added up over a model's answers in this playground. */
export interface SpeedTally { answers: number; tokens: number; ms: number }

export function addToTally(t: SpeedTally | undefined, s: Pick<ColumnStats, 'tokens' | 'firstTokenMs' | 'totalMs'>): SpeedTally {
  const prev = t ?? { answers: 0, tokens: 0, ms: 0 };
  if (s.tokens < 2) return { ...prev, answers: prev.answers + 1 };
  return { answers: prev.answers + 1, tokens: prev.tokens + s.tokens - 1, ms: prev.ms + Math.max(0, s.totalMs - s.firstTokenMs) };
}

/** The tally's tokens/s (sum of decode tokens / sum of decode time), or null below MIN_RATE_TOKENS tokens in all. */
export function tallyRate(t: SpeedTally): number | null {
  return t.tokens >= MIN_RATE_TOKENS && t.ms > 0 ? t.tokens / (t.ms / 1000) : null;
}

/** The speed line of a column: this answer's rate (or its count and time), then the session's over 2+ answers. */
export function speedText(s: Pick<ColumnStats, 'tokens' | 'firstTokenMs' | 'totalMs' | 'tokensPerSecond'>, session?: SpeedTally): string {
  const one = s.tokensPerSecond !== null ? `${s.tokensPerSecond.toFixed(1)} tokens/s`
    : `${s.tokens} token${s.tokens === 1 ? '' : 's'} in ${s.totalMs.toFixed(0)} ms`;
  const rate = session && session.answers > 1 ? tallyRate(session) : null;
  return rate === null ? one : `${one} · session ${rate.toFixed(1)} tokens/s over ${session!.answers} answers`;
}

/** The speed line's tooltip: what the figures are. */
export const SPEED_TOOLTIP = 'Decode speed: the tokens after the first, divided by the time after the first token '
  + '(prefill and the first token are "first token", apart). Shown as tokens/s only when at least '
  + `${MIN_RATE_TOKENS} tokens follow the first; a shorter answer shows its token count and total time, since a rate over a few `
  + 'milliseconds is mostly timer and scheduling noise. "session": the same rate over every answer this model gave in this '
  + 'playground (all decode tokens / all decode time).';

export type HostToPlayground =
  /** `settingsSource`: where the settings came from, shown beside them ("from the run's rollout settings ..."). */
  | { type: 'init'; title: string; prompt: string; choices: ModelChoice[]; selected: (string | null)[]; settings: GenerateSettings; settingsSource?: string; rewards: string | null }
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

/** The ranges the sampler accepts: temperature >= 0 (0 is greedy), top-p in (0, 1], top-k a count (0 off), 1..MAX_NEW_TOKENS_LIMIT tokens. */
export function isSettings(s: unknown): s is GenerateSettings {
  return isObj(s) && isNum(s.temperature) && s.temperature >= 0 && s.temperature <= 100 && isNum(s.topP) && s.topP > 0 && s.topP <= 1
    && (s.topK === undefined || (Number.isInteger(s.topK) && (s.topK as number) >= 0 && (s.topK as number) <= 1_000_000))
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

const isStats = (s: unknown): s is ColumnStats => isObj(s) && isNum(s.tokens) && isStr(s.stoppedBy) && isNum(s.firstTokenMs) && isNum(s.totalMs)
  && (s.tokensPerSecond === null || isNum(s.tokensPerSecond)) && isStr(s.device);

export function isHostToPlayground(m: unknown): m is HostToPlayground {
  if (!isObj(m) || !isStr(m.type)) return false;
  switch (m.type) {
    case 'init':
      return isStr(m.title) && isStr(m.prompt) && Array.isArray(m.choices) && m.choices.every((c) => isObj(c) && isChoiceId(c.id) && isStr(c.label))
        && Array.isArray(m.selected) && m.selected.length === COLUMNS && m.selected.every((id) => id === null || isChoiceId(id))
        && isSettings(m.settings) && (m.settingsSource === undefined || isStr(m.settingsSource)) && (m.rewards === null || isStr(m.rewards));
    case 'status':
    case 'error': return isColumn(m.column) && isStr(m.message);
    case 'token': return isColumn(m.column) && Number.isInteger(m.index) && (m.index as number) >= 0 && isStr(m.text);
    case 'done': return isColumn(m.column) && isStr(m.text) && isStats(m.stats);
    case 'reward': return isColumn(m.column) && isNum(m.reward) && isObj(m.breakdown) && Object.values(m.breakdown).every(isNum)
      && (m.error === undefined || isStr(m.error));
    default: return false;
  }
}
