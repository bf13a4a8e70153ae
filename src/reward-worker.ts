// node dist/reward-worker.js — the trainer's reward worker: JSON lines over stdio
// (schemas/reward-worker.schema.json). init {options: {rules, base_dir, time_budget_ms}} -> ready;
// score {id, items} -> result {id, rewards, errors, breakdown}.
import * as readline from 'node:readline';
import { RewardEngine } from './core/rewards/engine';
import { rulesFromSpecs } from './core/rewards/load';

let engine: RewardEngine | undefined;
const MAX_MESSAGE = 2000;
/** One line of text for the protocol: capped, so a rule's 20 MB message cannot flood the trainer. */
const oneLine = (e: unknown): string => {
  const s = e instanceof Error ? e.message : String(e);
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}… (${s.length} characters)` : s;
};
const send = (m: object) => process.stdout.write(JSON.stringify(m) + '\n');
// everything else a rule module might print goes to stderr, never into the protocol stream
console.log = (...a: unknown[]) => process.stderr.write(a.map(String).join(' ') + '\n');

const queue: string[] = [];
let busy = false;

type Request = { type?: string; id?: number; options?: Record<string, unknown>; items?: { prompt: string; response: string; label?: unknown; metadata?: Record<string, unknown> }[] };
/** A request line as a request object; its fields are checked where they are used. JSON that is not an object is a request of no type. */
function parseRequest(line: string): Request {
  const v: unknown = JSON.parse(line);
  return typeof v === 'object' && v !== null ? v : {};
}

async function handle(line: string): Promise<void> {
  let msg: Request;
  try { msg = parseRequest(line); } catch { send({ v: 1, type: 'error', id: null, message: 'request is not JSON' }); return; }
  if (msg.type === 'init') {
    try {
      const o = msg.options ?? {};
      const rules = rulesFromSpecs(o.rules ?? [], typeof o.base_dir === 'string' ? o.base_dir : process.cwd());
      await engine?.close();
      engine = new RewardEngine(rules, { timeBudgetMs: Number(o.time_budget_ms ?? 1000), memoryMb: Number(o.memory_mb ?? 256) });
      await engine.ready();
      send({ v: 1, type: 'ready', rules: rules.rules.map((r) => r.name) });
    } catch (e) {
      send({ v: 1, type: 'error', id: null, message: oneLine(e) });
    }
    return;
  }
  if (msg.type === 'score') {
    if (!engine) { send({ v: 1, type: 'error', id: msg.id ?? null, message: 'score before init' }); return; }
    let results: Awaited<ReturnType<RewardEngine['evaluate']>>;
    try {
      results = await engine.evaluate((msg.items ?? []).map((it) => ({ prompt: String(it.prompt ?? ''), response: String(it.response ?? ''), label: it.label, metadata: it.metadata })));
    } catch (e) { send({ v: 1, type: 'error', id: msg.id ?? null, message: oneLine(e) }); return; }
    send({ v: 1, type: 'result', id: msg.id, rewards: results.map((r) => (r.error ? null : r.reward)),
      errors: results.map((r) => r.error ?? null), breakdown: results.map((r) => r.breakdown) });
    return;
  }
  send({ v: 1, type: 'error', id: msg.id ?? null, message: `unknown request type '${msg.type}'` });
}

async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length) await handle(queue.shift()!);
  busy = false;
}

/**
 * Ends the evaluator processes and exits at once, even mid-request: the trainer that asked is gone.
 * Rules never run on this thread, so it is always free to do so.
 */
function shutdown(): void {
  const exit = () => process.exit(0);
  setTimeout(exit, 2000).unref(); // close() is quick; never wait on it for long
  void (engine?.close() ?? Promise.resolve()).then(exit, exit);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => { if (line.trim()) { queue.push(line); void pump(); } })
  .on('close', shutdown);
// stdin closes when the trainer exits; if something else holds the pipe open, the trainer's death
// still shows as a new parent (init or a subreaper)
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) shutdown(); }, 500).unref();
