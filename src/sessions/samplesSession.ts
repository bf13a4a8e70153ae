// The sample browser's host side without vscode: answers the webview's messages from a run's
// SampleIndex and Labels. The panel (src/extension/samplesPanel.ts), the benchmark and the tests
// all drive this one class.
import * as path from 'node:path';
import { RunFileError } from '../core/run/files';
import { isSamplesWebviewToHost, MAX_WINDOW, type SamplesHostToWebview, type SamplesInfo } from '../../webview/samples/protocol';
import { SampleIndex } from '../core/samples/index';
import { Labels, SAME_TEXT } from '../core/samples/labels';

export class SamplesSession {
  readonly index: SampleIndex;
  readonly labels: Labels;
  /** The current query's rows (display order): windows are cut from it. */
  private rows: Uint32Array = new Uint32Array(0);
  private seq = -1;

  constructor(readonly runDir: string, private readonly post: (m: SamplesHostToWebview) => void,
    private readonly opts: { readOnly?: boolean; focusStep?: number; focusFilter?: { truncatedOnly?: boolean }; openPrompt?: (prompt: string, source: { file: string; line: number } | undefined) => void;
      /** The bar's Export Preference Dataset and Train Reward Model (the host's commands, on this run). */
      exportPreferences?: () => void; trainRewardModel?: () => void } = {}) {
    this.index = new SampleIndex(runDir);
    this.labels = new Labels(runDir);
  }

  info(): SamplesInfo {
    const i = this.index;
    return { runId: path.basename(this.runDir), total: i.size, steps: i.steps(), rules: [...i.rules], rewardRange: i.rewardRange(), readOnly: !!this.opts.readOnly };
  }

  /** Indexes what the trainer appended; tells the webview when there is more. */
  poll(): void {
    if (this.index.poll() > 0) this.post({ type: 'grown', info: this.info() });
  }

  private withVerdicts(rows: number[] | Uint32Array) {
    return this.index.summaries(rows).map((s) => ({ ...s, verdict: this.labels.verdict(s.offset) ?? null }));
  }

  /** A prompt's group with each card's saved preferences: the sample indexes it was preferred over and under. */
  private groupRows(row: number) {
    return this.withVerdicts(this.index.groupOf(row)).map((s) => {
      const p = this.labels.preferencesOf(s.offset);
      return { ...s, over: p.over.map((r) => r.index), under: p.under.map((r) => r.index) };
    });
  }

  /** Moves the page to `step` (a chart click, an alert's Show samples while the browser is already open), with
   * `filter` (an alert's) when given: it re-initialises there. */
  focus(step: number, filter?: { truncatedOnly?: boolean }): void {
    this.opts.focusStep = step;
    this.opts.focusFilter = filter;
    this.handle({ type: 'ready' });
  }

  handle(m: unknown): void {
    if (!isSamplesWebviewToHost(m)) { this.post({ type: 'error', message: 'ignored an invalid message from the sample browser' }); return; }
    switch (m.type) {
      case 'ready':
        this.index.poll();
        this.post({ type: 'init', info: this.info(), focusStep: this.opts.focusStep ?? null, ...(this.opts.focusFilter ? { focusFilter: this.opts.focusFilter } : {}) });
        for (const problem of [this.index.problem, this.labels.problem]) if (problem) this.post({ type: 'error', message: problem });
        break;
      case 'query': {
        const r = this.index.query(m.filter, m.sort);
        this.rows = r.rows; this.seq = m.seq;
        this.post({ type: 'result', seq: m.seq, matched: r.rows.length, capped: r.capped, histogram: this.index.rewardHistogram(r.rows) });
        break;
      }
      case 'window':
        if (m.seq !== this.seq) return; // an answer to an older query: the webview moved on
        this.post({ type: 'rows', seq: m.seq, start: m.start, rows: this.withVerdicts(this.rows.subarray(m.start, m.start + Math.min(m.count, MAX_WINDOW))) });
        break;
      case 'open': {
        const record = this.index.read(m.row);
        if (!record) { this.post({ type: 'error', message: `sample ${m.row} could not be read back from samples.jsonl (the file changed); reload the browser` }); return; }
        this.post({ type: 'sample', row: m.row, record, verdict: this.labels.verdict(this.index.where(m.row)!.offset) ?? null });
        break;
      }
      case 'group': this.post({ type: 'group', row: m.row, rows: this.groupRows(m.row) }); break;
      case 'label': this.label(m.row, m.verdict); break;
      case 'prefer': this.prefer(m.chosen, m.rejected); break;
      case 'exportPreferences': this.opts.exportPreferences?.(); break;
      case 'trainRewardModel':
        if (this.opts.readOnly) { this.post({ type: 'error', message: 'training is off in an untrusted workspace' }); return; }
        this.opts.trainRewardModel?.();
        break;
      case 'openPrompt': {
        const r = this.index.read(m.row);
        if (r) this.opts.openPrompt?.(r.prompt, r.source);
        break;
      }
    }
  }

  private label(row: number, verdict: 'good' | 'bad' | 'none'): void {
    if (this.opts.readOnly) { this.post({ type: 'error', message: 'labels are off in an untrusted workspace' }); return; }
    const rec = this.index.read(row), at = this.index.where(row);
    if (!rec || !at) return;
    if (!this.labelsWritten(() => this.labels.mark(at, rec.prompt, rec.response, verdict))) return;
    this.post({ type: 'labeled', row, verdict: this.labels.verdict(at.offset) ?? null, pairs: this.labels.pairCount() });
  }

  private prefer(chosen: number, rejected: number): void {
    if (this.opts.readOnly) { this.post({ type: 'error', message: 'labels are off in an untrusted workspace' }); return; }
    const [c, r] = this.index.readMany([chosen, rejected]);
    if (!c || !r) return;
    if (c.prompt !== r.prompt) { this.post({ type: 'error', message: 'a preference compares two responses to the same prompt' }); return; }
    if (c.response === r.response) { this.post({ type: 'error', message: SAME_TEXT }); return; }
    const at = this.index.where(chosen)!, over = this.index.where(rejected)!;
    if (!this.labelsWritten(() => this.labels.prefer(c.prompt, { ...at, response: c.response }, { ...over, response: r.response }))) return;
    this.post({ type: 'labeled', row: chosen, verdict: this.labels.verdict(at.offset) ?? null, pairs: this.labels.pairCount(),
      preferred: { chosen: at.index, rejected: over.index, step: at.step } });
  }

  /** Appends a label; a labels.jsonl the guard refuses (a link, a FIFO) is said in the page, never written through. */
  private labelsWritten(write: () => unknown): boolean {
    try { write(); return true; } catch (e) {
      if (!(e instanceof RunFileError)) throw e;
      this.post({ type: 'error', message: e.message });
      return false;
    }
  }
}
