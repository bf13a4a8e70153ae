// An exported ONNX folder (config.json, tokenizer files, onnx/model.onnx — the layout written by
// `python -m rlhf_trainer.onnx_export` and by optimum) loaded on onnxruntime-node. No vscode import:
// the CLI (`rlhf try`), the extension host's playground and the tests share it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { positionsOf } from '../modelPositions';
import { ort, type Ort } from './runtime';
import { Tokenizer } from '@huggingface/tokenizers';

export class OnnxModelError extends Error {}

/** The shape of each past_key_values.{i}.key/value tensor except batch and length. */
export interface CacheGeometry { layers: number; kvHeads: number; headDim: number }

export interface OnnxCausalLM {
  dir: string;
  session: Ort.InferenceSession;
  tokenizer: Tokenizer;
  cache: CacheGeometry;
  /** Token ids that end generation (config.json and generation_config.json eos_token_id). */
  eos: Set<number>;
  /** The graph file used (model.onnx or model_quantized.onnx) and the execution provider that runs it. */
  graph: string;
  device: 'cpu' | 'cuda';
  /** Whether the graph takes position_ids (optimum omits them for some architectures). */
  takesPositionIds: boolean;
  /** Positions the model has (prompt + generated tokens), and the config.json key it comes from; null when config.json names none. */
  positions: { count: number; key: string } | null;
}

export interface LoadOptions {
  /** Use onnx/model_quantized.onnx (int8) instead of onnx/model.onnx. */
  quantized?: boolean;
  /** auto: CUDA where onnxruntime-node can open its provider (Linux x64 with the CUDA libraries), else CPU. */
  device?: 'auto' | 'cpu' | 'cuda';
}

type Json = Record<string, unknown>;

export function readJson(file: string): Json {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { throw new OnnxModelError(`${file}: missing; export the checkpoint again`); }
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Json;
  } catch { /* reported below */ }
  throw new OnnxModelError(`${file}: not a JSON object; export the checkpoint again`);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function cacheGeometry(config: Json, file: string): CacheGeometry {
  const layers = num(config.num_hidden_layers);
  const heads = num(config.num_attention_heads);
  const kvHeads = num(config.num_key_value_heads) ?? heads;
  const hidden = num(config.hidden_size);
  const headDim = num(config.head_dim) ?? (hidden && heads ? hidden / heads : undefined);
  if (!layers || !kvHeads || !headDim) throw new OnnxModelError(`${file}: needs num_hidden_layers, num_attention_heads and head_dim (or hidden_size) for the KV cache`);
  return { layers, kvHeads, headDim };
}

function eosIds(...configs: Json[]): Set<number> {
  const ids = new Set<number>();
  for (const c of configs) {
    const v = c.eos_token_id;
    for (const id of Array.isArray(v) ? v : [v]) if (typeof id === 'number') ids.add(id);
  }
  return ids;
}

/** tokenizer.json (+ tokenizer_config.json) of an exported folder. */
export function loadTokenizer(dir: string): Tokenizer {
  const configFile = path.join(dir, 'tokenizer_config.json');
  return new Tokenizer(readJson(path.join(dir, 'tokenizer.json')), fs.existsSync(configFile) ? readJson(configFile) : {});
}

/** Where the graph of an exported folder is, or undefined when `dir` holds no export. */
export function onnxGraphPath(dir: string, quantized = false): string | undefined {
  const file = path.join(dir, 'onnx', quantized ? 'model_quantized.onnx' : 'model.onnx');
  return fs.existsSync(file) ? file : undefined;
}

/** Whether onnxruntime-node's CUDA provider library is installed next to its native binding. */
export function cudaProviderPresent(): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  try {
    const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
    return fs.existsSync(path.join(pkg, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

export async function openSession(graph: string, device: LoadOptions['device']): Promise<[Ort.InferenceSession, 'cpu' | 'cuda']> {
  const options: Ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  // CUDA ships only for Linux x64 and its provider libraries are not in the package (installs skip
  // the download): auto tries it only where they were put beside the binding, and falls back to CPU.
  const tryCuda = device === 'cuda' || (device === 'auto' && cudaProviderPresent());
  if (tryCuda) {
    try {
      return [await ort().InferenceSession.create(graph, { ...options, executionProviders: ['cuda'] }), 'cuda'];
    } catch (e) {
      if (device === 'cuda') throw new OnnxModelError(`${graph}: the CUDA execution provider could not start (${(e as Error).message.split('\n')[0]})`, { cause: e });
    }
  }
  try {
    return [await ort().InferenceSession.create(graph, { ...options, executionProviders: ['cpu'] }), 'cpu'];
  } catch (e) {
    throw new OnnxModelError(`${graph}: onnxruntime cannot load it (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
}

export async function loadOnnxCausalLM(dir: string, opts: LoadOptions = {}): Promise<OnnxCausalLM> {
  const graph = onnxGraphPath(dir, opts.quantized);
  if (!graph) throw new OnnxModelError(`${dir}: no onnx/${opts.quantized ? 'model_quantized' : 'model'}.onnx; ${exportHint(dir, opts.quantized)}`);
  const config = readJson(path.join(dir, 'config.json'));
  const genFile = path.join(dir, 'generation_config.json');
  const generation = fs.existsSync(genFile) ? readJson(genFile) : {};
  const tokenizer = loadTokenizer(dir);
  const cache = cacheGeometry(config, path.join(dir, 'config.json'));
  const [session, device] = await openSession(graph, opts.device ?? 'auto');
  const missing = ['input_ids', 'attention_mask', 'past_key_values.0.key'].filter((n) => !session.inputNames.includes(n));
  if (missing.length) throw new OnnxModelError(`${graph}: not a causal-LM graph with a KV cache (no input ${missing.join(', ')}); export it with python -m rlhf_trainer.onnx_export`);
  const found = positionsOf(config);
  return { dir, session, tokenizer, cache, eos: eosIds(config, generation), graph, device, takesPositionIds: session.inputNames.includes('position_ids'),
    positions: found ? { count: found.positions, key: found.key } : null };
}

/** The one-line instruction to export a checkpoint folder (next to it, so `try DIR` finds it). */
export function exportHint(dir: string, int8 = false): string {
  return `export it first: rlhf export ${dir} --format onnx -o ${dir}${int8 ? ' --int8' : ''}  (or: python -m rlhf_trainer.onnx_export ${dir} -o ${dir}${int8 ? ' --int8' : ''})`;
}
