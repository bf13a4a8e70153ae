// Token generation on an exported causal LM with the KV cache: one prefill over the prompt, then one
// token per step feeding back present.* as past_key_values.*. Greedy (argmax, the first maximum as
// torch.argmax picks) or sampled (temperature, top-k, top-p) with a seeded generator, streaming each token.
import { ort, type Ort } from './runtime';
import type { OnnxCausalLM } from './model';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Greedy when true (temperature/topP ignored). */
  greedy?: boolean;
  temperature?: number;
  topP?: number;
  /** Keep only the k most likely tokens before top-p (0 or absent: off), as the trainer's rollout.top_k. */
  topK?: number;
  /** Seed of the sampling generator (same seed, same tokens). */
  seed?: number;
  /** Called as each token is chosen; `text` is what this token added to the decoded answer. */
  onToken?: (token: { id: number; text: string; index: number }) => void;
  signal?: AbortSignal;
}

export interface Generation {
  promptIds: number[];
  tokens: number[];
  /** The answer decoded without special tokens. */
  text: string;
  stoppedBy: 'eos' | 'max_new_tokens' | 'aborted';
  /** Prefill + first token, in milliseconds. */
  firstTokenMs: number;
  /** Decode speed after the first token (tokens / s); null with fewer than two tokens. */
  tokensPerSecond: number | null;
  totalMs: number;
  /** Set when max new tokens was lowered to fit the model's positions. */
  note?: string;
}

const int64 = (values: number[], dims: number[]) => new (ort().Tensor)('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);

/** mulberry32: a small seeded generator, so a sampled answer can be reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Sample from softmax(row / temperature) restricted to the k most likely tokens (topK > 0), then to the smallest
 * set of those whose renormalised mass reaches topP: the order of transformers' warpers (temperature, top-k, top-p).
 */
export function sampleTopP(row: Float32Array, temperature: number, topP: number, random: () => number, topK = 0): number {
  if (!(temperature > 0)) return argmax(row);
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let probs = Array.from(row, (v, id) => ({ id, p: Math.exp((v - max) / temperature) }));
  probs.sort((a, b) => b.p - a.p);
  if (topK > 0 && topK < probs.length) probs = probs.slice(0, topK);
  const total = probs.reduce((s, x) => s + x.p, 0);
  const kept: typeof probs = [];
  let mass = 0;
  for (const x of probs) {
    kept.push(x);
    mass += x.p / total;
    if (mass >= topP) break;
  }
  let r = random() * kept.reduce((s, x) => s + x.p, 0);
  for (const x of kept) if ((r -= x.p) <= 0) return x.id;
  return kept[kept.length - 1].id;
}

/** The logits of the last position of a [1, seq, vocab] output. */
function lastRow(logits: Ort.Tensor): Float32Array {
  const [, seq, vocab] = logits.dims;
  return (logits.data as Float32Array).subarray((seq - 1) * vocab, seq * vocab);
}

export function encodePrompt(model: OnnxCausalLM, prompt: string): number[] {
  return model.tokenizer.encode(prompt).ids;
}

/** A prompt that does not fit the model's positions; its message says what to change. */
export class PositionsError extends Error {}

/**
 * The tokens a generation may add after `promptTokens` within the model's positions: `maxNewTokens`, or fewer
 * (with a note saying so). A prompt that leaves no room is a PositionsError: past its positions the graph reads
 * beyond its position table, and a huge prompt (40,000 characters) would take onnxruntime's prefill down with
 * the whole process.
 */
export function fitPositions(model: Pick<OnnxCausalLM, 'positions'>, promptTokens: number, maxNewTokens: number): { maxNewTokens: number; note?: string } {
  const p = model.positions;
  if (!p || promptTokens + maxNewTokens <= p.count) return { maxNewTokens };
  const where = `the model's ${p.count} positions (${p.key} in config.json)`;
  if (promptTokens >= p.count) throw new PositionsError(`the prompt has ${promptTokens} tokens, beyond ${where}: shorten the prompt`);
  const fits = p.count - promptTokens;
  return { maxNewTokens: fits, note: `max new tokens lowered from ${maxNewTokens} to ${fits}: the prompt has ${promptTokens} tokens of ${where}` };
}

export async function generate(model: OnnxCausalLM, promptIds: number[], opts: GenerateOptions): Promise<Generation> {
  const { maxNewTokens, note } = fitPositions(model, promptIds.length, opts.maxNewTokens);
  const { layers, kvHeads, headDim } = model.cache;
  const random = seededRandom(opts.seed ?? 0);
  const pick = (row: Float32Array) => (opts.greedy ? argmax(row) : sampleTopP(row, opts.temperature ?? 1, opts.topP ?? 1, random, opts.topK ?? 0));
  const empty = new (ort().Tensor)('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
  let past: Record<string, Ort.Tensor> = {};
  for (let i = 0; i < layers; i++) past[`past_key_values.${i}.key`] = past[`past_key_values.${i}.value`] = empty;

  const started = performance.now();
  let firstAt = started;
  const tokens: number[] = [];
  let text = '';
  let step = promptIds;
  let stoppedBy: Generation['stoppedBy'] = 'max_new_tokens';
  while (tokens.length < maxNewTokens) {
    if (opts.signal?.aborted) { stoppedBy = 'aborted'; break; }
    const seen = promptIds.length + tokens.length; // positions 0..seen-1 are in the cache after this step
    const feeds: Record<string, Ort.Tensor> = {
      ...past,
      input_ids: int64(step, [1, step.length]),
      attention_mask: int64(new Array<number>(seen).fill(1), [1, seen]),
    };
    if (model.takesPositionIds) feeds.position_ids = int64(step.map((_, i) => seen - step.length + i), [1, step.length]);
    const out = await model.session.run(feeds);
    const id = pick(lastRow(out.logits));
    if (tokens.length === 0) firstAt = performance.now();
    tokens.push(id);
    past = {};
    for (let i = 0; i < layers; i++) {
      past[`past_key_values.${i}.key`] = out[`present.${i}.key`];
      past[`past_key_values.${i}.value`] = out[`present.${i}.value`];
    }
    // decode the whole answer and emit the difference: one character can span several tokens
    const decoded = model.tokenizer.decode(tokens, { skip_special_tokens: true });
    opts.onToken?.({ id, text: decoded.slice(text.length), index: tokens.length - 1 });
    text = decoded;
    if (model.eos.has(id)) { stoppedBy = 'eos'; break; }
    step = [id];
  }
  const ended = performance.now();
  return {
    promptIds, tokens, text, stoppedBy,
    firstTokenMs: tokens.length ? firstAt - started : 0,
    tokensPerSecond: tokens.length > 1 ? (tokens.length - 1) / ((ended - firstAt) / 1000) : null,
    totalMs: ended - started,
    ...(note ? { note } : {}),
  };
}
