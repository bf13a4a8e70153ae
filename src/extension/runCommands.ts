// Commands over runs of the Runs view: overlay and config diff of the selection, a run's note and tags,
// and the view's tag filter. Registered in commands.ts.
import * as vscode from 'vscode';
import { NotesError, parseTagList, readNotes, updateNotes } from '../core/run/runNotes';
import type { Ctx } from './ctx';
import { DashboardPanel, showRunsConfigDiff } from './dashboard';
import { pickRuns, runIdOf, runRefsOf } from './pickers';
import { runsTagFilter, setRunsTagFilter } from './runsView';

/**
 * "RLHF: Overlay Runs": several runs on one dashboard. `executeCommand('rlhf.overlayRuns', runDirs)`
 * opens them without asking (native run folders anywhere, or other frameworks' run folders); from
 * the Runs view, the selected runs (one selected run: the others are asked for); from the palette,
 * a pick. The ids of the runs shown.
 */
export async function overlayRunsCommand(ctx: Ctx, arg: unknown, selection: unknown): Promise<string[] | undefined> {
  let refs = runRefsOf(arg, selection);
  if (!Array.isArray(arg) && refs.length < 2) refs = await pickRuns(ctx, 'Runs to draw on the same charts', refs) ?? [];
  return refs.length ? DashboardPanel.showOverlay(ctx, refs) : undefined;
}

/** "RLHF: Config Diff of Runs": the keys that differ between the selected (or picked) runs, a column per run. */
export async function configDiffRunsCommand(ctx: Ctx, arg: unknown, selection: unknown): Promise<void> {
  let refs = runRefsOf(arg, selection);
  if (!Array.isArray(arg) && refs.length < 2) refs = await pickRuns(ctx, 'Runs whose configs to compare', refs) ?? [];
  if (refs.length) await showRunsConfigDiff(ctx, refs);
}

/** The run folder a notes command edits: the node's run, or one picked. Watched runs of other frameworks are not ours to write into. */
async function notesRun(ctx: Ctx, arg: unknown): Promise<{ id: string; dir: string } | undefined> {
  const id = runIdOf(arg) ?? (await vscode.window.showQuickPick(ctx.runs().map((r) => r.id), { placeHolder: 'Run' }));
  if (!id) return undefined;
  const dir = ctx.runDir(id);
  if (ctx.external.has(id) || !dir) { void vscode.window.showInformationMessage(`RLHF: ${id} is watched read-only; notes and tags are for runs of this workspace.`); return undefined; }
  return { id, dir };
}

function writeNotesOrSay(ctx: Ctx, dir: string, edit: Parameters<typeof updateNotes>[1]): void {
  try { updateNotes(dir, edit); } catch (e) {
    if (!(e instanceof NotesError)) throw e;
    void vscode.window.showErrorMessage(`RLHF: ${e.message}`);
  }
  ctx.refresh();
}

/** "Add Note…": the run's note (one text, replaced), kept in its folder's notes.json. */
export async function addNoteCommand(ctx: Ctx, arg: unknown): Promise<void> {
  const run = await notesRun(ctx, arg);
  if (!run) return;
  const note = await vscode.window.showInputBox({ title: `Note for ${run.id}`, value: readNotes(run.dir).note, prompt: 'Saved in the run folder (notes.json); empty removes it' });
  if (note !== undefined) writeNotesOrSay(ctx, run.dir, (n) => ({ ...n, note: note.trim() }));
}

/** "Edit Tags…": the run's tags as a comma- or space-separated list. */
export async function editTagsCommand(ctx: Ctx, arg: unknown): Promise<void> {
  const run = await notesRun(ctx, arg);
  if (!run) return;
  const text = await vscode.window.showInputBox({ title: `Tags of ${run.id}`, value: readNotes(run.dir).tags.join(', '), prompt: 'Comma- or space-separated, e.g. baseline, kl-sweep',
    validateInput: (v) => { try { parseTagList(v); return undefined; } catch (e) { return (e as Error).message; } } });
  if (text !== undefined) writeNotesOrSay(ctx, run.dir, (n) => ({ ...n, tags: parseTagList(text) }));
}

/** "RLHF: Filter Runs by Tag": the Runs view keeps the runs with the picked tag; "All runs" clears it. */
export async function filterRunsByTagCommand(ctx: Ctx, tag?: unknown): Promise<void> {
  let next: string | undefined;
  if (typeof tag === 'string') next = tag || undefined;
  else {
    const tags = [...new Set(ctx.runs().flatMap((r) => r.notes.tags))].sort();
    if (!tags.length && !runsTagFilter()) { void vscode.window.showInformationMessage('RLHF: no run has tags yet; add some with "Edit Tags…" in the Runs view.'); return; }
    const all = 'All runs (no filter)';
    const pick = await vscode.window.showQuickPick([all, ...tags.map((t) => `#${t}`)], { placeHolder: runsTagFilter() ? `Filtered by #${runsTagFilter()}` : 'Show only the runs with this tag' });
    if (pick === undefined) return;
    next = pick === all ? undefined : pick.slice(1);
  }
  setRunsTagFilter(next);
}
