// One list per fact: where a fact has to be written in more than one place (Python and TypeScript,
// a schema and the code reading it), this checks that the places agree. The schema is the list.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PANELS } from '../../src/core/charts/data';
import { ESTIMATORS } from '../../src/core/compare';
import { POSITION_KEYS } from '../../src/core/modelPositions';
import { PROMPT_DEFAULTS } from '../../src/core/prompts';
import { GROUPED_ESTIMATORS } from '../../src/core/presets';

const ROOT = path.resolve(__dirname, '../..');
type Obj = Record<string, unknown>;
const schema = (name: string): Obj => JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', name), 'utf8')) as Obj;
/** A tuple of strings assigned to NAME at the top level of a Python module (`NAME = ("a", "b")`). */
function pythonTuple(file: string, name: string): string[] {
  const m = new RegExp(`^${name} = \\(([^)]*)\\)`, 'm').exec(fs.readFileSync(path.join(ROOT, file), 'utf8'));
  assert.ok(m, `${name} in ${file}`);
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

test('src/core/schemaTypes.ts is generated from the current schemas/*.json', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'schema-types.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
});

test('estimator names: the config schema\'s enum, the trainer\'s ESTIMATORS and Compare Estimators\' list are one set', () => {
  const algorithm = (schema('config.schema.json').properties as Obj).algorithm as { properties: { estimator: { enum: string[] } } };
  const names = [...algorithm.properties.estimator.enum].sort();
  assert.deepEqual([...pythonTuple('trainer/rlhf_trainer/algorithms.py', 'ESTIMATORS')].sort(), names);
  assert.deepEqual([...ESTIMATORS].sort(), names);
  // grouped estimators (the trainer refuses them with one sample per prompt; presets comment on it)
  assert.deepEqual([...GROUPED_ESTIMATORS].sort(), pythonTuple('trainer/rlhf_trainer/algorithms.py', 'GROUPED_ESTIMATORS').sort());
});

test('metric names: every dashboard panel of training metrics plots a metric events.schema.json requires (of a policy or a reward-model run)', () => {
  const metrics = (schema('events.schema.json').allOf as { if: { properties: { type: { const: string } } }; then: Obj }[])
    .find((b) => b.if.properties.type.const === 'metrics')!.then as { properties: { values: { anyOf: { required: string[] }[] } } };
  const required = new Set(metrics.properties.values.anyOf.flatMap((set) => set.required));
  const plotted = PANELS.filter((p) => !p.eval).flatMap((p) => p.keys);
  assert.ok(plotted.length > 0);
  assert.deepEqual(plotted.filter((k) => !required.has(k)), []);
});

test("a model's context-length keys: the TypeScript readers' list is preflight.py's, in its order", () => {
  assert.deepEqual([...POSITION_KEYS], pythonTuple('trainer/rlhf_trainer/preflight.py', 'POSITION_KEYS'));
});

test("a prompt file's reader settings: src/core/prompts.ts's defaults are config.schema.json's data defaults", () => {
  const data = ((schema('config.schema.json').properties as Obj).data as { properties: Record<string, { default?: unknown }> }).properties;
  for (const [key, value] of Object.entries(PROMPT_DEFAULTS)) assert.deepEqual(value, data[key].default, `data.${key}`);
});

test("the export mapping: docs/verl-export.md's tables are generated from src/core/exportMapping.ts", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'export-mapping-doc.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
});
