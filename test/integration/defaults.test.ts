// Defaults are filled in two languages: the trainer's apply_defaults (config.py) and withDefaults
// (src/core/exportJob.ts, for the verl/OpenRLHF export). Both read schemas/config.schema.json; this runs
// both on every preset and on a config that leaves whole sections out, and compares the results.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { withDefaults } from '../../src/core/exportJob';
import { PRESETS, renderPreset } from '../../src/core/presets';

const ROOT = path.resolve(__dirname, '../..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');

test('apply_defaults (Python) and withDefaults (TypeScript) give the same config for every preset', (t) => {
  if (!fs.existsSync(PY)) { t.skip('no .venv (npm run setup:python)'); return; }
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'config.schema.json'), 'utf8')) as Record<string, unknown>;
  const configs: Record<string, unknown> = Object.fromEntries(PRESETS.map((p) => [p.name, YAML.parse(renderPreset(p, { root: ROOT }))]));
  // the smallest valid config: every section it leaves out is filled from the schema alone
  configs.minimal = { model: { policy: 'm' }, data: { prompts: 'p.jsonl' }, reward: { sources: [{ name: 'r', function: 'r.py:f' }] } };
  const script = 'import json, sys\nfrom rlhf_trainer.config import apply_defaults, load_schema\n' +
    'schema = load_schema()\nprint(json.dumps({k: apply_defaults(schema, v) for k, v in json.load(sys.stdin).items()}))';
  const r = spawnSync(PY, ['-c', script], { input: JSON.stringify(configs), encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer'), RLHF_SCHEMAS_DIR: path.join(ROOT, 'schemas') } });
  assert.equal(r.status, 0, r.stderr);
  const python = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const [name, cfg] of Object.entries(configs)) assert.deepEqual(withDefaults(schema, structuredClone(cfg)), python[name], name);
});
