// `rlhf try CHECKPOINT_OR_ONNX_DIR --prompt TEXT [--greedy] [--max-new-tokens N] [--json]`: generate
// from an exported checkpoint on onnxruntime-node, streaming the answer, then the token ids and speed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportHint, loadOnnxCausalLM, onnxGraphPath, OnnxModelError } from './model';
import { encodePrompt, fitPositions, generate, PositionsError } from './generate';

export interface TryArgs {
  target: string;
  prompt: string;
  greedy?: boolean;
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  /** Use the int8 graph (onnx/model_quantized.onnx). */
  int8?: boolean;
  json?: boolean;
}

export interface TryIo { out: (text: string) => void; err: (text: string) => void }

export const TRY_DEFAULTS = { maxNewTokens: 64, temperature: 1, topP: 1, seed: 0 };

/** Why `target` cannot be tried, as one line with what to do; undefined when it holds an export. */
export function tryTargetProblem(target: string, int8 = false): string | undefined {
  if (!fs.existsSync(target) || !fs.statSync(target).isDirectory()) return `${target}: no such folder`;
  if (onnxGraphPath(target, int8)) return undefined;
  if (int8 && onnxGraphPath(target)) return `${target}: no int8 graph (onnx/model_quantized.onnx); ${exportHint(target, true)}`;
  if (fs.existsSync(path.join(target, 'config.json'))) return `${target} is a checkpoint without an ONNX export; ${exportHint(target, int8)}`;
  return `${target}: neither an ONNX export (onnx/model.onnx) nor a checkpoint (config.json)`;
}

export async function tryCommand(args: TryArgs, io: TryIo): Promise<number> {
  const problem = tryTargetProblem(args.target, args.int8);
  if (problem) { io.err(`rlhf try: ${problem}\n`); return 2; }
  const maxNewTokens = args.maxNewTokens ?? TRY_DEFAULTS.maxNewTokens;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) { io.err('rlhf try: --max-new-tokens must be a whole number >= 1\n'); return 2; }
  const topP = args.topP ?? TRY_DEFAULTS.topP;
  if (!(topP > 0 && topP <= 1)) { io.err('rlhf try: --top-p must be in (0, 1]\n'); return 2; }
  let model;
  try {
    model = await loadOnnxCausalLM(args.target, { quantized: args.int8 });
  } catch (e) {
    if (e instanceof OnnxModelError) { io.err(`rlhf try: ${e.message}\n`); return 2; }
    throw e;
  }
  try {
    const promptIds = encodePrompt(model, args.prompt);
    try { fitPositions(model, promptIds.length, maxNewTokens); } catch (e) {
      if (e instanceof PositionsError) { io.err(`rlhf try: ${e.message}\n`); return 2; }
      throw e;
    }
    const result = await generate(model, promptIds, {
      maxNewTokens, greedy: args.greedy, temperature: args.temperature ?? TRY_DEFAULTS.temperature, topP, seed: args.seed ?? TRY_DEFAULTS.seed,
      onToken: args.json ? undefined : (t) => io.out(t.text),
    });
    if (args.json) {
      io.out(JSON.stringify({
        prompt: args.prompt, prompt_ids: result.promptIds, tokens: result.tokens, text: result.text, stopped_by: result.stoppedBy,
        first_token_ms: result.firstTokenMs, tokens_per_second: result.tokensPerSecond, device: model.device, graph: model.graph,
        greedy: !!args.greedy,
      }) + '\n');
    } else {
      const speed = result.tokensPerSecond === null ? '' : `, ${result.tokensPerSecond.toFixed(1)} tokens/s`;
      if (result.note) io.err(`rlhf try: ${result.note}\n`);
      io.out(`\ntokens: ${result.tokens.join(' ')}\n`);
      io.err(`${result.tokens.length} tokens (${result.stoppedBy}), first token ${result.firstTokenMs.toFixed(1)} ms${speed} on ${model.device}\n`);
    }
    return 0;
  } finally {
    await model.session.release();
  }
}
