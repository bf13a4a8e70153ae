// The `ray` target: a run submitted as a Ray job through the Ray Jobs REST API of the cluster's dashboard, from
// Node (no Python on this side). What it does (docs/clusters.md, "Ray"):
//
// * start: zips the trainer package, the schemas, the rule engine (dist/reward-worker.js) and the config's folder
//   (data, model, reward code) with yazl, uploads the zip as Ray's own SDK does (GET /api/packages/gcs/NAME to
//   skip a known one, PUT to upload), and POSTs /api/jobs/ with `python -m rlhf_trainer.ray_entry` as the
//   entrypoint and the zip as the runtime_env's working_dir; on the cluster the ranks run under Ray Train's
//   TorchTrainer (trainer/rlhf_trainer/ray_entry.py). Only once the head accepted the job is the local run
//   folder created (status.json with `job`, ray.json with the submission id): a refused start leaves nothing.
// * the run folder lives on the cluster's storage; its changes come back as tagged lines of the job's log and are
//   mirrored into the local folder (rayMirror.ts) on every liveness check, from the offset ray.json keeps.
// * stop: the Jobs API's stop; Ray sends SIGTERM to the job's driver, which passes the stop to rank 0 (finish the
//   step, checkpoint, `stopped`); Ray kills the job after RAY_JOB_STOP_WAIT_TIME_S, set at submit to
//   rlhf.stopTimeoutSeconds.
// * liveness: the Jobs API's status (scheduler.json) and the trainer's mirrored heartbeat; never a pid.
// No vscode here. Tokens (RLHF_RAY_TOKEN) are sent as a header and never written anywhere.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { ZipFile } from 'yazl';
import { announcedCheckpoints } from '../run/checkpoints';
import { readEvents } from '../run/events';
import { readStatus, recordUnreportedEnd } from '../run/runStore';
import { followRun } from './follow';
import { applyFileLines, applyLog, readRayInfo, writeAtomic, writeRayInfo, type RayRunInfo } from './rayMirror';
import { noteStopRequested, writeSchedulerView, type LaunchTarget, type Liveness, type RunHandle, type SchedulerView, type StartRequest, type StopOutcome } from './target';
import { CHECKPOINTS_DIR, COMPLETE_MARKER, STATUS_FILE, TRAINER_LOG } from '../run/names';

/** rlhf train --ray ADDRESS [--workers N] [--gpus-per-worker G] [--ray-storage DIR]; rlhf.ray.* settings. */
export interface RayOptions {
  /** The Ray dashboard address, e.g. http://127.0.0.1:8265. */
  address: string;
  workers?: number;
  gpusPerWorker?: number;
  /** The cluster's folder for run folders and checkpoints (default ~/rlhf-runs on the node the driver runs on). */
  storage?: string;
  /** rlhf.stopTimeoutSeconds: how long Ray lets the stopped job checkpoint before it kills it (default 30). */
  stopTimeoutS?: number;
}

/** A Ray start or request that cannot go on: one line naming what to fix. */
declare module './target' {
  interface TargetOptions {
    /** The `ray` target's options (rlhf train --ray, rlhf.ray.*). */
    ray?: RayOptions;
  }
}

export class RayError extends Error {}

export const DEFAULT_RAY_STORAGE = '~/rlhf-runs';
const ENDED = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);
/** The most a working_dir may hold: Ray keeps packages in its GCS, whose messages stop at 512 MiB. */
const MAX_PACKAGE_BYTES = 450 << 20;
const SKIP_DIRS = new Set(['runs', 'node_modules', '.git', '__pycache__', '.venv', '.venv-ray', '.pytest_cache', CHECKPOINTS_DIR]);

export interface RayJobInfo { status: string; message?: string | null; submission_id?: string }

/** The Jobs REST API of one Ray dashboard. */
export class RayJobs {
  readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(address: string, token = process.env.RLHF_RAY_TOKEN) {
    this.base = normalizeAddress(address);
    this.headers = token ? { Authorization: `Bearer ${token}` } : {};
  }

  private async call(method: string, p: string, body?: Buffer | object, timeoutMs = 60_000): Promise<{ status: number; text: string }> {
    let res: { status: number; text: string };
    try {
      const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      res = await httpRequest(new URL(this.base + p), method, { ...this.headers, ...(body && !Buffer.isBuffer(body) ? { 'Content-Type': 'application/json' } : {}) },
        data, timeoutMs);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ETIMEDOUT' ? `no answer within ${timeoutMs / 1000} s` : err.code ?? err.message;
      throw new RayError(`cannot reach the Ray dashboard at ${this.base} (${why}); check that the Ray head is running and its dashboard ` +
        'listens at that address (ray start --head --dashboard-host ...; through an SSH tunnel: ssh -L 8265:localhost:8265 HEAD, then http://127.0.0.1:8265)');
    }
    if (res.status === 401 || res.status === 403) {
      throw new RayError(`the Ray dashboard at ${this.base} refused the request (HTTP ${res.status}); set RLHF_RAY_TOKEN to the cluster's token (ray get-auth-token)`);
    }
    return res;
  }

  /** The cluster's Ray version; throws RayError when the address is not a Ray dashboard. */
  async version(): Promise<string> {
    const r = await this.call('GET', '/api/version', undefined, 30_000);
    let v: { ray_version?: unknown } | undefined;
    try { v = JSON.parse(r.text) as { ray_version?: unknown }; } catch { /* below */ }
    if (r.status !== 200 || typeof v?.ray_version !== 'string') {
      throw new RayError(`${this.base} answered /api/version with HTTP ${r.status} and no Ray version: it is not a Ray dashboard (the head's dashboard port, 8265 by default)`);
    }
    return v.ray_version;
  }

  /** Uploads a working_dir package unless the cluster has it (its name is its content's hash). */
  async uploadPackage(name: string, zip: Buffer): Promise<void> {
    if ((await this.call('GET', `/api/packages/gcs/${name}`)).status === 200) return;
    const r = await this.call('PUT', `/api/packages/gcs/${name}`, zip, 600_000);
    if (r.status !== 200) throw new RayError(`the Ray head refused the run's package (${(zip.length / 1048576).toFixed(1)} MiB): HTTP ${r.status}: ${firstLine(r.text)}`);
  }

  /** POST /api/jobs/; a job the head rejects is a RayError with its reason. A head whose agent is still starting is asked again. */
  async submit(body: Record<string, unknown>, waitMs = 120_000): Promise<string> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const r = await this.call('POST', '/api/jobs/', body);
      if (r.status === 200) return (JSON.parse(r.text) as { submission_id: string }).submission_id;
      // the node's agent registers after the dashboard answers: "No available agent to submit job, please try again later."
      if (/No available agent/i.test(r.text) && Date.now() < deadline) { await sleep(2000); continue; }
      throw new RayError(`the Ray head rejected the job (HTTP ${r.status}): ${errorLine(r.text)}`);
    }
  }

  async info(id: string): Promise<RayJobInfo> {
    const r = await this.call('GET', `/api/jobs/${encodeURIComponent(id)}`);
    if (r.status !== 200) throw new RayError(`the Ray head does not know job ${id} (HTTP ${r.status}): ${firstLine(r.text)}`);
    return JSON.parse(r.text) as RayJobInfo;
  }

  /** The job's whole log (the driver's output). */
  async logs(id: string): Promise<string> {
    const r = await this.call('GET', `/api/jobs/${encodeURIComponent(id)}/logs`, undefined, 120_000);
    if (r.status !== 200) throw new RayError(`could not read the log of Ray job ${id} (HTTP ${r.status}): ${firstLine(r.text)}`);
    return (JSON.parse(r.text) as { logs?: string }).logs ?? '';
  }

  async stop(id: string): Promise<void> {
    const r = await this.call('POST', `/api/jobs/${encodeURIComponent(id)}/stop`, undefined, 600_000);
    if (r.status !== 200) throw new RayError(`the Ray head did not stop job ${id} (HTTP ${r.status}): ${firstLine(r.text)}`);
  }
}

/**
 * One HTTP request with node:http(s). Not fetch: Node's fetch sends the Sec-Fetch-* headers of a browser, and the Ray
 * dashboard refuses anything but GET from what looks like a browser ("method not allowed for browser traffic").
 */
function httpRequest(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

const firstLine = (text: string): string => text.trim().split('\n')[0].slice(0, 300);
/** The error a Python traceback ends with (the head nests tracebacks: the last `XError: ...` line), else the first line. */
function errorLine(text: string): string {
  const lines = text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const raised = lines.filter((l) => /^[A-Za-z_.]*(Error|Exception): /.test(l)).pop();
  return (raised ?? lines[0] ?? '').slice(0, 300);
}

/** http(s)://host:port without a trailing slash; credentials in the URL are refused (they would end up in the run folder). */
export function normalizeAddress(address: string): string {
  let url: URL;
  try { url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `http://${address}`); } catch {
    throw new RayError(`--ray ${address}: not an address; give the Ray dashboard's, e.g. http://127.0.0.1:8265`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RayError(`--ray ${address}: the Ray dashboard speaks http(s), e.g. http://127.0.0.1:8265 (not ${url.protocol}//: the Jobs API is on the dashboard port)`);
  if (url.username || url.password) throw new RayError(`--ray ${url.host}: put the token in RLHF_RAY_TOKEN, not in the address (addresses are recorded in run folders)`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

// ---- the package ------------------------------------------------------------------------------------------

/** Files of `dir` (symlinks followed), relative paths with '/', skipping caches, virtual envs and run folders. */
function walk(dir: string, keep: (rel: string) => boolean, rel = ''): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    let st: fs.Stats;
    try { st = fs.statSync(path.join(dir, r)); } catch { continue; } // a dangling link
    if (st.isDirectory()) { if (!SKIP_DIRS.has(name) && !name.startsWith('.tmp-')) out.push(...walk(dir, keep, r)); } else if (st.isFile() && keep(r)) out.push(r);
  }
  return out;
}

/** The config's file paths that must travel with it: relative ones inside its folder; an absolute one is a path on the cluster. */
export function checkConfigPaths(config: string): void {
  let doc: Record<string, unknown>;
  try { doc = (YAML.parse(fs.readFileSync(config, 'utf8')) ?? {}) as Record<string, unknown>; } catch { return; } // the trainer reports it on the cluster
  const sec = (k: string) => (doc[k] && typeof doc[k] === 'object' ? doc[k] as Record<string, unknown> : {});
  const reward = sec('reward');
  const paths: [string, unknown][] = [['model.policy', sec('model').policy], ['model.reference', sec('model').reference],
    ['data.prompts', sec('data').prompts], ['data.eval_prompts', sec('data').eval_prompts],
    ...(Array.isArray(reward.sources) ? reward.sources : []).map((s, i): [string, unknown] => [`reward.sources[${i}].function`,
      typeof (s as { function?: unknown })?.function === 'string' ? (s as { function: string }).function.split(':')[0] : undefined]),
    ...(Array.isArray(reward.rules) ? reward.rules : []).map((r, i): [string, unknown] => [`reward.rules[${i}].path`, (r as { path?: unknown })?.path])];
  for (const [key, p] of paths) {
    if (typeof p !== 'string' || !p || path.isAbsolute(p)) continue;
    if (p.split(/[\\/]/).includes('..')) {
      throw new RayError(`${config}: ${key}: ${p} is outside the config's folder, which is what travels to the Ray cluster; move it into the folder, or give its absolute path on the cluster`);
    }
  }
}

export interface PackageLayout { trainerDir: string; schemasDir: string; rewardWorker?: string }

/**
 * The job's working_dir: rlhf_trainer/ (the trainer), schemas/, dist/ (the rule engine) and run/ (the config's
 * folder: its data, model and reward code). Returns the archive-relative paths and their absolute sources.
 */
export function packageEntries(layout: PackageLayout, config: string): Map<string, string> {
  const entries = new Map<string, string>();
  const pkg = path.join(layout.trainerDir, 'rlhf_trainer');
  for (const f of walk(pkg, (r) => r.endsWith('.py'))) if (!f.startsWith('tests/')) entries.set(`rlhf_trainer/${f}`, path.join(pkg, f));
  for (const f of walk(layout.schemasDir, (r) => r.endsWith('.json'))) entries.set(`schemas/${f}`, path.join(layout.schemasDir, f));
  const worker = layout.rewardWorker ?? '';
  const evalWorker = path.join(path.dirname(worker), 'reward-eval-worker.js');
  if (!fs.existsSync(worker) || !fs.existsSync(evalWorker)) {
    throw new RayError(`the rule engine (${worker || 'dist/reward-worker.js'}) is missing; run npm run build first: it travels to the Ray cluster with the trainer`);
  }
  entries.set('dist/reward-worker.js', worker);
  entries.set('dist/reward-eval-worker.js', evalWorker);
  checkConfigPaths(config);
  const folder = path.dirname(config);
  for (const f of walk(folder, (r) => !r.endsWith('.pyc'))) entries.set(`run/${f}`, path.join(folder, f));
  return entries;
}

/** A zip of the entries, byte for byte the same for the same files (fixed times), so its hash names it. */
export async function zipEntries(entries: Map<string, string>): Promise<{ zip: Buffer; name: string }> {
  let total = 0;
  const zip = new ZipFile();
  const mtime = new Date(Date.UTC(2000, 0, 1));
  for (const [rel, abs] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const data = fs.readFileSync(abs);
    total += data.length;
    if (total > MAX_PACKAGE_BYTES) {
      throw new RayError(`the files that travel to the Ray cluster pass ${MAX_PACKAGE_BYTES >> 20} MiB at ${rel}; keep large models and data on the cluster and give their absolute paths there in the config`);
    }
    zip.addBuffer(data, rel, { mtime, mode: 0o100644 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  return { zip: buf, name: `_ray_pkg_${createHash('sha256').update(buf).digest('hex').slice(0, 16)}.zip` };
}

const shellQuote = (s: string): string => (/^[\w@%+=:,./~-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

// ---- the target -------------------------------------------------------------------------------------------

/** The Jobs API client for a run folder's job. */
function jobsOf(info: RayRunInfo): RayJobs { return new RayJobs(info.address); }

/**
 * Submits the run. Every check that can fail (address, package, the head's answer) comes before the local run
 * folder exists; the folder then holds status.json (`starting`, with `job`), ray.json and scheduler.json.
 */
async function startRay(req: StartRequest): Promise<RunHandle> {
  const o = req.ray;
  if (!o?.address) throw new RayError('the ray target needs the Ray dashboard address (--ray http://HEAD:8265, or the setting rlhf.ray.address)');
  const jobs = new RayJobs(o.address);
  const workers = o.workers ?? 2;
  const gpus = o.gpusPerWorker ?? 0;
  await jobs.version();
  const { zip, name } = await zipEntries(packageEntries(req, req.config));
  await jobs.uploadPackage(name, zip);
  const runId = path.basename(req.runDir);
  const submissionId = `raysubmit_${randomBytes(8).toString('hex')}`;
  const storage = o.storage ?? DEFAULT_RAY_STORAGE;
  const stopWait = Math.max(1, Math.round(o.stopTimeoutS ?? 30));
  const entrypoint = ['python', '-m', 'rlhf_trainer.ray_entry', '--config', `run/${path.basename(req.config)}`, '--run-id', runId,
    '--storage', storage, '--workers', String(workers), '--gpus-per-worker', String(gpus), ...(req.resume ? ['--resume', req.resume] : [])]
    .map(shellQuote).join(' ');
  await jobs.submit({
    entrypoint, submission_id: submissionId, metadata: { rlhf_run: runId },
    runtime_env: { working_dir: `gcs://${name}`, env_vars: {
      RAY_JOB_STOP_WAIT_TIME_S: String(stopWait), RAY_DEDUP_LOGS: '0', PYTHONUNBUFFERED: '1',
      // Ray Train's default (60 s) for the workers to start fails runs whose workers import torch on a busy node,
      // or wait for an autoscaler; the job shows PENDING/RUNNING meanwhile and Stop still ends it
      RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S: '900' } },
  });
  try {
    fs.mkdirSync(req.runDir, { recursive: true });
    const info: RayRunInfo = { address: jobs.base, submission_id: submissionId, cluster_run_dir: `${storage.replace(/\/+$/, '')}/${runId}`,
      workers, gpus_per_worker: gpus, log_offset: 0, complete: false };
    writeRayInfo(req.runDir, info);
    writeAtomic(path.join(req.runDir, STATUS_FILE), JSON.stringify({ state: 'starting', pid: null, step: 0, total_steps: null, updated: Date.now() / 1000,
      error: null, last_checkpoint: null, reward_mean: null, job: { target: 'ray', id: submissionId, nodes: workers, procs_per_node: 1, address: jobs.base } }, null, 1));
    writeSchedulerView(req.runDir, { state: 'PENDING', checked: Date.now() / 1000, ended: false });
  } catch (e) { // the job must not run without a folder to show it: take it back
    await jobs.stop(submissionId).catch(() => undefined);
    throw new RayError(`could not create the run folder ${req.runDir} (${(e as Error).message}); the Ray job ${submissionId} was stopped`);
  }
  const handle = await followRun(rayTarget, req.runDir, 1000, submissionId);
  return handle ?? { runDir: req.runDir, target: 'ray', jobId: submissionId, exited: Promise.resolve(readStatus(req.runDir)?.state === 'failed' ? 1 : 0) };
}

/** The line recorded for a job that ended without the trainer's own end reaching the mirror. */
function endReason(job: RayJobInfo, info: RayRunInfo, runDir: string): string {
  const id = info.submission_id;
  if (job.status === 'STOPPED') {
    return `the Ray job ${id} was stopped through the Jobs API and the trainer's end never reached this folder (it did not finish its step and checkpoint in time, or was stopped before it started); steps after the last checkpoint are lost`;
  }
  let detail = '';
  try { // the trainer's own one-line error (a config error on the cluster, say) beats Ray's summary
    const log = fs.readFileSync(path.join(runDir, TRAINER_LOG), 'utf8').split('\n');
    detail = log.reverse().find((l) => /^(config error|error): /.test(l.trim()))?.trim() ?? '';
  } catch { /* no log */ }
  const ray = firstLine(job.message ?? '');
  return `the Ray job ${id} ${job.status === 'FAILED' ? 'failed' : 'ended'} without the trainer recording its end: ${detail || ray || 'no message'}; trainer.log has the job's log`;
}

async function rayLiveness(runDir: string): Promise<Liveness> {
  const info = readRayInfo(runDir);
  if (!info) return { alive: false };
  const jobs = jobsOf(info);
  let job: RayJobInfo;
  try { job = await jobs.info(info.submission_id); } catch { return { alive: false }; }
  const ended = ENDED.has(job.status);
  // the log after the status: once the status is final, the log holds everything the driver printed
  try { applyLog(runDir, await jobs.logs(info.submission_id)); } catch { /* the next check reads it */ }
  const view: SchedulerView = { state: job.status, reason: job.message ?? null, nodes: null, checked: Date.now() / 1000, ended };
  writeSchedulerView(runDir, view);
  if (ended) recordUnreportedEnd(runDir, { reason: endReason(job, info, runDir), exitCode: null, signal: null });
  return { alive: !ended, view };
}

async function rayStop(runDir: string, o: { timeoutMs: number; onStage?: (stage: string) => void; by: string }): Promise<StopOutcome> {
  const info = readRayInfo(runDir);
  if (!info || !(await rayLiveness(runDir)).alive) return 'not-running';
  noteStopRequested(runDir);
  o.onStage?.(`stop requested (${o.by}) through the Ray Jobs API: rank 0 finishes its step and checkpoints; Ray ends the job after the timeout set at submit`);
  await jobsOf(info).stop(info.submission_id);
  const deadline = Date.now() + o.timeoutMs + 120_000;
  while (Date.now() < deadline && (await rayLiveness(runDir)).alive) await sleep(1000);
  const state = readStatus(runDir)?.state;
  return state === 'stopped' ? 'graceful' : state === 'failed' ? 'killed' : 'cancelled';
}

/** A Ray run's checkpoints as its mirrored events list them: step and path on the cluster, oldest first. */
export function rayCheckpoints(runDir: string): { step: number; path: string }[] {
  // streamed through the run folder's guard (a long run's events.jsonl is never held whole)
  return announcedCheckpoints(readEvents(runDir, CHECKPOINT_EVENTS));
}

/** The checkpoints of a Ray run (`all`: its announced ones) that are on the cluster only (not downloaded into RUN/checkpoints yet), newest first. */
export function remoteOnlyCheckpoints(runDir: string, all = rayCheckpoints(runDir)): { step: number; path: string }[] {
  return all.filter((c) => !fs.existsSync(path.join(runDir, CHECKPOINTS_DIR, path.posix.basename(c.path), COMPLETE_MARKER))).reverse();
}

const CHECKPOINT_EVENTS: ReadonlySet<string> = new Set(['checkpoint']);

/** The trainer files a checkpoint download job ships (ray_mirror.py runs alone: no torch, only these; a unit test runs them). */
export const DOWNLOAD_JOB_FILES = ['__init__.py', 'ray_mirror.py', 'names.py'] as const;

/**
 * Fetches one checkpoint of a Ray run into RUN/checkpoints/step-N (then every local checkpoint action works on it):
 * a small job (`python -m rlhf_trainer.ray_mirror CHECKPOINT`, on the node the Jobs API picks, which must see the
 * storage path) prints its files into its log, which is read once the job has ended. Meant for checkpoints of a
 * size a job log carries (hundreds of MB at most); returns the local folder.
 */
export async function downloadRayCheckpoint(runDir: string, layout: { trainerDir: string }, step?: number,
  onStage?: (s: string) => void, waitMs = 1_800_000): Promise<string> {
  const info = readRayInfo(runDir);
  if (!info) throw new RayError(`${path.basename(runDir)} is not a Ray run (it has no ray.json); its checkpoints are in its folder already`);
  const all = rayCheckpoints(runDir);
  const pick = step === undefined ? all[all.length - 1] : all.find((c) => c.step === step);
  if (!pick) throw new RayError(all.length ? `${path.basename(runDir)} has no checkpoint at step ${step}; its checkpoints: steps ${all.map((c) => c.step).join(', ')}`
    : `${path.basename(runDir)} has no checkpoint yet (none in its mirrored events)`);
  const name = path.posix.basename(pick.path);
  const local = path.join(runDir, CHECKPOINTS_DIR, name);
  if (fs.existsSync(path.join(local, COMPLETE_MARKER))) return local;
  const jobs = jobsOf(info);
  const pkgDir = path.join(layout.trainerDir, 'rlhf_trainer');
  const { zip, name: pkg } = await zipEntries(new Map(DOWNLOAD_JOB_FILES.map((f) => [`rlhf_trainer/${f}`, path.join(pkgDir, f)])));
  await jobs.uploadPackage(pkg, zip);
  const id = await jobs.submit({ entrypoint: ['python', '-m', 'rlhf_trainer.ray_mirror', pick.path].map(shellQuote).join(' '),
    submission_id: `raysubmit_${randomBytes(8).toString('hex')}`, metadata: { rlhf_download: path.basename(runDir) },
    runtime_env: { working_dir: `gcs://${pkg}` } });
  onStage?.(`fetching ${pick.path} through Ray job ${id}`);
  const deadline = Date.now() + waitMs;
  let job = await jobs.info(id);
  while (!ENDED.has(job.status)) {
    if (Date.now() > deadline) { await jobs.stop(id).catch(() => undefined); throw new RayError(`the download job ${id} did not end within ${waitMs / 60_000} min; it was stopped`); }
    await sleep(1000);
    job = await jobs.info(id);
  }
  const logs = await jobs.logs(id);
  if (job.status !== 'SUCCEEDED') {
    const why = logs.split('\n').reverse().find((l) => l.startsWith('error: '))?.slice(7) ?? firstLine(job.message ?? '');
    throw new RayError(`the download job ${id} ${job.status.toLowerCase()}: ${why}`);
  }
  const tmp = path.join(runDir, `.tmp-download-${id}`);
  try {
    const end = applyFileLines(tmp, logs);
    const got = path.join(tmp, CHECKPOINTS_DIR, name);
    if (!end || !fs.existsSync(path.join(got, COMPLETE_MARKER))) throw new RayError(`the download job ${id} ended without the whole checkpoint in its log`);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.renameSync(got, local);
  } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
  return local;
}

export const rayTarget: LaunchTarget = {
  kind: 'ray',
  start: startRay,
  stop: rayStop,
  liveness: rayLiveness,
  logs: (runDir) => [path.join(runDir, TRAINER_LOG)],
  reattach: (runDir, pollMs) => followRun(rayTarget, runDir, pollMs ?? 1000, readRayInfo(runDir)?.submission_id),
};
