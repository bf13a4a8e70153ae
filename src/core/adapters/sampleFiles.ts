// Per-step sample files (verl's rollout dumps <step>.jsonl, prime-rl's step_N/.../traces.jsonl):
// each is tailed as it grows, its records mapped onto SampleItems and the step's list reported.
// Only the newest KEEP_SAMPLE_STEPS steps keep their items; older files are not read again.
import type { SampleItem } from '../protocol';
import { KEEP_SAMPLE_STEPS, type RunSink } from './externalRun';
import { JsonlTail, type JsonRecord } from './tail';

interface StepFile { tail: JsonlTail; step: number; items: SampleItem[] }

export class SampleFiles {
  private files = new Map<string, StepFile>();
  private retired = new Set<string>();

  constructor(private readonly toItem: (r: JsonRecord, index: number) => SampleItem | undefined) {}

  /** Reads the given files (path -> step); reports each step whose items changed. */
  poll(found: Map<string, number>, sink: RunSink): void {
    const changed = new Set<number>();
    for (const [file, step] of found) {
      if (this.retired.has(file)) continue;
      let f = this.files.get(file);
      if (!f) this.files.set(file, f = { tail: new JsonlTail(file), step, items: [] });
      const { records, restarted, problem } = f.tail.poll();
      if (problem) sink.error(problem);
      if (restarted) { f.items = []; changed.add(step); }
      for (const r of records) {
        const item = this.toItem(r, f.items.length);
        if (item) f.items.push(item);
      }
      if (records.length) changed.add(step);
    }
    for (const step of changed) sink.samples(step, this.itemsOf(step, found));
    this.retireOld();
  }

  /** A step's items from the files given this poll (a file no longer given, e.g. superseded, is left out). */
  private itemsOf(step: number, found: Map<string, number>): SampleItem[] {
    const items: SampleItem[] = [];
    for (const [file, f] of this.files) if (f.step === step && found.has(file)) items.push(...f.items);
    return items.map((it, index) => ({ ...it, index }));
  }

  private retireOld(): void {
    const steps = [...new Set([...this.files.values()].map((f) => f.step))].sort((a, b) => b - a);
    if (steps.length <= KEEP_SAMPLE_STEPS) return;
    const oldest = steps[KEEP_SAMPLE_STEPS - 1];
    for (const [file, f] of this.files) if (f.step < oldest) { this.files.delete(file); this.retired.add(file); }
  }
}

export { isStep } from './stepMerger';

/** A number (a Parquet INT64 comes as a bigint), or undefined for anything else (strings, lists, null, NaN). */
export const num = (x: unknown): number | undefined =>
  (typeof x === 'number' && Number.isFinite(x) ? x : typeof x === 'bigint' ? Number(x) : undefined);
/** Text as it should show in the sample browser: strings as they are, anything else as JSON. */
export const text = (x: unknown): string => (typeof x === 'string' ? x : x === undefined || x === null ? '' : JSON.stringify(x));

/** The numeric fields of a metrics record (booleans and non-finite values are left out). */
export function numericFields(data: JsonRecord, skip: readonly string[] = []): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(data)) {
    if (skip.includes(k)) continue;
    if (typeof v === 'number') out[k] = Number.isFinite(v) ? v : null;
    else if (v === null) out[k] = null;
  }
  return out;
}
