// Host <-> dashboard webview: one typed union each way, validated on receipt on both sides. The
// extension host (src/extension/dashboard.ts) and the page (main.ts) both import this module; the run
// shapes it carries (SeriesChunk, RunInfo, alerts, samples) are the trainer's (src/core/protocol.ts).
import { isAlert, type AlertEvent, type ProgressInfo, type RunInfo, type SamplesEvent, type SeriesChunk } from '../../src/core/protocol';

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === 'string';

/** A run drawn over the dashboard's own (an overlay): its full columns, as 'reset' carries them. */
export interface OverlayRun { run: RunInfo; series: SeriesChunk; evals: SeriesChunk }

export type HostToWebview =
  | { type: 'reset'; run: RunInfo; series: SeriesChunk; evals: SeriesChunk; samples: SamplesEvent | null; readOnly: boolean; alerts?: AlertEvent[] }
  /** `runId` is the dashboard's run or one of its overlay runs; `alerts` are the new ones. */
  | { type: 'append'; runId: string; series: SeriesChunk; evals: SeriesChunk | null; samples: SamplesEvent | null; run: RunInfo; progress: ProgressInfo | null; alerts?: AlertEvent[] }
  /**
   * The runs drawn over the dashboard's own (all of them: a run not listed is no longer shown), and
   * the legend label of every run, its own included (the config keys that differ between them).
   */
  | { type: 'overlay'; runs: OverlayRun[]; labels: Record<string, string> };

export type WebviewToHost =
  /** `overlay`: the runs the page drew over its own before a reload, for the host to send again. */
  | { type: 'ready'; runId: string | null; overlay?: string[] }
  | { type: 'stop'; runId: string }
  | { type: 'openLog'; runId: string }
  /** A click on a chart (or an alert's link): the sample browser of that run at that step. */
  | { type: 'openSamples'; runId: string; step: number; truncatedOnly?: boolean }
  /** The dashboard's "add run" button: the host asks which runs to overlay. */
  | { type: 'addRun' }
  | { type: 'removeRun'; runId: string }
  | { type: 'configDiff' }
  | ExportMessage;

/**
 * The webview cannot write files: an export (a chart or the dashboard as PNG, a chart as SVG, the
 * metrics as CSV) travels to the host, which saves it where the user picks. PNG data is a
 * `data:image/png;base64,` URL (canvas.toDataURL); SVG and CSV are the file's text.
 */
export type ExportFormat = 'png' | 'svg' | 'csv';
export interface ExportMessage { type: 'export'; format: ExportFormat; name: string; data: string }
/** Exports larger than this are refused (10,000,000 rows of CSV fit). */
export const MAX_EXPORT_CHARS = 1 << 30;
const EXPORT_FORMATS: readonly string[] = ['png', 'svg', 'csv'];

/** A file name without folders, for the save dialog's default: letters, digits, . _ - and spaces. */
const isExportName = (s: unknown): s is string => isStr(s) && s.length > 0 && s.length < 200 && /^[\w. -]+$/.test(s) && !s.startsWith('.');

function isExport(m: Record<string, unknown>): boolean {
  if (!isStr(m.format) || !EXPORT_FORMATS.includes(m.format) || !isExportName(m.name) || !isStr(m.data) || m.data.length > MAX_EXPORT_CHARS) return false;
  return m.format !== 'png' || m.data.startsWith('data:image/png;base64,');
}

/** A run id as the host names runs: a folder name, or `framework:folder` for a watched run; never a path. */
const isRunId = (s: unknown): s is string => isStr(s) && s.length > 0 && s.length < 512 && !s.includes('/') && !s.includes('..');
const MAX_OVERLAY_RUNS = 64;

export function isWebviewToHost(m: unknown): m is WebviewToHost {
  if (!isObj(m) || !isStr(m.type)) return false;
  switch (m.type) {
    case 'ready': return (m.runId === null || (isStr(m.runId) && m.runId.length < 512))
      && (m.overlay === undefined || (Array.isArray(m.overlay) && m.overlay.length <= MAX_OVERLAY_RUNS && m.overlay.every(isRunId)));
    case 'stop':
    case 'removeRun':
    case 'openLog': return isRunId(m.runId);
    case 'openSamples': return isRunId(m.runId) && isNum(m.step) && Number.isInteger(m.step) && m.step >= 0
      && (m.truncatedOnly === undefined || typeof m.truncatedOnly === 'boolean');
    case 'addRun':
    case 'configDiff': return true;
    case 'export': return isExport(m);
    default: return false;
  }
}

function isChunk(c: unknown): c is SeriesChunk {
  return isObj(c) && Array.isArray(c.step) && Array.isArray(c.samples) && Array.isArray(c.time) && isObj(c.values)
    && Object.values(c.values).every((col) => Array.isArray(col) && col.length === (c.step as unknown[]).length);
}

const isAlerts = (a: unknown): boolean => a === undefined || (Array.isArray(a) && a.every(isAlert));
const isOverlayRun = (r: unknown): r is OverlayRun => isObj(r) && isObj(r.run) && isRunId(r.run.id) && isChunk(r.series) && isChunk(r.evals);

export function isHostToWebview(m: unknown): m is HostToWebview {
  if (!isObj(m) || !isStr(m.type)) return false;
  if (m.type === 'reset') return isObj(m.run) && isChunk(m.series) && isChunk(m.evals) && typeof m.readOnly === 'boolean' && isAlerts(m.alerts);
  if (m.type === 'append') return isStr(m.runId) && isObj(m.run) && isChunk(m.series) && (m.evals === null || isChunk(m.evals)) && isAlerts(m.alerts);
  if (m.type === 'overlay') return Array.isArray(m.runs) && m.runs.length <= MAX_OVERLAY_RUNS && m.runs.every(isOverlayRun)
    && isObj(m.labels) && Object.values(m.labels).every(isStr);
  return false;
}
