// The code that runs *inside* the rule thread's vm context (bundled by esbuild.mjs as a string into
// dist/reward-eval-worker.js, strict mode). Everything a rule can reach is created in that context:
// its own Object/Function/JSON, no process, no require, no Buffer, no timers. The host realm passes
// only primitives in (strings, numbers) and copies plain values out, so no host object — and through
// it no Function of the host realm, no `process`, no watchdog counter — is reachable from a rule.
import { evaluatorOf, ruleFunction, type CompiledRule, type LoadedRule, type Sample, type Scored } from './rules';

/** Longest error or log text that leaves the sandbox (a 20 MB message must not travel further). */
export const MAX_TEXT = 2000;
export const capText = (s: string): string => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}… (${s.length} characters)` : s);

// Captured before any rule code runs: a rule may replace the context's globals, never these.
const parse: (text: string) => unknown = JSON.parse;
const mathObject = Math;

function describe(e: unknown): string {
  try {
    const text = e instanceof Error ? String(e.message) : String(e);
    return capText(text);
  } catch { return 'a value that cannot be shown'; }
}

function seeded(seed: number): () => number { // mulberry32
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const NODE_GLOBALS = /^(process|require|Buffer|setTimeout|setInterval|setImmediate|fetch|module) is not defined/;

export type Outcome = Scored | { error: string };

export function createSandbox() {
  const loaded: LoadedRule[] = [];
  let evaluate: ((s: Sample) => Scored) | undefined;
  let logs: string[] = [];
  const log = (...a: unknown[]) => { if (logs.length < 100) logs.push(capText(a.map((x) => describe(x)).join(' '))); };
  (globalThis as { console?: unknown }).console = { log, info: log, warn: log, error: log, debug: log };
  return {
    /** Loads one rule (runs a module's top level); '' or the error, one line. */
    load(this: void, ruleJson: string): string {
      try {
        const r = parse(ruleJson) as CompiledRule;
        loaded.push({ r, f: ruleFunction(r) });
        return '';
      } catch (e) {
        const message = describe(e);
        return NODE_GLOBALS.test(message) ? `${message} (rules run without Node APIs: no process, require, file system or timers)` : message;
      }
    },
    /** Scores one sample; inputs are primitives (label and metadata as JSON text). */
    evaluate(this: void, prompt: string, response: string, labelJson: string | undefined, metadataJson: string | undefined): Outcome {
      evaluate ??= evaluatorOf(loaded);
      try {
        mathObject.random = seeded(hash(`${prompt}\u0000${response}`));
        const label = labelJson === undefined ? undefined : parse(labelJson);
        // the host wrote it with JSON.stringify from a Sample's metadata (evalWorker.ts), so it has that type
        const metadata = metadataJson === undefined ? {} : parse(metadataJson) as Sample['metadata'];
        return evaluate({ prompt, response, label, metadata });
      } catch (e) {
        return { error: describe(e) };
      }
    },
    /** What rules printed since the last call, one line each. */
    takeLogs(this: void): string { const out = logs.join('\n'); logs = []; return out; },
  };
}
export type Sandbox = ReturnType<typeof createSandbox>;
