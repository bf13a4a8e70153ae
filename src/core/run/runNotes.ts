// A run's notes and tags, kept in its folder as notes.json so they travel with the run (copy the
// folder, keep the notes). Only the editor and the CLI write it, never the trainer; the write is
// atomic (temp file, fsync, rename), so a reader sees the old file or the new one, never half, and an
// edit (read, change, write) holds notes.json.lock, so two at once (two `rlhf tag`, the editor and a
// terminal) both keep their change. It is read through the run folder's guard (src/core/run/files.ts):
// a notes.json that is a link, a FIFO or a giant file is refused with a message, never read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NOTES_FILE, readGuarded, readGuardedAsync, RunFileError } from './files';
import { atomicWrite } from './atomic';
import { LockError, withLock } from './lock';
import { isRunFolder } from './runStore';
import { NOTES_LOCK } from './names';

export { NOTES_FILE };

export interface RunNotes { note: string; tags: string[] }

/** A tag: letters, digits and . _ - : / +, no spaces (so `rlhf tag RUN +t -t` and `#t` read unambiguously). */
export const TAG_PATTERN = /^[\p{L}\p{N}._:/+-]{1,64}$/u;
export const MAX_NOTE_CHARS = 10_000;

export class NotesError extends Error {}

const NONE: RunNotes = { note: '', tags: [] };

function parseNotes(text: string | undefined): RunNotes {
  if (text === undefined) return { ...NONE, tags: [] };
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { return { ...NONE, tags: [] }; }
  const o = typeof raw === 'object' && raw !== null ? raw as Record<string, unknown> : {};
  const tags = Array.isArray(o.tags) ? o.tags.filter((t): t is string => typeof t === 'string' && TAG_PATTERN.test(t)) : [];
  return { note: typeof o.note === 'string' ? o.note : '', tags: [...new Set(tags)] };
}

/** The notes of a run folder, and the one-line problem when notes.json is there but was refused (a link, a FIFO, too large). */
export function readNotesChecked(runDir: string): { notes: RunNotes; problem?: string } {
  try { return { notes: parseNotes(readGuarded(path.join(runDir, NOTES_FILE), 'notes')) }; } catch (e) {
    if (e instanceof RunFileError) return { notes: parseNotes(undefined), problem: e.message };
    throw e;
  }
}

/** readNotesChecked off the event loop (the Runs view's listing). */
export async function readNotesAsync(runDir: string): Promise<{ notes: RunNotes; problem?: string }> {
  try { return { notes: parseNotes(await readGuardedAsync(path.join(runDir, NOTES_FILE), 'notes')) }; } catch (e) {
    if (e instanceof RunFileError) return { notes: parseNotes(undefined), problem: e.message };
    throw e;
  }
}

/** The notes of a run folder; none (empty note, no tags) when the file is missing, refused or not notes. */
export function readNotes(runDir: string): RunNotes {
  return readNotesChecked(runDir).notes;
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

/** Replaces a run's notes (atomically, under the notes lock) and returns them as stored (what readNotes reads back); NotesError when the folder is not there or cannot be written. */
export function writeNotes(runDir: string, notes: RunNotes): RunNotes {
  const stored = checkNotes(runDir, notes);
  return locked(runDir, () => writeUnlocked(runDir, stored));
}

function checkNotes(runDir: string, notes: RunNotes): RunNotes {
  if (notes.note.length > MAX_NOTE_CHARS) throw new NotesError(`the note is ${notes.note.length} characters; at most ${MAX_NOTE_CHARS}`);
  const tags = [...new Set(notes.tags.map(normalizeTag))];
  if (!fs.existsSync(runDir)) throw new NotesError(`${runDir}: no such run folder`);
  return { note: notes.note, tags };
}

function locked<T>(runDir: string, fn: () => T): T {
  try { return withLock(path.join(runDir, NOTES_LOCK), fn); } catch (e) {
    if (e instanceof LockError) throw new NotesError(e.message);
    throw e;
  }
}

function writeUnlocked(runDir: string, notes: RunNotes): RunNotes {
  const file = path.join(runDir, NOTES_FILE);
  try {
    // the trainer's temporary-file rule (a trainer taking the folder may sweep it: atomicWrite writes it again)
    atomicWrite(file, JSON.stringify(notes, null, 2) + '\n');
  } catch (e) {
    throw new NotesError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return notes;
}

/**
 * Reads, edits and writes a run's notes in one go, holding the notes lock (two edits at once both
 * land); the notes as written. NotesError when notes.json is there but refused (it is not replaced
 * then: the message says what it is and to remove it).
 */
export function updateNotes(runDir: string, edit: (n: RunNotes) => RunNotes): RunNotes {
  if (!fs.existsSync(runDir)) throw new NotesError(`${runDir}: no such run folder`);
  return locked(runDir, () => {
    const { notes, problem } = readNotesChecked(runDir);
    if (problem) throw new NotesError(problem);
    return writeUnlocked(runDir, checkNotes(runDir, edit(notes)));
  });
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
  let notes: RunNotes;
  try {
    const read = readNotesChecked(runDir);
    if (read.problem) throw new NotesError(read.problem);
    notes = read.notes;
    if (edits.length || removals.length || opts.note !== undefined) {
      notes = updateNotes(runDir, (n) => ({ note: opts.note ?? n.note, tags: applyTagEdits(n.tags, [...edits, ...removals]) }));
    }
  } catch (e) {
    if (!(e instanceof NotesError)) throw e;
    return { code: 2, out: `rlhf tag: ${e.message}\n` };
  }
  return { code: 0, out: `${runName}: ${notes.tags.length ? notes.tags.map((t) => `#${t}`).join(' ') : '(no tags)'}${notes.note ? `\nnote: ${notes.note}` : ''}\n` };
}
