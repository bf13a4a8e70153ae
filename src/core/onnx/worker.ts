// The playground's generation thread (dist/onnx-worker.js, a worker_threads Worker of the extension
// host). onnxruntime-node runs each session.run synchronously on the thread that calls it: a 128-token
// prefill of a 100M-parameter model holds that thread for over half a second. Here it holds this
// thread instead, and the extension host only receives tokens. Aborts arrive between two steps
// (generate() awaits each run, so this thread's messages are handled in between).
import { parentPort } from 'node:worker_threads';
import { encodePrompt, generate, type Generation } from './generate';
import { loadOnnxCausalLM, type LoadOptions, type OnnxCausalLM } from './model';

export type WorkerIn =
  | { type: 'load'; id: string; dir: string; quantized?: boolean; device?: LoadOptions['device'] }
  | { type: 'generate'; req: number; id: string; prompt: string; maxNewTokens: number; greedy: boolean; temperature: number; topP: number; topK?: number; seed: number }
  | { type: 'abort'; req: number }
  | { type: 'release' };

export type WorkerOut =
  | { type: 'loaded'; id: string; device: 'cpu' | 'cuda' }
  | { type: 'load-error'; id: string; message: string }
  | { type: 'token'; req: number; index: number; text: string }
  | { type: 'done'; req: number; result: Omit<Generation, 'promptIds'>; device: 'cpu' | 'cuda' }
  | { type: 'error'; req: number; message: string }
  | { type: 'released' };

const models = new Map<string, OnnxCausalLM>();
const running = new Map<number, AbortController>();
const port = parentPort;
const send = (m: WorkerOut) => port?.postMessage(m);
const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

async function handle(m: WorkerIn): Promise<void> {
  switch (m.type) {
    case 'load':
      try {
        const model = models.get(m.id) ?? await loadOnnxCausalLM(m.dir, { quantized: m.quantized, device: m.device });
        models.set(m.id, model);
        send({ type: 'loaded', id: m.id, device: model.device });
      } catch (e) { send({ type: 'load-error', id: m.id, message: message(e) }); }
      return;
    case 'generate': {
      const model = models.get(m.id);
      if (!model) { send({ type: 'error', req: m.req, message: `model ${m.id} is not loaded` }); return; }
      const ctl = new AbortController();
      running.set(m.req, ctl);
      try {
        const { promptIds: _ids, ...result } = await generate(model, encodePrompt(model, m.prompt), {
          maxNewTokens: m.maxNewTokens, greedy: m.greedy, temperature: m.temperature, topP: m.topP, topK: m.topK, seed: m.seed, signal: ctl.signal,
          onToken: (t) => send({ type: 'token', req: m.req, index: t.index, text: t.text }),
        });
        send({ type: 'done', req: m.req, result, device: model.device });
      } catch (e) { send({ type: 'error', req: m.req, message: message(e) }); } finally { running.delete(m.req); }
      return;
    }
    case 'abort': running.get(m.req)?.abort(); return;
    case 'release':
      for (const c of running.values()) c.abort();
      for (const model of models.values()) await model.session.release().catch(() => undefined);
      models.clear();
      send({ type: 'released' });
      return;
  }
}

port?.on('message', (m: WorkerIn) => void handle(m));
