// rlhf serve-rewards: the rules behind OpenRLHF's remote reward protocol, on 127.0.0.1 only, with a
// bearer token. POST /get_reward {query, prompts, labels} -> {rewards, scores, extra_logs}.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RewardEngine } from './engine';

const MAX_BODY = 64 * 1024 * 1024;

export interface RewardServer { url: string; token: string; server: http.Server; close(): Promise<void> }

export function serveRewards(engine: RewardEngine, opts: { port?: number; token?: string } = {}): Promise<RewardServer> {
  const token = opts.token || crypto.randomBytes(24).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !crypto.timingSafeEqual(auth, expected)) return reply(401, { error: 'missing or wrong bearer token' });
    if (req.method !== 'POST' || !['/get_reward', '/'].includes(req.url ?? '')) return reply(404, { error: 'POST /get_reward' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reply(413, { error: 'request body over 64 MiB' }); req.destroy(); } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      let body: { query?: string[]; prompts?: string[]; labels?: unknown[] };
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return reply(400, { error: 'body is not JSON' }); }
      const queries = Array.isArray(body.query) ? body.query.map(String) : [];
      const prompts = Array.isArray(body.prompts) ? body.prompts.map(String) : [];
      const labels = Array.isArray(body.labels) ? body.labels : [];
      // OpenRLHF sends prompt + response as the query; the rules want the response alone
      const samples = queries.map((q, i) => {
        const p = prompts[i] ?? '';
        return { prompt: p, response: p && q.startsWith(p) ? q.slice(p.length) : q, label: labels[i] };
      });
      engine.evaluate(samples).then((results) => {
        const rewards = results.map((r) => r.reward);
        const extra: Record<string, number[]> = {};
        results.forEach((r, i) => { for (const [k, v] of Object.entries(r.breakdown)) (extra[k] ??= new Array(results.length).fill(0))[i] = v; });
        reply(200, { rewards, scores: rewards, extra_logs: extra });
      }, (e) => reply(500, { error: String(e) }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/get_reward`, token, server, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
