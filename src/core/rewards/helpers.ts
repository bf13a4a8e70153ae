// Helpers for reward rules: answer extraction, numeric comparison, lengths. Pure functions; the
// same object is handed to TypeScript rule modules as their second argument (see api.d.ts).

/** Parses "42", "-3.5", "1,234", "1/2", "50%", "\\frac{1}{2}", "1e-3". NaN when it is not a number. */
export function parseNumber(text: string | number | null | undefined): number {
  if (typeof text === 'number') return text;
  if (text === null || text === undefined) return NaN;
  let s = String(text).trim().replace(/^\$+|\$+$/g, '').replace(/\\[,!;: ]/g, '').trim();
  const frac = /^(-?)\\d?frac\{([^{}]+)\}\{([^{}]+)\}$/.exec(s);
  if (frac) return (frac[1] ? -1 : 1) * (parseNumber(frac[2]) / parseNumber(frac[3]));
  s = s.replace(/(\d),(?=\d{3}\b)/g, '$1');
  let m = /^(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)$/.exec(s);
  if (m) return Number(m[1]) / Number(m[2]);
  m = /^(-?\d*\.?\d+(?:e[+-]?\d+)?)\s*%$/i.exec(s);
  if (m) return Number(m[1]) / 100;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s);
  return NaN;
}

/** True when a and b are numerically equal within an absolute or relative tolerance. */
export function numbersEqual(a: string | number, b: string | number, tolerance = 1e-6): boolean {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return false;
  return Math.abs(x - y) <= Math.max(tolerance, tolerance * Math.max(Math.abs(x), Math.abs(y)));
}

/** The last number in the text ("... so the answer is 1,234." -> "1234"), or null. */
export function lastNumber(text: string): string | null {
  const all = text.match(/-?\d[\d,]*(?:\.\d+)?(?:\s*\/\s*\d+(?:\.\d+)?)?%?|-?\.\d+%?/g);
  return all ? all[all.length - 1].replace(/,(?=\d{3}\b)/g, '') : null;
}

/** The content of the last \boxed{...} (nested braces allowed), or null. */
export function boxed(text: string): string | null {
  const at = text.lastIndexOf('\\boxed{');
  if (at < 0) return null;
  let depth = 0;
  for (let i = at + 7; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}') { if (depth === 0) return text.slice(at + 7, i); depth--; }
  }
  return null;
}

/** Group `group` of the last match of `pattern`, or null. */
export function regexGroup(text: string, pattern: string, group: number | string = 1, flags = ''): string | null {
  const re = new RegExp(pattern, flags.includes('g') ? flags : flags + 'g');
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(text); m; m = re.exec(text)) { last = m; if (m[0] === '') re.lastIndex++; }
  if (!last) return null;
  const v = typeof group === 'number' ? last[group] : last.groups?.[group];
  return v === undefined ? null : v;
}

/** Field `path` (dotted, e.g. "result.answer") of the first JSON object in the text, or null. */
export function jsonField(text: string, path: string): string | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  let obj: unknown;
  try { obj = JSON.parse(text.slice(start, end + 1)); } catch { return null; }
  for (const key of path.split('.')) {
    if (obj === null || typeof obj !== 'object') return null;
    obj = (obj as Record<string, unknown>)[key];
  }
  if (obj === undefined || obj === null) return null;
  // JSON.parse gives a string, number or boolean, or an object or list (written back as JSON)
  return typeof obj === 'string' || typeof obj === 'number' || typeof obj === 'boolean' ? String(obj) : JSON.stringify(obj);
}

export type Extractor = 'last_number' | 'boxed' | 'full' | { regex: string; group?: number | string; flags?: string } | { json: string };

/** The answer in a response, by the given extractor. */
export function extractAnswer(text: string, how: Extractor = 'last_number'): string | null {
  if (how === 'last_number') return lastNumber(text);
  if (how === 'boxed') return boxed(text);
  if (how === 'full') return text.trim();
  if ('regex' in how) return regexGroup(text, how.regex, how.group ?? 1, how.flags ?? '');
  return jsonField(text, how.json);
}

/** Normalised text equality: case, surrounding space, inner runs of space, trailing period. */
export function textEqual(a: string, b: string): boolean {
  const n = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ').replace(/[.。]$/, '');
  return n(a) === n(b);
}

/** A label as text: an object as its JSON (not "[object Object]"), a list as String() writes it ("1,2"), anything else as itself. */
function labelText(label: unknown): string {
  switch (typeof label) {
    case 'string': return label;
    case 'object': return Array.isArray(label) ? label.join(',') : JSON.stringify(label);
    default: return String(label);
  }
}

/** True when the extracted answer equals the label, numerically where both are numbers. */
export function answersMatch(answer: string | null, label: unknown, tolerance = 1e-6): boolean {
  if (answer === null || label === null || label === undefined) return false;
  const l = labelText(label);
  if (!Number.isNaN(parseNumber(answer)) && !Number.isNaN(parseNumber(l))) return numbersEqual(answer, l, tolerance);
  return textEqual(answer, l);
}

export const charCount = (text: string): number => [...text].length;
export const wordCount = (text: string): number => (text.match(/\S+/g) ?? []).length;
/** Approximate token count (words and punctuation marks), tokenizer-free and stable. */
export const tokenCount = (text: string): number => (text.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? []).length;

export const helpers = { parseNumber, numbersEqual, lastNumber, boxed, regexGroup, jsonField, extractAnswer, textEqual, answersMatch, charCount, wordCount, tokenCount };
export type Helpers = typeof helpers;
