// The Runs listing as `rlhf runs` and the Runs view show it: each run's summary (status, liveness,
// checkpoints), its notes and tags, the run it was resumed from, and the problems of its files (one
// line each: a file the guard refused is named with what it is and what to do). A bad run is listed
// beside the good ones, never in their way. The view lists asynchronously (nothing on the extension
// host's thread waits on a file); the CLI synchronously, through the same guard.
import { lineageOf, lineageOfAsync, type Lineage } from './checkpoints';
import { readNotesAsync, readNotesChecked, type RunNotes } from './runNotes';
import { listRuns, listRunsAsync, type RunSummary } from './runStore';

export interface RunEntry extends RunSummary {
  notes: RunNotes;
  /** The run this one was resumed from (its run_started's resumed_from). */
  parent?: Lineage;
  problems: string[];
}

const withProblem = (problems: string[] | undefined, p: string | undefined): string[] =>
  [...new Set([...(problems ?? []), ...(p ? [p] : [])])];

/** The runs of runsDir, newest first, with notes, parent and problems (sync: `rlhf runs`). */
export function listRunEntries(runsDir: string): RunEntry[] {
  return listRuns(runsDir).map((r) => {
    const { notes, problem } = readNotesChecked(r.dir);
    return { ...r, notes, parent: lineageOf(r.dir), problems: withProblem(r.problems, problem) };
  });
}

/** listRunEntries with async reads only (the Runs view, every 2 s). */
export async function listRunEntriesAsync(runsDir: string): Promise<RunEntry[]> {
  const runs = await listRunsAsync(runsDir);
  return Promise.all(runs.map(async (r) => {
    const [{ notes, problem }, parent] = await Promise.all([readNotesAsync(r.dir), lineageOfAsync(r.dir)]);
    return { ...r, notes, parent, problems: withProblem(r.problems, problem) };
  }));
}
