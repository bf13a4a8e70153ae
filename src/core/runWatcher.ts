// Follows one run folder: tails events.jsonl into a RunModel and tells listeners what changed.
import * as path from 'node:path';
import { EventTail } from './eventTail';
import type { TrainerEvent } from './protocol';
import { RunModel } from './runModel';

export class RunWatcher {
  readonly model = new RunModel();
  readonly tail: EventTail;
  private listeners = new Set<(events: TrainerEvent[]) => void>();

  constructor(readonly runDir: string) {
    this.tail = new EventTail(path.join(runDir, 'events.jsonl'), (events) => {
      this.model.ingest(events);
      for (const l of this.listeners) l(events);
    });
  }

  get id(): string { return path.basename(this.runDir); }

  onEvents(listener: (events: TrainerEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(intervalMs = 250): this { this.tail.start(intervalMs); return this; }
  poll(): number { return this.tail.poll(); }
  dispose(): void { this.tail.stop(); this.listeners.clear(); }
}
