// Reward models on the TypeScript side, without the trainer: "Use as Reward Model"'s YAML edit (comments,
// order and styles kept; paths relative to the config; names unique; never twice), which dashboard panels a
// reward-model run shows, the sample browser's new messages, and which configs are reward-model configs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { diagnoseConfig, looksLikeRunConfig } from '../../src/core/configDiagnostics';
import { withDefaults } from '../../src/core/exportJob';
import { findPreset, renderPreset } from '../../src/core/presets';
import { addRewardModelSource, isRewardModelConfig, RewardModelError, schemaFileFor } from '../../src/core/rewardModel';
import { isSamplesWebviewToHost } from '../../webview/samples/protocol';
import { SamplesSession } from '../../src/sessions/samplesSession';
import { PANELS, panelsFor } from '../../src/core/charts/data';

const ROOT = path.resolve(__dirname, '../..');

const CONFIG = `# my policy run
name: arith   # the run's name
model:
  policy: model
reward:
  fallback: 0.0
  # the rule that checks the sum
  rules:
    - {name: correct, kind: answer_match, extract: full}   # 1 when right
train:
  lr: 2.0e-4   # kept as written
`;

test('Use as Reward Model adds a reward_model source and keeps every comment, value and style of the config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-rm-'));
  const file = path.join(dir, 'config.yaml');
  const model = path.join(dir, 'runs', 'rm-run', 'reward_model');
  const r = addRewardModelSource(CONFIG, file, model, 'rm-prefs');
  assert.equal(r.added, true);
  assert.equal(r.name, 'rm-prefs');
  // only lines added: every line of the original is still there, in order
  const lines = r.text.split('\n');
  let at = 0;
  for (const l of CONFIG.split('\n')) { at = lines.indexOf(l, at); assert.ok(at >= 0, `line lost or changed: ${JSON.stringify(l)}\n${r.text}`); }
  for (const c of ['# my policy run', '# the run\'s name', '# the rule that checks the sum', '# 1 when right', '# kept as written']) assert.ok(r.text.includes(c), c);
  assert.ok(r.text.includes('lr: 2.0e-4'), 'a number keeps its written form');
  const parsed = YAML.parse(r.text) as { reward: { sources: unknown[]; rules: unknown[] }; train: { lr: number } };
  // the model is below the config's folder: written relative to it (the trainer resolves it against the config)
  assert.deepEqual(parsed.reward.sources, [{ name: 'rm-prefs', reward_model: path.join('runs', 'rm-run', 'reward_model') }]);
  assert.equal(parsed.reward.rules.length, 1);

  // the same model again: not added twice; another model: a unique name
  const again = addRewardModelSource(r.text, file, model, 'rm-prefs');
  assert.equal(again.added, false);
  assert.equal(again.text, r.text);
  const other = addRewardModelSource(r.text, file, '/elsewhere/rm', 'rm-prefs');
  assert.equal(other.name, 'rm-prefs_2');
  const both = (YAML.parse(other.text) as { reward: { sources: { name: string; reward_model: string }[] } }).reward.sources;
  assert.deepEqual(both.map((s) => [s.name, s.reward_model]), [['rm-prefs', path.join('runs', 'rm-run', 'reward_model')], ['rm-prefs_2', '/elsewhere/rm']]);
});

test('Use as Reward Model: a config without a reward section gets one; a bad config is one clear error, the text untouched', () => {
  const file = '/w/config.yaml';
  const r = addRewardModelSource('model:\n  policy: m   # base\n', file, '/models/rm');
  assert.deepEqual(YAML.parse(r.text), { model: { policy: 'm' }, reward: { sources: [{ name: 'rm', reward_model: '/models/rm' }] } });
  assert.ok(r.text.includes('# base'));
  // every layout of reward: a flow list, an empty key, a flow map, an empty reward, a last line without newline
  const src = { name: 'rm', reward_model: '/models/rm' };
  const cases: [string, unknown][] = [
    ['reward:\n  sources: []   # none yet\n', { sources: [src] }],
    ['reward:\n  sources: [{name: f, function: "r.py:f"}]\n', { sources: [{ name: 'f', function: 'r.py:f' }, src] }],
    ['reward:\n  sources:\n  fallback: 0\n', { sources: [src], fallback: 0 }],
    ['reward: {fallback: 0}\n', { fallback: 0, sources: [src] }],
    ['reward:\nseed: 1\n', { sources: [src] }],
    ['reward:\n  sources:\n    - name: f   # a function\n      function: "r.py:f"\n  fallback: 0', { sources: [{ name: 'f', function: 'r.py:f' }, src], fallback: 0 }],
  ];
  for (const [text, want] of cases) {
    const out = addRewardModelSource(text, file, '/models/rm').text;
    assert.deepEqual((YAML.parse(out) as { reward: unknown }).reward, want, `${text}\n->\n${out}`);
    assert.ok(!text.includes('#') || out.includes(text.slice(text.indexOf('#'), text.indexOf('\n', text.indexOf('#')))), out);
  }
  assert.throws(() => addRewardModelSource('model: [1\n', file, '/m'), (e: unknown) => e instanceof RewardModelError && /config\.yaml: not valid YAML/.test(e.message));
  assert.throws(() => addRewardModelSource('reward:\n  sources: 3\n', file, '/m'), (e: unknown) => e instanceof RewardModelError && /reward\.sources is not a list/.test(e.message));
  assert.throws(() => addRewardModelSource('- a\n', file, '/m'), /not a run config/);
});

test('a reward-model config is recognised by its kind and checked against its own schema', () => {
  const rm = 'kind: reward_model   # trains a reward model\nmodel:\n  base: m\n';
  assert.equal(isRewardModelConfig(rm), true);
  assert.equal(isRewardModelConfig(CONFIG), false);
  assert.equal(isRewardModelConfig({ kind: 'reward_model' }), true);
  assert.equal(schemaFileFor(rm), 'reward-model-config.schema.json');
  assert.equal(schemaFileFor(CONFIG), 'config.schema.json');
  // Start Training and the editor's checks find it like a policy config
  assert.equal(looksLikeRunConfig(rm), true);
  assert.equal(looksLikeRunConfig('kind: other\nmodel: {}\n'), false);
});

test('dashboard panels: a policy run shows the policy panels; a reward-model run only what it logged, its rm_* panels among them', () => {
  const policyKeys = new Set(['reward_mean', 'kl', 'policy_loss', 'lr']);
  const policy = panelsFor((p) => p.keys.some((k) => policyKeys.has(k)));
  assert.deepEqual(policy.map((p) => p.key), PANELS.filter((p) => !p.rm).map((p) => p.key));
  const rmKeys = new Set(['rm_loss', 'rm_accuracy', 'rm_margin', 'rm_chosen', 'rm_rejected', 'eval_rm_accuracy', 'lr', 'grad_norm']);
  const rm = panelsFor((p) => p.keys.some((k) => rmKeys.has(k))).map((p) => p.key);
  assert.deepEqual(rm, ['lr', 'grad_norm', 'rm_loss', 'rm_accuracy', 'rm_eval_accuracy', 'rm_margin', 'rm_rewards']);
  // nothing logged yet (a run starting): the policy panels, as before
  assert.deepEqual(panelsFor(() => false).map((p) => p.key), policy.map((p) => p.key));
});

test('sample browser: Export Preference Dataset and Train Reward Model reach the host; training is refused read-only', () => {
  assert.equal(isSamplesWebviewToHost({ type: 'trainRewardModel' }), true);
  assert.equal(isSamplesWebviewToHost({ type: 'exportPreferences' }), true);
  assert.equal(isSamplesWebviewToHost({ type: 'trainRewardModels' }), false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-rm-session-'));
  fs.writeFileSync(path.join(dir, 'samples.jsonl'), '');
  const calls: string[] = [];
  const posted: { type: string; message?: string }[] = [];
  const s = new SamplesSession(dir, (m) => posted.push(m), { exportPreferences: () => calls.push('export'), trainRewardModel: () => calls.push('train') });
  s.handle({ type: 'exportPreferences' });
  s.handle({ type: 'trainRewardModel' });
  assert.deepEqual(calls, ['export', 'train']);
  const ro = new SamplesSession(dir, (m) => posted.push(m), { readOnly: true, trainRewardModel: () => calls.push('train') });
  ro.handle({ type: 'trainRewardModel' });
  assert.deepEqual(calls, ['export', 'train']);
  assert.match(posted.pop()?.message ?? '', /untrusted/);
});

test('package.json: the commands are contributed, Use as Reward Model only on reward-model runs and checkpoints, the RM schema validates YAML', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { commands: { command: string }[]; menus: Record<string, { command: string; when?: string }[]>; yamlValidation: { url: string }[] } };
  const ids = pkg.contributes.commands.map((c) => c.command);
  for (const id of ['rlhf.trainRewardModel', 'rlhf.useAsRewardModel']) assert.ok(ids.includes(id), id);
  const when = pkg.contributes.menus['view/item/context'].find((m) => m.command === 'rlhf.useAsRewardModel')?.when ?? '';
  const re = new RegExp(/viewItem =~ \/(.*)\/$/.exec(when)![1]);
  for (const v of ['run-rm', 'checkpoint-rm', 'checkpoint-kept-rm']) assert.ok(re.test(v), v);
  for (const v of ['run', 'run-live-rm', 'checkpoint', 'checkpoint-kept']) assert.ok(!re.test(v), v);
  assert.ok(pkg.contributes.yamlValidation.some((y) => y.url === './schemas/reward-model-config.schema.json'));
});

test('model.lora: a preset config with it passes the editor\'s schema checks, a bad one is pinned to its line; defaults fill only when it is set', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'config.schema.json'), 'utf8')) as Record<string, unknown>;
  const base = renderPreset(findPreset('paper-general')!, { root: ROOT, model: '/m', data: path.join(ROOT, 'examples', 'arithmetic', 'data', 'train.jsonl') });
  const lora = base.replace(/^model:\n/m, 'model:\n  lora: {rank: 8, target_modules: [q_proj, v_proj]}\n');
  assert.deepEqual(diagnoseConfig(lora, schema), []);
  const bad = base.replace(/^model:\n/m, 'model:\n  lora: {alpha: 16, target: all}\n');
  const problems = diagnoseConfig(bad, schema);
  assert.ok(problems.some((p) => /model\.lora: missing 'rank'/.test(p.message)), JSON.stringify(problems));
  assert.ok(problems.some((p) => /model\.lora: unknown key 'target'/.test(p.message)), JSON.stringify(problems));
  for (const p of problems) assert.equal(bad.slice(0, p.start).split('\n').length, bad.split('\n').findIndex((l) => l.includes('lora:')) + 1, p.message);
  // the defaults the exports (verl / OpenRLHF job) read: no LoRA unless the config asks for it
  const filled = (text: string) => (withDefaults(schema, YAML.parse(text)) as { model: { lora: unknown } }).model.lora;
  assert.equal(filled(base), null);
  assert.deepEqual(filled(lora), { rank: 8, alpha: 16, dropout: 0, target_modules: ['q_proj', 'v_proj'] });
});
