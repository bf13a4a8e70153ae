// npm run bench (part 3) — the playground on CPU and the packages:
//   1. "RLHF: Try Checkpoint" speed through its host session (PlaygroundSession: the code the webview
//      drives), onnxruntime-node CPU provider: first-token latency (prefill + first token) and decode
//      tokens/s, for the embedded example's model and for a ~100M-parameter Llama built from a config
//      by bench/gpu/make_model.py's builder (random weights: speed depends on shapes, not on words),
//      fp32 and int8. Exports are made once by the trainer's exporter and cached in out/bench-cache/.
//   2. The .vsix size per platform target (scripts/package-targets.mjs; built when missing).
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportOnnx } from '../src/core/onnx/exportOnnx';
import { PlaygroundSession } from '../src/sessions/playgroundSession';
import type { HostToPlayground } from '../webview/playground/protocol';
import { installLayout } from '../src/core/training';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const CACHE = path.join(ROOT, 'out', 'bench-cache', 'onnx');
const TARGETS = ['linux-x64', 'darwin-arm64', 'win32-x64'];
const LIMIT_LINUX_MB = 25;

/** A Llama of ~100M parameters (hidden 768, 8 layers, MLP 2048, 32k vocabulary, untied): bench/gpu/make_model.py's builder. */
const SIZES = { hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 8, num_attention_heads: 12, num_key_value_heads: 12 };

async function exported(name: string, source: () => string, int8: boolean): Promise<string> {
  const out = path.join(CACHE, name);
  if (fs.existsSync(path.join(out, 'onnx', int8 ? 'model_quantized.onnx' : 'model.onnx'))) return out;
  const t = performance.now();
  await exportOnnx({ python: PY, layout: installLayout(ROOT), checkpoint: source(), out, int8, onProgress: (m) => process.stdout.write(`  export ${name}: ${m}\n`) });
  console.log(`  exported ${name} in ${((performance.now() - t) / 1000).toFixed(1)} s (cached in ${path.relative(ROOT, out)})`);
  return out;
}

function build100M(): string {
  const dir = path.join(CACHE, 'llama-100m-src');
  if (!fs.existsSync(path.join(dir, 'model', 'config.json'))) {
    const script = `import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("mm", sys.argv[1]); mm = importlib.util.module_from_spec(spec); spec.loader.exec_module(mm)
print(json.dumps(mm.build(sys.argv[2], 8, **json.loads(sys.argv[3]))))`;
    const info = execFileSync(PY, ['-c', script, path.join(ROOT, 'bench', 'gpu', 'make_model.py'), dir, JSON.stringify(SIZES)], { encoding: 'utf8' });
    fs.writeFileSync(path.join(dir, 'info.json'), info);
  }
  return path.join(dir, 'model');
}

interface Speed { firstTokenMs: number; tokensPerSecond: number; tokens: number; runs: number; device: string; maxBlockMs: number }

/** Generates on each prompt through the playground session (after one warm-up) and aggregates its reported speed. */
async function measure(dir: string, prompts: string[], maxNewTokens: number, quantized: boolean): Promise<Speed> {
  const session = new PlaygroundSession({ title: 'bench', prompt: prompts[0], choices: [{ id: 'm', label: 'm', dir, quantized }], selected: ['m', null], device: 'cpu',
    workerScript: path.join(ROOT, 'dist', 'onnx-worker.js') },
    (m: HostToPlayground) => { if (m.type === 'done') done.push(m); else if (m.type === 'error') throw new Error(m.message); });
  const done: Extract<HostToPlayground, { type: 'done' }>[] = [];
  const settings = { temperature: 0, topP: 1, maxNewTokens, greedy: true };
  // how long the host's event loop is held at most (generation runs in the session's worker thread)
  const lag = monitorEventLoopDelay({ resolution: 1 });
  for (const [i, prompt] of [prompts[0], ...prompts].entries()) {
    if (i === 1) lag.enable(); // after the warm-up (session creation also blocks)
    session.handle({ type: 'generate', prompt, models: ['m', null], settings });
    await session.running;
  }
  lag.disable();
  await session.dispose();
  const runs = done.slice(1); // the first run is the warm-up
  const ttft = runs.map((d) => d.stats.firstTokenMs).sort((a, b) => a - b);
  const decodeTokens = runs.reduce((s, d) => s + d.stats.tokens - 1, 0);
  const decodeMs = runs.reduce((s, d) => s + (d.stats.tokens > 1 ? d.stats.totalMs - d.stats.firstTokenMs : 0), 0);
  return { firstTokenMs: ttft[Math.floor(ttft.length / 2)], tokensPerSecond: decodeTokens / (decodeMs / 1000), tokens: runs.reduce((s, d) => s + d.stats.tokens, 0) / runs.length,
    runs: runs.length, device: runs[0].stats.device, maxBlockMs: lag.max / 1e6 };
}

const row = (name: string, s: Speed) => console.log(`  ${name.padEnd(34)} first token ${s.firstTokenMs.toFixed(1).padStart(7)} ms (median)   ${s.tokensPerSecond.toFixed(1).padStart(8)} tokens/s   ${s.tokens.toFixed(1)} tokens/answer x ${s.runs} on ${s.device}; event loop held <= ${s.maxBlockMs.toFixed(0)} ms`);

/** Sizes of out/rlhf-studio-<target>.vsix; missing ones are built (about 2 minutes each on 2 cores), present ones reported with their age. */
function vsixSizes(): void {
  const file = (t: string) => path.join(ROOT, 'out', `rlhf-studio-${t}.vsix`);
  const missing = TARGETS.filter((t) => !fs.existsSync(file(t)));
  if (missing.length) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package-targets.mjs'), ...missing], { cwd: ROOT, stdio: 'inherit' });
  for (const t of TARGETS) {
    const st = fs.statSync(file(t));
    const mb = st.size / 1024 / 1024;
    const age = Math.round((Date.now() - st.mtimeMs) / 60_000);
    console.log(`  ${t.padEnd(14)} ${mb.toFixed(1)} MB${t === 'linux-x64' ? ` (goal < ${LIMIT_LINUX_MB} MB: ${mb < LIMIT_LINUX_MB ? 'met' : 'MISSED'})` : ''}  built ${age} min ago (npm run package:all rebuilds)`);
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(PY)) { console.log(`onnx bench skipped: ${PY} is missing`); return; }
  fs.mkdirSync(CACHE, { recursive: true });
  console.log('playground on onnxruntime-node, CPU (greedy):');
  const evalPrompts = fs.readFileSync(path.join(ROOT, 'examples', 'arithmetic', 'data', 'eval.jsonl'), 'utf8').split('\n').filter(Boolean)
    .slice(0, 50).map((l) => (JSON.parse(l) as { prompt: string }).prompt);
  const small = await exported('embedded', () => path.join(ROOT, 'examples', 'arithmetic', 'model'), true);
  row('embedded (224k params) fp32', await measure(small, evalPrompts, 8, false));
  row('embedded (224k params) int8', await measure(small, evalPrompts, 8, true));
  const big = await exported('llama-100m', build100M, true);
  const prompts = fs.readFileSync(path.join(CACHE, 'llama-100m-src', 'prompts.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 4)
    .map((l) => (JSON.parse(l) as { prompt: string }).prompt);
  const { params } = JSON.parse(fs.readFileSync(path.join(CACHE, 'llama-100m-src', 'info.json'), 'utf8')) as { params: number };
  const label = `llama ${(params / 1e6).toFixed(0)}M, 128-token prompt`;
  row(`${label} fp32`, await measure(big, prompts, 64, false));
  row(`${label} int8`, await measure(big, prompts, 64, true));
  console.log('.vsix per target (npm run package:all):');
  vsixSizes();
}

void main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
