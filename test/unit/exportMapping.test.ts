// The export mapping is one table per target (src/core/exportMapping.ts): the exporters apply its copy rows and
// set its other rows' keys in code. This runs both exporters over every preset and the variants that switch a
// conditional row on, and checks that what they emit is exactly what the tables declare (both ways).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { ESTIMATORS } from '../../src/core/compare';
import { openRlhfArgs, verlOverrides, withDefaults } from '../../src/core/exportJob';
import { declaredTargets, OPENRLHF_MAPPING, VERL_MAPPING } from '../../src/core/exportMapping';
import { PRESETS, renderPreset } from '../../src/core/presets';

const ROOT = path.resolve(__dirname, '../..');
type Obj = Record<string, unknown>;
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'config.schema.json'), 'utf8')) as Obj;

function configs(): Obj[] {
  const base = YAML.parse(renderPreset(PRESETS[0], { root: ROOT })) as Obj;
  const variant = (patch: (c: Obj) => void) => { const c = structuredClone(base); patch(c); return c; };
  const sec = (c: Obj, k: string) => (c[k] ??= {}) as Obj;
  const raw: Obj[] = [
    ...PRESETS.map((p) => YAML.parse(renderPreset(p, { root: ROOT })) as Obj),
    ...ESTIMATORS.map((e) => variant((c) => { sec(c, 'algorithm').estimator = e; })),
    variant((c) => { sec(c, 'algorithm').kl = { mode: 'loss', coef: 0.01, estimator: 'k3' }; }),
    variant((c) => { sec(c, 'algorithm').kl = { mode: 'reward', coef: 0.01, estimator: 'k2' }; }),
    variant((c) => { Object.assign(sec(c, 'algorithm'), { dual_clip: 3, entropy_coef: 0.01, eps_clip_high: 0.28, std_norm: false }); }),
    variant((c) => { Object.assign(sec(c, 'algorithm'), { dual_clip: null, estimator: 'grpo' }); }),
    variant((c) => { Object.assign(sec(c, 'data'), { eval_prompts: 'e.jsonl', input_template: 'Q: {}', label_key: 'answer' }); Object.assign(sec(c, 'eval'), { greedy: true }); }),
    variant((c) => { Object.assign(sec(c, 'train'), { max_steps: 10 }); Object.assign(sec(c, 'data'), { label_key: null, apply_chat_template: true }); sec(c, 'model').gradient_checkpointing = true; }),
  ];
  return raw.map((c) => withDefaults(schema, c) as Obj);
}

test('the verl exporter emits exactly the overrides VERL_MAPPING declares', () => {
  const declared = declaredTargets(VERL_MAPPING);
  const emitted = new Set<string>();
  for (const c of configs()) {
    const evalFile = (c.data as Obj).eval_prompts ? '/o/data/val.parquet' : null;
    const { overrides } = verlOverrides(c, { modelPath: '/m', trainFile: '/o/data/train.parquet', valFile: evalFile, rewardFile: '/o/reward_fn.py', outDir: '/o', nnodes: 1, gpusPerNode: 8, rolloutEngine: 'vllm' });
    for (const [k] of overrides) emitted.add(k);
  }
  assert.deepEqual([...emitted].filter((k) => !declared.has(k)), [], 'emitted but not in VERL_MAPPING');
  assert.deepEqual([...declared].filter((k) => !emitted.has(k)), [], 'in VERL_MAPPING but never emitted');
});

test('the OpenRLHF exporter emits exactly the flags OPENRLHF_MAPPING declares', () => {
  const declared = declaredTargets(OPENRLHF_MAPPING);
  const emitted = new Set<string>();
  for (const c of configs()) {
    const { args } = openRlhfArgs(c, { modelPath: '/m', configDir: '/c', outDir: '/o', nnodes: 1, gpusPerNode: 8, rewardUrl: 'http://127.0.0.1:1/x' });
    for (const a of args) if (a.startsWith('--')) emitted.add(a.slice(2));
  }
  assert.deepEqual([...emitted].filter((k) => !declared.has(k)), [], 'emitted but not in OPENRLHF_MAPPING');
  assert.deepEqual([...declared].filter((k) => !emitted.has(k)), [], 'in OPENRLHF_MAPPING but never emitted');
});
