// Several runs on the same charts: what tells them apart (the config keys whose values differ, for
// the legend and the config diff), the colour each run keeps, and the join of their downsampled
// columns onto one x column for uPlot. Pure and DOM-free: the dashboard, the host and the tests use it.
import type { Columns } from './downsample';

/**
 * Paul Tol's "bright" scheme: distinct under the common colour-vision deficiencies and readable on
 * light and dark themes. A run keeps its index while it is in the overlay (`assignColors`).
 */
export const RUN_PALETTE = ['#4477AA', '#EE6677', '#228833', '#CCBB44', '#66CCEE', '#AA3377', '#BBBBBB'] as const;

/**
 * A run as the overlay compares it: its id and its `run_started` config (null: none recorded); its
 * folder and, for a continuation, the run and checkpoint step it resumed from (checkpoints.ts `lineageOf`).
 */
export interface OverlayRunConfig {
  id: string; config: Record<string, unknown> | null;
  dir?: string;
  lineage?: { parentDir: string; parentId: string; step: number };
}

/** A run that resumed from another's checkpoint: `parent` is the shown run's id when that run is among them. */
export interface Continuation { run: string; parent: string; step: number; parentShown: boolean }

const normDir = (d: string): string => d.replace(/\\/g, '/').replace(/\/+$/, '');
const baseName = (d: string): string => normDir(d).split('/').pop() ?? d;

/**
 * The continuations among the runs, per run (undefined: not a continuation): its parent found among
 * the runs by folder, or by id when the run's folder has the parent's name (a runs folder reached
 * through a link: the trainer writes the resolved path).
 */
export function continuations(runs: OverlayRunConfig[]): (Continuation | undefined)[] {
  return runs.map((r) => {
    const l = r.lineage;
    if (!l) return undefined;
    const parent = runs.find((o) => o !== r && o.dir !== undefined && normDir(o.dir) === normDir(l.parentDir))
      ?? runs.find((o) => o !== r && o.id === l.parentId && (o.dir === undefined || baseName(o.dir) === l.parentId));
    return { run: r.id, parent: parent?.id ?? l.parentId, step: l.step, parentShown: parent !== undefined };
  });
}

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A config as dotted keys to display text: `algorithm.kl.coef` -> `0.001`; lists and nulls as JSON. */
export function flattenConfig(config: Record<string, unknown> | null, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(config ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && Object.keys(v).length) for (const [kk, vv] of flattenConfig(v, key)) out.set(kk, vv);
    else out.set(key, typeof v === 'string' ? v : JSON.stringify(v) ?? 'null');
  }
  return out;
}

/** What a key missing from one run's config shows as. */
export const ABSENT = '—';

/** The dotted keys whose values are not the same in every run (a key some runs lack counts), sorted. */
export function differingKeys(runs: OverlayRunConfig[]): string[] {
  const flat = runs.map((r) => flattenConfig(r.config));
  const keys = new Set(flat.flatMap((f) => [...f.keys()]));
  return [...keys].filter((k) => new Set(flat.map((f) => f.get(k) ?? ABSENT)).size > 1).sort();
}

/** Names the paper uses for the keys that usually tell estimator comparisons apart. */
const SHORT: Record<string, string> = { 'algorithm.estimator': 'estimator', 'algorithm.kl.coef': 'kl', 'rollout.n_samples_per_prompt': 'n' };
/** Keys that differ between any two runs without saying how they differ (where they were written). */
const NOISE = new Set(['name', 'run_dir']);

/** Per key, the shortest dotted suffix no other key in `keys` ends with (`kl.coef` -> `coef` unless `x.coef` is there too). */
function shortNames(keys: string[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const k of keys) {
    if (SHORT[k]) { names.set(k, SHORT[k]); continue; }
    const parts = k.split('.');
    let n = 1;
    while (n < parts.length && keys.some((o) => o !== k && (o === parts.slice(-n).join('.') || o.endsWith(`.${parts.slice(-n).join('.')}`)))) n++;
    names.set(k, parts.slice(-n).join('.'));
  }
  return names;
}

/**
 * A legend label per run from the config keys that differ between the runs, e.g.
 * `estimator=grpo kl=0.001`. The run name only when nothing else differs; the run id when the
 * configs do not tell them apart at all (or there is one run). At most `maxKeys` keys, in key order.
 * A continuation of a run shown with it says so: `continued from PARENT@STEP` (after its keys, when
 * its config differs), so a run and its continuation are not two look-alike ids.
 */
export function runLabels(runs: OverlayRunConfig[], maxKeys = 4): string[] {
  const all = differingKeys(runs);
  const keys = all.some((k) => !NOISE.has(k)) ? all.filter((k) => !NOISE.has(k)) : all.filter((k) => k === 'name');
  const names = shortNames(keys);
  const cont = continuations(runs);
  return runs.map((r, i) => {
    const c = cont[i]?.parentShown ? cont[i] : undefined;
    const from = c ? `continued from ${c.parent}@${c.step}` : '';
    if (!keys.length) return from || r.id;
    const flat = flattenConfig(r.config);
    const parts = keys.slice(0, maxKeys).map((k) => `${names.get(k)}=${flat.get(k) ?? ABSENT}`);
    return parts.join(' ') + (keys.length > maxKeys ? ' …' : '') + (from ? `, ${from}` : '');
  });
}

/** The config diff of the chosen runs: one row per differing key, one column per run; the continuations among them. */
export interface ConfigDiff { runs: string[]; rows: { key: string; values: string[] }[]; continuations: Continuation[] }

export function configDiff(runs: OverlayRunConfig[]): ConfigDiff {
  const flat = runs.map((r) => flattenConfig(r.config));
  return { runs: runs.map((r) => r.id), rows: differingKeys(runs).map((key) => ({ key, values: flat.map((f) => f.get(key) ?? ABSENT) })),
    continuations: continuations(runs).filter((c): c is Continuation => c !== undefined) };
}

const cell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** `B resumed from A@100`: a continuation's checkpoint, and that its charts continue the parent's there. */
const resumedText = (c: Continuation): string =>
  `${c.run} resumed from ${c.parent}@${c.step}${c.parentShown ? ` (it continues ${c.parent}'s history from step ${c.step})` : ''}`;

/**
 * The diff as a Markdown table (readable as plain text too); a line saying so when nothing differs.
 * Continuations are named either way: a run and its continuation differ in where they start, not in config.
 */
export function configDiffMarkdown(diff: ConfigDiff): string {
  const head = `# Config diff of ${diff.runs.length} runs\n\nOnly the keys whose values differ; ${ABSENT} = not in that run's config.\n\n`;
  const resumed = diff.continuations.map(resumedText);
  if (!diff.rows.length) {
    return resumed.length ? `${head}Same config; ${resumed.join('; ')}.\n` : `${head}The configs are the same.\n`;
  }
  const rows = [['key', ...diff.runs], ...diff.rows.map((r) => [r.key, ...r.values])].map((r) => r.map(cell));
  const w = rows[0].map((_, i) => Math.max(3, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  const table = head + [line(rows[0]), line(w.map((n) => '-'.repeat(n))), ...rows.slice(1).map(line)].join('\n') + '\n';
  return resumed.length ? `${table}\n${resumed.map((t) => `${t}.`).join('\n')}\n` : table;
}

/**
 * The palette index of each run: runs that had one keep it, new runs get the lowest free index
 * (colours repeat only past the palette's length). Runs no longer shown free their index.
 */
export function assignColors(previous: Record<string, number>, ids: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) if (Number.isInteger(previous[id])) out[id] = previous[id];
  for (const id of ids) {
    if (id in out) continue;
    const used = new Set(Object.values(out));
    let i = 0;
    while (used.has(i) && i < RUN_PALETTE.length) i++;
    out[id] = i < RUN_PALETTE.length ? i : Object.keys(out).length % RUN_PALETTE.length;
  }
  return out;
}

/**
 * Several runs' downsampled columns (each its own x) on one x column: the sorted union of their x
 * values, each run's y where it has that x and null elsewhere (the chart spans the gaps). Runs
 * logging the same steps share rows.
 */
export function joinColumns(tables: Columns[]): Columns {
  // a k-way merge of the runs' ascending x columns: no hashing or sorting on every live update
  const pos = tables.map(() => 0);
  const xs: number[] = [];
  const at: number[][] = tables.map(() => []); // per table, the joined row of each of its rows
  for (;;) {
    let min = Infinity;
    for (let t = 0; t < tables.length; t++) if (pos[t] < tables[t][0].length && tables[t][0][pos[t]] < min) min = tables[t][0][pos[t]];
    if (min === Infinity) break;
    // one row of each table per joined row: a table's repeated x (cumulative KL over steps without KL) keeps all its points
    for (let t = 0; t < tables.length; t++) if (pos[t] < tables[t][0].length && tables[t][0][pos[t]] === min) { at[t].push(xs.length); pos[t]++; }
    xs.push(min);
  }
  const ys: (number | null)[][] = [];
  tables.forEach((t, k) => {
    for (const col of t.slice(1) as (number | null)[][]) {
      const y = new Array<number | null>(xs.length).fill(null);
      for (let i = 0; i < col.length; i++) y[at[k][i]] = col[i];
      ys.push(y);
    }
  });
  return [xs, ...ys];
}
