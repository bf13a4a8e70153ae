// rlhf serve-rewards: the rules behind OpenRLHF's remote reward protocol, on 127.0.0.1 only.
// POST {query, prompts?, labels?} -> {rewards, scores, extra_logs}; when a sample's rules failed, also
// errors (one entry per sample: the message or null) and extra_logs.reward_error (1 for those samples),
// and a line on stderr: a failed sample is never a silent fallback reward. The token is in the path
// (http://127.0.0.1:P/<token>/get_reward: OpenRLHF's --reward.remote_url sends no header) or in an
// "Authorization: Bearer <token>" header (then the path is /get_reward). Every body gets an answer:
// 200, or a 4xx/5xx with {error}. Memory is bounded across requests: beyond the in-flight limits a
// request gets 503 before its body is read.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RewardEngine } from './engine';
import type { Sample } from './rules';

export interface ServeOptions {
  port?: number;
  token?: string;
  /** Largest body of one request (default 64 MiB). */
  maxBodyBytes?: number;
  /** Bytes of bodies being received or scored at once, all requests together (default 256 MiB). */
  maxInflightBytes?: number;
  /** Requests being received or scored at once (default 64). */
  maxInflightRequests?: number;
}

export interface RewardServer {
  /** The URL to paste into OpenRLHF's --reward.remote_url: the token is in its path. */
  url: string;
  /** The same endpoint for clients that send "Authorization: Bearer <token>". */
  headerUrl: string;
  token: string;
  server: http.Server;
  close(): Promise<void>;
}

const MiB = 2 ** 20;

class BadRequest extends Error {}

/** The samples of an OpenRLHF request body, or BadRequest saying what is wrong. */
export function samplesOfBody(body: unknown): Sample[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('the body must be a JSON object {"query": [...], "prompts": [...], "labels": [...]}');
  const { query, prompts, labels } = body as Record<string, unknown>;
  const strings = (v: unknown, name: string): string[] => {
    if (!Array.isArray(v)) throw new BadRequest(`${name} must be an array of strings`);
    const bad = v.findIndex((x) => typeof x !== 'string');
    if (bad >= 0) throw new BadRequest(`${name}[${bad}] must be a string, not ${v[bad] === null ? 'null' : typeof v[bad]}`);
    return v as string[];
  };
  const queries = strings(query, 'query');
  const ps = prompts === undefined || prompts === null ? undefined : strings(prompts, 'prompts');
  if (labels !== undefined && labels !== null && !Array.isArray(labels)) throw new BadRequest('labels must be an array');
  const ls = labels as unknown[] | undefined | null;
  for (const [name, arr] of [['prompts', ps], ['labels', ls]] as const) {
    if (arr && arr.length !== queries.length) throw new BadRequest(`${name} has ${arr.length} entries but query has ${queries.length}; they must be the same length`);
  }
  // OpenRLHF sends prompt + response as the query; the rules want the response alone
  return queries.map((q, i) => {
    const p = ps?.[i] ?? '';
    return { prompt: p, response: p && q.startsWith(p) ? q.slice(p.length) : q, label: ls?.[i] };
  });
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Whether the request carries the token, in its path or its Authorization header. */
function authorized(req: http.IncomingMessage, token: string): boolean {
  const pathname = (req.url ?? '').split('?')[0];
  const m = /^\/([^/]+)\/(get_reward)?$/.exec(pathname);
  if (m) {
    let given: string;
    try { given = decodeURIComponent(m[1]); } catch { return false; }
    if (sameToken(given, token)) return true;
  }
  const auth = req.headers.authorization ?? '';
  return auth.startsWith('Bearer ') && sameToken(auth.slice(7), token) && ['/get_reward', '/'].includes(pathname);
}

export function serveRewards(engine: RewardEngine, opts: ServeOptions = {}): Promise<RewardServer> {
  const token = opts.token || crypto.randomBytes(24).toString('base64url');
  const maxBody = opts.maxBodyBytes ?? 64 * MiB;
  const maxBytes = opts.maxInflightBytes ?? 256 * MiB;
  const maxRequests = opts.maxInflightRequests ?? 64;
  let inflightBytes = 0;
  let inflightRequests = 0;

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let held = 0; // bytes of this request counted in inflightBytes
    let counted = false;
    const release = () => {
      inflightBytes -= held;
      held = 0;
      if (counted) { counted = false; inflightRequests--; }
    };
    res.on('close', release);
    const reply = (status: number, body: object, headers: Record<string, string> = {}) => {
      if (res.headersSent) return;
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
      res.end(text);
      release();
    };
    const refuse = (status: number, error: string, headers: Record<string, string> = {}) => {
      reply(status, { error }, { Connection: 'close', ...headers });
      req.resume(); // drain what the client still sends, without keeping it
    };
    if (!authorized(req, token)) return refuse(401, 'missing or wrong token: POST to the URL that rlhf serve-rewards printed, or send "Authorization: Bearer <token>"');
    if (req.method !== 'POST') return refuse(405, 'POST the OpenRLHF reward JSON to this URL');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) return refuse(413, `request body over ${Math.round(maxBody / MiB)} MiB`);
    if (inflightRequests >= maxRequests || inflightBytes + declared > maxBytes) {
      return refuse(503, `busy: ${inflightRequests} requests (${Math.round(inflightBytes / MiB)} MiB) in progress; retry later`, { 'Retry-After': '1' });
    }
    inflightRequests++;
    counted = true;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (res.headersSent) return;
      held += c.length;
      inflightBytes += c.length;
      if (held > maxBody) return refuse(413, `request body over ${Math.round(maxBody / MiB)} MiB`);
      if (inflightBytes > maxBytes) return refuse(503, 'busy: too many bytes in flight; retry later', { 'Retry-After': '1' });
      chunks.push(c);
    });
    req.on('error', () => release());
    req.on('end', () => {
      if (res.headersSent) return;
      let samples: Sample[];
      try {
        samples = samplesOfBody(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        return reply(400, { error: e instanceof BadRequest ? e.message : 'the body is not JSON' });
      }
      chunks.length = 0;
      engine.evaluate(samples).then((results) => {
        const rewards = results.map((r) => r.reward);
        const extra: Record<string, number[]> = {};
        results.forEach((r, i) => { for (const [k, v] of Object.entries(r.breakdown)) (extra[k] ??= new Array(results.length).fill(0))[i] = v; });
        const failed = results.filter((r) => r.error);
        if (!failed.length) return reply(200, { rewards, scores: rewards, extra_logs: extra });
        process.stderr.write(`rlhf serve-rewards: ${failed.length} of ${results.length} samples got the fallback reward ${engine.fallback}: ${failed[0].error}\n`);
        extra.reward_error = results.map((r) => (r.error ? 1 : 0));
        reply(200, { rewards, scores: rewards, extra_logs: extra, errors: results.map((r) => r.error ?? null) });
      }, (e) => reply(500, { error: e instanceof Error ? e.message : String(e) }));
    });
  };

  const server = http.createServer((req, res) => {
    try { handle(req, res); } catch (e) { // a bug here must cost one request, not the server
      if (!res.headersSent) { res.writeHead(500, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ error: String(e) })); }
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const base = `http://127.0.0.1:${port}`;
      resolve({ url: `${base}/${encodeURIComponent(token)}/get_reward`, headerUrl: `${base}/get_reward`, token, server,
        close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }) });
    });
  });
}
