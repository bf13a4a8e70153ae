// Prompt files (JSONL, one object per line), read with the trainer's semantics (trainer/rlhf_trainer/data.py:
// jsonl_objects, read_rows, prompt_text): the one TypeScript reader, used by the verl/OpenRLHF export and the
// ONNX playground. test/integration/prompts.test.ts runs both readers on the same files and compares them.

/** The data section's keys a prompt reader needs, with schemas/config.schema.json's defaults (facts test keeps them equal). */
export interface PromptSettings {
  prompt_key: string;
  label_key: string | null;
  apply_chat_template: boolean;
  input_template: string | null;
}
export const PROMPT_DEFAULTS: Readonly<PromptSettings> = { prompt_key: 'prompt', label_key: 'label', apply_chat_template: false, input_template: null };

/** A config's data section (as parsed YAML, maybe partial or mistyped) with the defaults filled in. */
export function promptSettings(data: unknown): PromptSettings {
  const d = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  return {
    prompt_key: typeof d.prompt_key === 'string' ? d.prompt_key : PROMPT_DEFAULTS.prompt_key,
    label_key: typeof d.label_key === 'string' ? d.label_key : d.label_key === null ? null : PROMPT_DEFAULTS.label_key,
    apply_chat_template: typeof d.apply_chat_template === 'boolean' ? d.apply_chat_template : PROMPT_DEFAULTS.apply_chat_template,
    input_template: typeof d.input_template === 'string' ? d.input_template : null,
  };
}

/** A bad prompt file: the message names file:line, the field and what to do (the trainer's words). */
export class PromptFileError extends Error {}

export type ChatMessage = { role?: unknown; content: unknown } & Record<string, unknown>;
export interface PromptRow {
  /** 1-based line in the file */
  line: number;
  row: Record<string, unknown>;
  /** the prompt: the string after input_template, or chat messages (apply_chat_template: the tokenizer's template applies them) */
  prompt: string | ChatMessage[];
  /** row[label_key], null when label_key is null or the row lacks it */
  label: unknown;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** (1-based line, object) for each non-blank line; PromptFileError at the first line that is not one JSON object. */
export function* jsonlObjects(text: string, file: string, like: string): Generator<[number, Record<string, unknown>]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let row: unknown;
    try { row = JSON.parse(lines[i]); } catch (e) {
      throw new PromptFileError(`${file}:${i + 1}: not valid JSON (${(e as Error).message}); each line must be one JSON object like ${like}`);
    }
    if (!isObj(row)) {
      const kind = Array.isArray(row) ? 'list' : row === null ? 'null' : typeof row;
      throw new PromptFileError(`${file}:${i + 1}: the line is a JSON ${kind}, not an object; each line must be one JSON object like ${like}`);
    }
    yield [i + 1, row];
  }
}

/** Python's str.format(value) for a template with positional fields only ({} and {0}; {{ and }} escape braces). */
export function formatTemplate(template: string, value: string): string {
  return template.replace(/\{\{|\}\}|\{(0?)\}|[{}]/g, (m) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    if (m === '{}' || m === '{0}') return value;
    throw new PromptFileError(`data.input_template: "${template}" has a single "${m}"; write {} where the prompt goes and {{ or }} for a literal brace`);
  });
}

/** The prompt of one row as the trainer builds it (before a chat template, which needs the tokenizer). */
export function promptOf(row: Record<string, unknown>, d: PromptSettings): string | ChatMessage[] {
  const p = row[d.prompt_key];
  if (d.apply_chat_template) return Array.isArray(p) ? (p as ChatMessage[]) : [{ role: 'user', content: String(p) }];
  return d.input_template ? formatTemplate(d.input_template, p as string) : (p as string);
}

/**
 * The first `limit` prompt rows of a JSONL file's text (`file` names it in messages), checked as data.py's
 * read_rows checks them: PromptFileError at the first bad line.
 */
export function readPromptRows(text: string, file: string, d: PromptSettings, limit?: number): PromptRow[] {
  const key = d.prompt_key;
  const out: PromptRow[] = [];
  for (const [line, row] of jsonlObjects(text, file, `{"${key}": "..."}`)) {
    const where = `${file}:${line}`;
    if (!(key in row)) {
      throw new PromptFileError(`${where}: data.prompt_key: no field '${key}' (fields: ${Object.keys(row).sort().join(', ') || 'none'}); set data.prompt_key to the field that holds the prompt`);
    }
    const p = row[key];
    const ok = (typeof p === 'string' && p !== '') ||
      (d.apply_chat_template && Array.isArray(p) && p.length > 0 && p.every((m) => isObj(m) && 'content' in m));
    if (!ok) {
      const want = d.apply_chat_template ? 'a non-empty string or a list of {role, content} messages' : 'a non-empty string';
      const hint = d.apply_chat_template || !Array.isArray(p) ? '' : '; for chat messages set data.apply_chat_template: true';
      throw new PromptFileError(`${where}: data.prompt_key: field '${key}' is ${JSON.stringify(p)?.slice(0, 60)}, not ${want}${hint}`);
    }
    out.push({ line, row, prompt: promptOf(row, d), label: d.label_key ? row[d.label_key] ?? null : null });
    if (limit && out.length >= limit) break;
  }
  return out;
}
