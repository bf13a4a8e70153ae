// Follows one run folder: tails events.jsonl into a RunModel and tells listeners what changed.
// It stops polling once the run has finished: run_finished is the trainer's last event, and a
// resume writes a new run folder, so nothing more will come.
import { EventTail } from './eventTail';
import type { TrainerEvent } from '../protocol';
import { RunModel } from './runModel';
import { eventsFileOf } from './events';

export class RunWatcher {
  readonly model = new RunModel();
  readonly tail: EventTail;
  private listeners = new Set<(events: TrainerEvent[]) => void>();

  constructor(readonly runDir: string) {
    this.tail = new EventTail(eventsFileOf(runDir), (events) => {
      this.model.ingest(events);
      for (const l of this.listeners) l(events);
      if (this.finished) this.tail.stop();
    });
  }

  /** The trainer reported run_finished (completed, stopped or failed). */
  get finished(): boolean {
    const s = this.model.state;
    return s === 'completed' || s === 'stopped' || s === 'failed';
  }

  /** Whether it still polls events.jsonl; false after dispose and once the run has finished. */
  get polling(): boolean { return this.tail.polling; }

  onEvents(listener: (events: TrainerEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(intervalMs = 250): this { this.tail.start(intervalMs); return this; }
  poll(): number { return this.tail.poll(); }
  dispose(): void { this.tail.stop(); this.listeners.clear(); }
}
