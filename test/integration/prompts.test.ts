// One prompt-file semantics in two languages: src/core/prompts.ts (the export, the playground) and the trainer's
// data.py (validation and training). Both read the same files here; they must keep the same rows, build the same
// prompts and labels, and refuse a bad file at the same line for the same reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PROMPT_DEFAULTS, type PromptSettings, PromptFileError, readPromptRows } from '../../src/core/prompts';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');

interface Case { name: string; text: string; d: Partial<PromptSettings>; limit?: number }
const CASES: Case[] = [
  { name: 'plain', text: '{"prompt": "2+2=", "label": "4"}\n\n{"prompt": "3+3=", "label": 6, "x": 1}\n', d: {} },
  { name: 'keys', text: '{"q": "a", "a": "1"}\n{"q": "b"}\n', d: { prompt_key: 'q', label_key: 'a' } },
  { name: 'no label', text: '{"prompt": "a", "label": "1"}\n', d: { label_key: null } },
  { name: 'template', text: '{"prompt": "1+1"}\n', d: { input_template: 'Q: {} {{A}}:' } },
  { name: 'limit', text: '{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": "c"}\n', d: {}, limit: 2 },
  { name: 'chat', text: '{"prompt": [{"role": "user", "content": "hi"}]}\n{"prompt": "plain"}\n', d: { apply_chat_template: true } },
  { name: 'bad json', text: '{"prompt": "a"}\n{"prompt": \n', d: {} },
  { name: 'not an object', text: '[1, 2]\n', d: {} },
  { name: 'missing key', text: '{"prompt": "a"}\n{"question": "b", "z": 1}\n', d: {} },
  { name: 'empty prompt', text: '{"prompt": ""}\n', d: {} },
  { name: 'list without chat', text: '{"prompt": [{"role": "user", "content": "x"}]}\n', d: {} },
  { name: 'bad chat list', text: '{"prompt": [{"role": "user"}]}\n', d: { apply_chat_template: true } },
];

type Outcome = { rows: [number, unknown, unknown][] } | { error: string };

/** What a refusal says, up to the reason's detail (the JSON parsers word their own errors differently). */
const refusal = (msg: string, file: string) => msg.replace(file, 'FILE').split(/ \(| is /)[0];

test("src/core/prompts.ts reads prompt files as the trainer's data.py does", (t) => {
  if (!fs.existsSync(PY)) { t.skip('no .venv (npm run setup:python)'); return; }
  const dir = tempDir('prompts');
  const inputs = CASES.map((c, i) => {
    const file = path.join(dir, `${i}.jsonl`);
    fs.writeFileSync(file, c.text);
    return { file, d: { ...PROMPT_DEFAULTS, ...c.d }, limit: c.limit ?? null };
  });
  const script = `import json, sys
from rlhf_trainer.config import ConfigError
from rlhf_trainer.data import read_rows, prompt_text
from rlhf_trainer.runconfig import DataConfig
out = []
for c in json.load(sys.stdin):
    d = DataConfig(prompts=c["file"], max_prompt_tokens=64, max_samples=10**8, eval_prompts=None, **c["d"])
    try:
        rows = read_rows(c["file"], d, c["limit"]).rows
        out.append({"rows": [[n, row[d.prompt_key] if d.apply_chat_template else prompt_text(row, d),
                              row.get(d.label_key) if d.label_key else None] for n, row in rows]})
    except ConfigError as e:
        out.append({"error": str(e)})
print(json.dumps(out))`;
  const r = spawnSync(PY, ['-c', script], { input: JSON.stringify(inputs), encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') } });
  assert.equal(r.status, 0, r.stderr);
  const python = JSON.parse(r.stdout) as Outcome[];
  CASES.forEach((c, i) => {
    const { file, d, limit } = inputs[i];
    let ts: Outcome;
    try {
      // the trainer keeps a chat prompt's messages for the tokenizer's template; a plain string becomes one user message
      ts = { rows: readPromptRows(c.text, file, d, limit ?? undefined).map((p) => [p.line, d.apply_chat_template ? p.row[d.prompt_key] : p.prompt, p.label]) };
    } catch (e) {
      assert.ok(e instanceof PromptFileError, `${c.name}: ${String(e)}`);
      ts = { error: e.message };
    }
    const py = python[i];
    if ('error' in py || 'error' in ts) {
      assert.ok('error' in py && 'error' in ts, `${c.name}: TypeScript ${JSON.stringify(ts)}, Python ${JSON.stringify(py)}`);
      assert.equal(refusal(ts.error, file), refusal(py.error, file), c.name);
    } else {
      assert.deepEqual(ts.rows, py.rows, c.name);
    }
  });
  // every case that should be refused is
  assert.equal(python.filter((o) => 'error' in o).length, 6);
});
