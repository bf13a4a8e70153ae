// Runs of other frameworks (verl, OpenRLHF, TRL, prime-rl, NeMo-RL) watched from their own files: read-only,
// polled by the core adapters, listed in the Runs view next to native runs and shown by the same
// dashboard. The watched folders are remembered per workspace and opened again after a reload.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AdapterError, FRAMEWORKS, openExternalRun, watchedRunId, type ExternalRun, type Framework } from '../core/adapters';

const STATE_KEY = 'rlhf.watchedFolders';
const POLL_MS = 1000;

interface Saved { dir: string; framework: Framework }
export interface WatchedRun { id: string; run: ExternalRun }

export class ExternalRuns implements vscode.Disposable {
  private readonly runs = new Map<string, ExternalRun>();

  constructor(private readonly state: vscode.Memento, private readonly log: vscode.LogOutputChannel, private readonly changed: () => void) {}

  /** Opens the folders watched in this workspace before; one that cannot be read any more is dropped, with a log line. */
  restore(): void {
    for (const s of this.saved()) {
      try { this.open(s.dir, s.framework); } catch (e) {
        if (!(e instanceof AdapterError)) throw e;
        this.log.warn(`no longer watching ${s.dir}: ${e.message}`);
      }
    }
    void this.save();
  }

  /** Starts watching DIR (framework detected); the run id. Throws AdapterError (one line) when DIR holds no run. */
  add(dir: string): string {
    const abs = path.resolve(dir);
    const known = this.list().find((w) => w.run.dir === abs);
    if (known) return known.id;
    const id = this.open(abs);
    void this.save();
    this.changed();
    return id;
  }

  remove(id: string): void {
    this.runs.get(id)?.dispose();
    if (this.runs.delete(id)) { void this.save(); this.changed(); }
  }

  get(id: string): ExternalRun | undefined { return this.runs.get(id); }
  has(id: string): boolean { return this.runs.has(id); }
  list(): WatchedRun[] { return [...this.runs].map(([id, run]) => ({ id, run })); }

  private open(dir: string, framework?: Framework): string {
    const run = openExternalRun(dir, framework);
    const id = watchedRunId(run, (i) => this.runs.has(i));
    this.runs.set(id, run);
    run.onEvents((events) => {
      for (const e of events) if (e.type === 'log' && e.level === 'error') this.log.warn(`[${id}] ${e.message}`);
    });
    run.start(POLL_MS);
    this.log.info(`watching ${run.dir} as a ${run.framework} run (${id})`);
    return id;
  }

  private saved(): Saved[] {
    const v = this.state.get<unknown>(STATE_KEY);
    const isSaved = (s: unknown): s is Saved => typeof s === 'object' && s !== null && typeof (s as Saved).dir === 'string'
      && (FRAMEWORKS as readonly unknown[]).includes((s as Saved).framework);
    return Array.isArray(v) ? (v as unknown[]).filter(isSaved) : [];
  }

  private save(): Thenable<void> {
    return this.state.update(STATE_KEY, [...this.runs.values()].map((r): Saved => ({ dir: r.dir, framework: r.framework })));
  }

  dispose(): void { for (const r of this.runs.values()) r.dispose(); this.runs.clear(); }
}
