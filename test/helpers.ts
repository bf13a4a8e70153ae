// Shared by the test tiers (test/unit, test/integration): polling with a deadline, and temporary folders.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Polls `probe` (sync or async) every `everyMs` until it returns something other than undefined, null or false, and
 * returns that. Fails after `ms` naming what it waited for (deadlines are generous: the machine may be
 * busy; no test measures how long it took).
 */
export async function until<T>(what: string | (() => string), probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 60_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A new empty folder under the OS temp folder, named rlhf-<prefix>-XXXXXX (a run folder, a workspace). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rlhf-${prefix}-`));
}
