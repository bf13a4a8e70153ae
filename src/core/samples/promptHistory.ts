// A dataset line's sampled responses as the editor shows them (src/extension/datasetLens.ts): which
// dataset files a run samples from, the one-line summary next to a prompt, and the text of a step's
// responses for the hover and the earliest-vs-latest diff. No vscode here: unit-tested directly.
import * as path from 'node:path';
import YAML from 'yaml';
import type { SampleRecord } from './record';

/** The prompt files (data.prompts, data.eval_prompts) a run's config.yaml names, absolute (relative: against the run folder). */
export function datasetsOfRunConfig(configYaml: string, runDir: string): string[] {
  let cfg: unknown;
  try { cfg = YAML.parse(configYaml); } catch { return []; }
  const data = (cfg as { data?: Record<string, unknown> } | null)?.data;
  if (!data) return [];
  return [data.prompts, data.eval_prompts].filter((p): p is string => typeof p === 'string' && p !== '').map((p) => path.resolve(runDir, p));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** `↳ reward 0.75 (4 samples, step 120)`: the mean reward of a step's responses to one prompt. */
/** `↳ reward 0.75 (4 samples, step 120)`; `kind` names other responses than training ones (`eval `). */
export function lensTitle(rewards: number[], step: number, kind = ''): string {
  const n = rewards.length;
  return `↳ ${kind}reward ${mean(rewards).toFixed(2)} (${n} sample${n === 1 ? '' : 's'}, step ${step})`;
}

function rewardLine(r: SampleRecord): string {
  const parts = Object.entries(r.rewards).map(([k, v]) => `${k} ${v}`).join(', ');
  return `reward ${r.reward.toFixed(3)}${parts ? ` (${parts})` : ''}${r.truncated ? ', truncated' : ''}${(r as { greedy?: unknown }).greedy === true ? ', greedy' : ''}`;
}

/** Plain text of one step's responses to a prompt, best reward first (a side of the history diff). */
export function historyText(records: SampleRecord[], step: number): string {
  if (!records.length) return '';
  const sorted = [...records].sort((a, b) => b.reward - a.reward || a.index - b.index);
  const head = `step ${step}: ${records.length} response${records.length === 1 ? '' : 's'}, mean reward ${mean(records.map((r) => r.reward)).toFixed(3)}\n` +
    `prompt: ${records[0].prompt}\n`;
  return head + sorted.map((r) => `\n--- sample ${r.sample_in_group ?? r.index}: ${rewardLine(r)}\n${r.response}\n`).join('');
}

/** Markdown for the hover: each response in a code block (its text shown as is, never as markdown). */
export function historyMarkdown(records: SampleRecord[], step: number, kind = ''): string {
  const sorted = [...records].sort((a, b) => b.reward - a.reward || a.index - b.index);
  const fence = (s: string) => { const f = '`'.repeat(Math.max(3, longestRun(s, '`') + 1)); return `${f}text\n${s}\n${f}`; };
  return `**Latest ${kind}responses, step ${step}** (${records.length})\n\n` +
    sorted.map((r) => `${rewardLine(r)}\n\n${fence(r.response)}`).join('\n\n');
}

function longestRun(s: string, ch: string): number {
  let best = 0, cur = 0;
  for (const c of s) { cur = c === ch ? cur + 1 : 0; if (cur > best) best = cur; }
  return best;
}
