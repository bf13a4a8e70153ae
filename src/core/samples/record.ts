// One line of samples.jsonl (schemas/sample.schema.json) and the checks a reader needs on it.
import type { SampleItem } from '../protocol';

export interface SampleRecord extends SampleItem {
  step: number;
  /** Index of the prompt within the rollout (the n samples of one prompt share it). */
  group?: number;
  sample_in_group?: number;
  /** Where the prompt comes from in the dataset. */
  source?: { file: string; line: number };
  entropy?: number[];
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A record the browser can show: the required fields with the right types (other fields are trusted as the schema says). */
export function isSampleRecord(x: unknown): x is SampleRecord {
  return isObj(x) && Number.isInteger(x.step) && Number.isInteger(x.index) && typeof x.prompt === 'string'
    && typeof x.response === 'string' && typeof x.reward === 'number' && isObj(x.rewards);
}

/** The reward sources a sample fails: scored at or below 0, or not scored at all (an error). */
export function failingSources(r: SampleRecord): string[] {
  const out = Object.entries(r.rewards).filter(([, v]) => typeof v !== 'number' || v <= 0).map(([k]) => k);
  for (const k of Object.keys(r.reward_errors ?? {})) if (!out.includes(k)) out.push(k);
  return out;
}

/** Mean of a sample's per-token advantages (they are one value repeated for outcome rewards), or null without per-token data. */
export function meanAdvantage(r: SampleRecord): number | null {
  const a = r.advantages;
  if (!Array.isArray(a) || a.length === 0) return null;
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

/** 32-bit FNV-1a of a string's UTF-16 units: the prompt key of the index (collisions are resolved by comparing the text). */
export function hashText(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}
