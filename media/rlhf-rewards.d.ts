// RLHF Studio reward rule API. Written by "RLHF: New Reward Rules" and refreshed when the extension
// updates; do not edit. A rule module's default export is called once per sample.

/** One sampled response, as the trainer recorded it. */
export interface Sample {
  /** The prompt as fed to the model (after chat/input templates), special tokens removed. */
  prompt: string;
  /** The generated response, special tokens removed. */
  response: string;
  /** The dataset's label for this prompt (`data.label_key`), e.g. the reference answer. */
  label: unknown;
  /** Anything else the trainer passes along (sample index, ...). */
  metadata: Record<string, unknown>;
}

/**
 * What a rule returns: a number, or a reward with a per-part breakdown that shows up as
 * `rules/<rule>.<part>` in the metrics. NaN, Infinity and non-numbers are recorded as errors.
 */
export type RuleResult = number | boolean | { reward: number; breakdown?: Record<string, number> };

/** How extractAnswer finds the answer in a response. */
export type Extractor = 'last_number' | 'boxed' | 'full' | { regex: string; group?: number | string; flags?: string } | { json: string };

/** Helpers passed as the second argument of every rule. */
export interface Helpers {
  /** Parses "42", "-3.5", "1,234", "1/2", "50%", "\\frac{1}{2}", "1e-3"; NaN when it is not a number. */
  parseNumber(text: string | number | null | undefined): number;
  /** True when a and b are numerically equal within an absolute or relative tolerance (default 1e-6). "0.5", "1/2" and "50%" are equal. */
  numbersEqual(a: string | number, b: string | number, tolerance?: number): boolean;
  /** The last number in the text ("so the answer is 1,234." -> "1234"), or null. */
  lastNumber(text: string): string | null;
  /** The content of the last \boxed{...} (nested braces allowed), or null. */
  boxed(text: string): string | null;
  /** Group `group` (default 1) of the last match of `pattern`, or null. */
  regexGroup(text: string, pattern: string, group?: number | string, flags?: string): string | null;
  /** Field `path` ("result.answer") of the first JSON object in the text, or null. */
  jsonField(text: string, path: string): string | null;
  /** The answer in a response, by extractor (default "last_number"). */
  extractAnswer(text: string, how?: Extractor): string | null;
  /** Equality ignoring case, surrounding and repeated spaces and a trailing period. */
  textEqual(a: string, b: string): boolean;
  /** True when an extracted answer equals the label: numerically when both are numbers, else as text. */
  answersMatch(answer: string | null, label: unknown, tolerance?: number): boolean;
  /** Length in Unicode characters. */
  charCount(text: string): number;
  /** Number of whitespace-separated words. */
  wordCount(text: string): number;
  /** Approximate token count (words and punctuation marks); tokenizer-free and stable. */
  tokenCount(text: string): number;
}

/**
 * A reward rule: pure, synchronous, no imports. It runs in a separate process and thread, in a context
 * without Node APIs (no process, require, file system, timers or environment), with a time budget per
 * sample and a memory cap. `console.log` output goes to the host's stderr.
 */
export type Rule = (sample: Sample, h: Helpers) => RuleResult;
