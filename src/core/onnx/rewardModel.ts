// A Bradley-Terry reward model (a *ForSequenceClassification with one label) exported by
// `python -m rlhf_trainer.onnx_export`: input_ids + attention_mask -> logits (batch, 1). Scores
// prompt + response in right-padded batches; the model pools the last non-pad token, as in PyTorch.
import * as path from 'node:path';
import { exportHint, loadTokenizer, onnxGraphPath, openSession, OnnxModelError, readJson } from './model';
import { ort, type Ort } from './runtime';
import type { Tokenizer } from '@huggingface/tokenizers';

export interface OnnxRewardModel {
  dir: string;
  session: Ort.InferenceSession;
  tokenizer: Tokenizer;
  pad: number;
  device: 'cpu' | 'cuda';
}

export async function loadOnnxRewardModel(dir: string, opts: { device?: 'auto' | 'cpu' | 'cuda' } = {}): Promise<OnnxRewardModel> {
  const graph = onnxGraphPath(dir);
  if (!graph) throw new OnnxModelError(`${dir}: no onnx/model.onnx; ${exportHint(dir)}`);
  const config = readJson(path.join(dir, 'config.json'));
  const arch = Array.isArray(config.architectures) ? String(config.architectures[0]) : String(config.model_type);
  if (!arch.endsWith('ForSequenceClassification')) throw new OnnxModelError(`${dir}: ${arch} is not a reward model (a *ForSequenceClassification with num_labels 1)`);
  const [session, device] = await openSession(graph, opts.device ?? 'auto');
  if (session.inputNames.includes('past_key_values.0.key') || !session.inputNames.includes('attention_mask')) {
    throw new OnnxModelError(`${graph}: not a reward-model graph (input_ids, attention_mask -> logits); export it with python -m rlhf_trainer.onnx_export`);
  }
  const pad = typeof config.pad_token_id === 'number' ? config.pad_token_id : 0;
  return { dir, session, tokenizer: loadTokenizer(dir), pad, device };
}

const int64 = (rows: number[][], width: number, fill: (row: number[], k: number) => number) =>
  new (ort().Tensor)('int64', BigInt64Array.from(rows.flatMap((r) => Array.from({ length: width }, (_, k) => BigInt(fill(r, k))))), [rows.length, width]);

/** One score per sample, `batchSize` sequences per onnxruntime call. */
export async function scoreSamples(model: OnnxRewardModel, samples: { prompt: string; response: string }[], batchSize = 16): Promise<number[]> {
  const scores: number[] = [];
  for (let a = 0; a < samples.length; a += batchSize) {
    const rows = samples.slice(a, a + batchSize).map((s) => model.tokenizer.encode(s.prompt + s.response).ids);
    const width = Math.max(1, ...rows.map((r) => r.length));
    const out = await model.session.run({
      input_ids: int64(rows, width, (r, k) => (k < r.length ? r[k] : model.pad)),
      attention_mask: int64(rows, width, (r, k) => (k < r.length ? 1 : 0)),
    });
    const logits = out.logits;
    const labels = logits.dims[1] ?? 1;
    for (let i = 0; i < rows.length; i++) scores.push(Number((logits.data as Float32Array)[i * labels]));
  }
  return scores;
}
