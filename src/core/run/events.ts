// One-shot reads of a run's events.jsonl, built on EventTail (the reader the dashboard and `rlhf watch` follow
// a run with): streamed in chunks, never held whole, and only the lines of the wanted types are parsed.
import * as path from 'node:path';
import { parseEventLine, type RunStartedEvent, type TrainerEvent } from '../protocol';
import { EventTail } from './eventTail';
import { readLines, readLinesAsync, RunFileError, type LineBytes } from './files';
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

/** run_started is among the first lines: 1 MiB holds it with a large config. */
export const HEAD_BYTES = 1 << 20;

function runStartedLine(found: (e: RunStartedEvent) => void): LineBytes {
  return (buf, start, end) => {
    const line = buf.toString('utf8', start, end);
    if (!line.includes('"run_started"')) return true;
    const e = parseEventLine(line);
    if (e?.type !== 'run_started') return true;
    found(e);
    return false;
  };
}

/** The run's run_started event (read from the head of events.jsonl); undefined when not written yet, or the file is refused. */
export function readRunStarted(runDir: string): RunStartedEvent | undefined {
  let found: RunStartedEvent | undefined;
  try {
    readLines(eventsFileOf(runDir), 'events', runStartedLine((e) => { found = e; }), { limit: HEAD_BYTES, maxLine: HEAD_BYTES });
  } catch (e) { if (!(e instanceof RunFileError)) throw e; }
  return found;
}

/** readRunStarted with async reads (the Runs view's listing: nothing on the extension host's thread waits on a file). */
export async function readRunStartedAsync(runDir: string): Promise<RunStartedEvent | undefined> {
  let found: RunStartedEvent | undefined;
  try {
    await readLinesAsync(eventsFileOf(runDir), 'events', runStartedLine((e) => { found = e; }), { limit: HEAD_BYTES, maxLine: HEAD_BYTES });
  } catch (e) { if (!(e instanceof RunFileError)) throw e; }
  return found;
}
