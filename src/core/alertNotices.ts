// Which of a run's alerts become a notification, and what it says (no vscode: the extension shows them,
// src/extension/alertNotifications.ts). A watcher reads a run's events.jsonl from its start, so a reload
// would replay every alert the run ever raised: only alerts younger than maxAgeS are told, each once.
import type { AlertEvent, TrainerEvent } from './protocol';
import { readEvents } from './run/events';

const ALERT_EVENTS: ReadonlySet<string> = new Set(['alert']);

/** A run as the Runs view's listing has it (the fields of src/core/run/listing.ts RunEntry read here). */
export interface ListedRun { id: string; dir: string; alive: boolean; status?: { updated: number } | null }

export interface AlertNotice {
  runId: string;
  /** The notification's text: run, kind, steps and the trainer's message. */
  text: string;
  /** Where *Show samples* opens the sample browser: the last step the alert covers, and its filter. */
  step: number;
  filter: { truncatedOnly?: boolean };
  alert: AlertEvent;
}

/** The sample browser's filter from an alert's (the trainer writes snake_case keys). */
export function alertSampleFilter(a: AlertEvent): { truncatedOnly?: boolean } {
  return a.filter?.truncated_only ? { truncatedOnly: true } : {};
}

export function alertNoticeText(runId: string, a: AlertEvent): string {
  const [first, last] = a.steps;
  const where = first === last ? `step ${last}` : `steps ${first}–${last}`;
  return `RLHF ${runId}: ${a.kind.replace(/_/g, ' ')} at ${where}. ${a.message}`;
}

export class AlertNotices {
  private readonly told = new Set<string>();
  /** Runs a listing has shown over: their alerts were read then. */
  private readonly over = new Set<string>();

  /** maxAgeS: older alerts (replayed from the file) are not told; now: Unix seconds. */
  constructor(private readonly maxAgeS = 300, private readonly now: () => number = () => Date.now() / 1000) {}

  /** Whether something at `time` (Unix seconds; a run's last status update) is young enough for its alerts to be told. */
  recent(time: number | undefined): boolean { return time !== undefined && time >= this.now() - this.maxAgeS; }

  /**
   * The notifications of a listing's runs that are over and were not over in an earlier listing, each run's
   * apart: a short run from the terminal can start and end between two listings (no watcher saw it live), and
   * the watcher of a run seen live may be let go when the run ends before it read its last lines. Their alerts
   * are read once, when the run is first listed over, if it changed within maxAgeS; alerts a watcher told
   * already are not told again.
   */
  fromListing(runs: readonly ListedRun[]): { notices: AlertNotice[]; more: number }[] {
    const out: { notices: AlertNotice[]; more: number }[] = [];
    for (const r of runs) {
      if (r.alive || !r.status || this.over.has(r.id)) continue; // no status yet: not started, not over
      this.over.add(r.id);
      if (!this.recent(r.status.updated)) continue;
      const told = this.take(r.id, readEvents(r.dir, ALERT_EVENTS));
      if (told.notices.length) out.push(told);
    }
    return out;
  }

  /**
   * The notifications for a batch of a run's events, at most `max` (the rest counted in `more`: a
   * flood of alerts is one more line, not a wall of toasts).
   */
  take(runId: string, events: readonly TrainerEvent[], max = 3): { notices: AlertNotice[]; more: number } {
    const notices: AlertNotice[] = [];
    let more = 0;
    for (const e of events) {
      if (e.type !== 'alert' || !this.recent(e.time)) continue;
      const key = `${runId}\u0000${e.kind}\u0000${e.step}\u0000${e.time}`;
      if (this.told.has(key)) continue;
      this.told.add(key);
      if (notices.length >= max) { more++; continue; }
      notices.push({ runId, text: alertNoticeText(runId, e), step: e.steps[1], filter: alertSampleFilter(e), alert: e });
    }
    return { notices, more };
  }
}
