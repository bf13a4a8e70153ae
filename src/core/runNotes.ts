// A run's notes and tags, kept in its folder as notes.json so they travel with the run (copy the
// folder, keep the notes). Only the editor and the CLI write it, never the trainer; the write is
// atomic (temp file, fsync, rename), so a reader sees the old file or the new one, never half.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRunFolder } from './runStore';

export const NOTES_FILE = 'notes.json';

export interface RunNotes { note: string; tags: string[] }

/** A tag: letters, digits and . _ - : / +, no spaces (so `rlhf tag RUN +t -t` and `#t` read unambiguously). */
export const TAG_PATTERN = /^[\p{L}\p{N}._:/+-]{1,64}$/u;
export const MAX_NOTE_CHARS = 10_000;

export class NotesError extends Error {}

/** The notes of a run folder; none (empty note, no tags) when the file is missing or not notes. */
export function readNotes(runDir: string): RunNotes {
  let raw: unknown;
  try { raw = JSON.parse(fs.readFileSync(path.join(runDir, NOTES_FILE), 'utf8')); } catch { return { note: '', tags: [] }; }
  const o = typeof raw === 'object' && raw !== null ? raw as Record<string, unknown> : {};
  const tags = Array.isArray(o.tags) ? o.tags.filter((t): t is string => typeof t === 'string' && TAG_PATTERN.test(t)) : [];
  return { note: typeof o.note === 'string' ? o.note : '', tags: [...new Set(tags)] };
}

/** A tag as typed (`#good`, ` good `) in its stored form; NotesError naming it when it cannot be one. */
export function normalizeTag(input: string): string {
  const t = input.trim().replace(/^#/, '');
  if (!TAG_PATTERN.test(t)) throw new NotesError(`'${input}' is not a tag: use 1-64 letters, digits or . _ - : / + (no spaces)`);
  return t;
}

/** Tags from a comma- or space-separated list ("good, baseline #kl"). */
export function parseTagList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean).map(normalizeTag))];
}

/**
 * `+t` adds t, `-t` removes it, a bare `t` adds it: the edits `rlhf tag RUN +good -bad` applies,
 * in order, to `tags`.
 */
export function applyTagEdits(tags: string[], edits: string[]): string[] {
  const out = [...tags];
  for (const e of edits) {
    const remove = e.startsWith('-');
    const tag = normalizeTag(remove || e.startsWith('+') ? e.slice(1) : e);
    const i = out.indexOf(tag);
    if (remove && i >= 0) out.splice(i, 1);
    if (!remove && i < 0) out.push(tag);
  }
  return out;
}

/** Replaces a run's notes (atomically) and returns them as stored (what readNotes reads back); NotesError when the folder is not there or cannot be written. */
export function writeNotes(runDir: string, notes: RunNotes): RunNotes {
  if (notes.note.length > MAX_NOTE_CHARS) throw new NotesError(`the note is ${notes.note.length} characters; at most ${MAX_NOTE_CHARS}`);
  const tags = [...new Set(notes.tags.map(normalizeTag))];
  if (!fs.existsSync(runDir)) throw new NotesError(`${runDir}: no such run folder`);
  const file = path.join(runDir, NOTES_FILE);
  // not `.tmp-*`: the trainer removes leftovers of that name when it opens a run folder
  const tmp = path.join(runDir, `${NOTES_FILE}.${process.pid}.${Date.now()}.partial`);
  try {
    const fd = fs.openSync(tmp, 'w');
    try { fs.writeSync(fd, JSON.stringify({ note: notes.note, tags }, null, 2) + '\n'); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new NotesError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { note: notes.note, tags };
}

/** Reads, edits and writes a run's notes in one go; the notes as written. */
export function updateNotes(runDir: string, edit: (n: RunNotes) => RunNotes): RunNotes {
  return writeNotes(runDir, edit(readNotes(runDir)));
}

/** Whether a run carries a tag (given with or without '#'). */
export const hasTag = (notes: RunNotes, tag: string): boolean => notes.tags.includes(tag.trim().replace(/^#/, ''));

/**
 * `rlhf tag RUN [+TAG ...] [--remove TAG,...] [--note TEXT]`: applies the edits (`+t` or `t` adds,
 * `-t` after `--` removes) and prints the run's tags and note; with no edits it only prints them.
 * The exit code and what to print (stdout, or the one-line error for stderr).
 */
export function tagCommand(runDir: string, runName: string, edits: string[], opts: { remove?: string; note?: string }): { code: number; out: string } {
  if (!isRunFolder(runDir)) {
    return { code: 2, out: `rlhf tag: ${runName}: not a run folder (see rlhf runs)\n` };
  }
  const removals = opts.remove ? opts.remove.split(',').filter(Boolean).map((t) => `-${t.trim()}`) : [];
  let notes = readNotes(runDir);
  try {
    if (edits.length || removals.length || opts.note !== undefined) {
      notes = updateNotes(runDir, (n) => ({ note: opts.note ?? n.note, tags: applyTagEdits(n.tags, [...edits, ...removals]) }));
    }
  } catch (e) {
    if (!(e instanceof NotesError)) throw e;
    return { code: 2, out: `rlhf tag: ${e.message}\n` };
  }
  return { code: 0, out: `${runName}: ${notes.tags.length ? notes.tags.map((t) => `#${t}`).join(' ') : '(no tags)'}${notes.note ? `\nnote: ${notes.note}` : ''}\n` };
}
