// Incremental reader of an append-only JSONL file: reads only new bytes, keeps a partial last line
// until its newline arrives, skips garbage and over-long lines, and never holds the whole file. Opened
// through the run folder's guard: a link, a FIFO or a device in its place is refused (never read, never
// waited on); the refusal is delivered once as an error log event, so the dashboard and the CLI say it.
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parseEventLine, type TrainerEvent } from '../protocol';
import { openGuarded, RunFileError } from './files';

export const MAX_LINE_BYTES = 8 * 1024 * 1024;
const CHUNK = 1 << 20;

export interface TailStats { bytesRead: number; lines: number; events: number; skipped: number }

export interface TailOptions {
  /** Only events of these types are delivered; other lines are not parsed (their type is read from the text). */
  types?: ReadonlySet<string>;
  /** A file the guard refuses throws its RunFileError from poll() (a one-shot read: readEvents), instead of an error event. */
  throwRefusal?: boolean;
}

const TYPE_OF = /"type":"([^"]{1,32})"/;

export class EventTail {
  private offset = 0;
  private partial = '';
  private dropping = false; // inside an over-long line: discard until its newline
  private decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;
  /** Why the file was refused by the guard (a link, a FIFO, …); undefined while it reads normally. */
  problem: string | undefined;
  readonly stats: TailStats = { bytesRead: 0, lines: 0, events: 0, skipped: 0 };

  constructor(readonly file: string, private readonly onEvents: (events: TrainerEvent[]) => void, private readonly o: TailOptions = {}) {}

  /** Starts from the file's current end: only events appended from now on are delivered. */
  skipToEnd(): this {
    try { this.offset = fs.statSync(this.file).size; } catch { this.offset = 0; }
    this.partial = ''; this.dropping = false; this.decoder = new StringDecoder('utf8');
    return this;
  }

  /** Reads everything new since the last call; returns the number of events delivered. */
  poll(): number {
    let fd: number;
    let size: number;
    try {
      const opened = openGuarded(this.file, 'events');
      if (!opened) return 0;
      ({ fd, size } = opened);
    } catch (e) {
      if (!(e instanceof RunFileError)) return 0;
      if (this.o.throwRefusal) throw e;
      if (this.problem === e.message) return 0;
      this.problem = e.message;
      this.onEvents([{ v: 1, type: 'log', time: Date.now() / 1000, level: 'error', message: e.message }]);
      return 1;
    }
    this.problem = undefined;
    let delivered = 0;
    try {
      if (size < this.offset) { this.offset = 0; this.partial = ''; this.dropping = false; } // truncated: start over
      const buf = Buffer.allocUnsafe(CHUNK);
      while (this.offset < size) {
        const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.stats.bytesRead += n;
        delivered += this.consume(this.decoder.write(buf.subarray(0, n)));
      }
    } finally { fs.closeSync(fd); }
    return delivered;
  }

  private consume(text: string): number {
    const events: TrainerEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.dropping) { this.dropping = false; this.partial = ''; continue; }
      const line = this.partial ? this.partial + piece : piece;
      this.partial = '';
      this.stats.lines++;
      this.parse(line, events);
    }
    if (!this.dropping) {
      this.partial += text.slice(start);
      if (this.partial.length > MAX_LINE_BYTES) { this.partial = ''; this.dropping = true; this.stats.skipped++; }
    }
    this.stats.events += events.length;
    if (events.length) this.onEvents(events);
    return events.length;
  }

  private parse(line: string, events: TrainerEvent[]): void {
    const types = this.o.types;
    if (types) {
      // the event's own type comes first in a line the trainer writes ({"v":1,"type":…}): a line of another type is not parsed
      const t = TYPE_OF.exec(line)?.[1];
      if (t !== undefined && !types.has(t)) return;
    }
    const e = parseEventLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!e) this.stats.skipped++;
    else if (!types || types.has(e.type)) events.push(e);
  }

  /**
   * Delivers a last line the file ends with but no newline followed (a trainer killed mid-write leaves half a
   * line, which is skipped; a whole one is an event): what a one-shot read does after its poll.
   */
  finish(): number {
    const line = this.dropping ? '' : this.partial + this.decoder.end();
    this.partial = ''; this.dropping = false; this.decoder = new StringDecoder('utf8');
    if (!line.trim()) return 0;
    const events: TrainerEvent[] = [];
    this.stats.lines++;
    this.parse(line, events);
    this.stats.events += events.length;
    if (events.length) this.onEvents(events);
    return events.length;
  }

  /** Polls on an interval (robust on network and remote file systems where watchers miss writes). */
  /** The timer is set before the first poll so that a listener may stop the tail from that poll on. */
  start(intervalMs = 250): this {
    this.stop();
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.poll();
    return this;
  }

  stop(): void { if (this.timer) clearInterval(this.timer); this.timer = undefined; }

  /** Whether it is polling on an interval (between start and stop). */
  get polling(): boolean { return this.timer !== undefined; }
}
