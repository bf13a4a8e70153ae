// One-shot reads of a run's events.jsonl, built on EventTail (the reader the dashboard and `rlhf watch` follow
// a run with): streamed in chunks, never held whole, and only the lines of the wanted types are parsed.
import * as path from 'node:path';
import type { TrainerEvent } from '../protocol';
import { EventTail } from './eventTail';
import { RunFileError } from './files';
import { EVENTS_FILE } from './names';

/** The path of a run's events.jsonl. */
export const eventsFileOf = (runDir: string): string => path.join(runDir, EVENTS_FILE);

/**
 * The events of a run of the given types, in file order (a complete last line without its newline included).
 * None when events.jsonl is missing; RunFileError when the guard refuses it (a link, a FIFO, a folder).
 */
export function readEventsChecked<T extends TrainerEvent = TrainerEvent>(runDir: string, types: ReadonlySet<string>): T[] {
  const out: T[] = [];
  const tail = new EventTail(eventsFileOf(runDir), (es) => { for (const e of es) out.push(e as T); }, { types, throwRefusal: true });
  tail.poll();
  tail.finish();
  return out;
}

/** readEventsChecked; none when events.jsonl is refused (a link, a FIFO) or unreadable. */
export function readEvents<T extends TrainerEvent = TrainerEvent>(runDir: string, types: ReadonlySet<string>): T[] {
  try { return readEventsChecked<T>(runDir, types); } catch (e) { if (e instanceof RunFileError) return []; throw e; }
}
