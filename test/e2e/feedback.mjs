// E2E section "feedback" (E2E_ONLY=feedback runs it alone): label → reward model → policy config.
// It starts its own short policy run (rlhf train, the real trainer) so that it needs nothing of the other
// sections; then, in the editor: the sample browser prefers one of two responses of a prompt, its
// *Train Reward Model* button exports the labels and starts a reward-model run, whose dashboard draws
// the pair-accuracy chart; *Use as Reward Model* on the finished run adds it to a policy config as a
// reward source, comments kept, and the trainer's validate accepts that config.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** In an open sample browser `sb` with a sample shown: its prompt's group, the first of two responses preferred over the second. */
export async function preferFirstResponse(sb, labelsFile, until) {
  await sb.locator('#detail [data-action="group"]').click();
  const prefer = sb.locator('#group [data-prefer]');
  await until('the two responses of the prompt', async () => (await prefer.count()) === 2, 30_000);
  await prefer.nth(0).click();
  await until('the first pick to be held', async () => /chosen/.test(await prefer.nth(0).innerText()), 30_000);
  await prefer.nth(1).click();
  await until('the preference in labels.jsonl', () => fs.existsSync(labelsFile) && fs.readFileSync(labelsFile, 'utf8').includes('"chosen"'), 30_000);
}

/** h: { page, ROOT, WS, SHOTS, PYTHON, until, check, runCommand, failOnProblemToast, runIds, Fatal } from run.mjs */
export async function feedbackSection(h) {
  const { page, ROOT, WS, SHOTS, PYTHON, until, check, runCommand, failOnProblemToast, runIds } = h;
  const shot = (name) => page.screenshot({ path: path.join(SHOTS, name) });
  const statusOf = (id) => { try { return JSON.parse(fs.readFileSync(path.join(WS, 'runs', id, 'status.json'), 'utf8')); } catch { return null; } };

  // a short policy run of its own: 3 steps, two responses per prompt (a preference needs two), no evals
  const cfgText = fs.readFileSync(path.join(ROOT, 'examples', 'arithmetic', 'config.yaml'), 'utf8')
    .replace('name: arithmetic', 'name: feedback').replace('max_steps: 200', 'max_steps: 3')
    .replace(/batch_size: 128\n(\s+)n_samples_per_prompt: 1/, 'batch_size: 64\n$1n_samples_per_prompt: 2')
    .replace('eval_prompts: data/eval.jsonl', 'eval_prompts: null');
  const cfg = path.join(WS, 'feedback.yaml');
  fs.writeFileSync(cfg, cfgText);
  const before = runIds(WS);
  const env = { ...process.env, RLHF_PYTHON: PYTHON };
  const cli = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'train', cfg, '--runs-dir', path.join(WS, 'runs')], { cwd: WS, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let cliOut = '';
  cli.stdout.on('data', (d) => { cliOut += d; });
  cli.stderr.on('data', (d) => { cliOut += d; });
  const cliDone = new Promise((r) => cli.once('exit', r));
  const cliExited = () => { if (cli.exitCode !== null) throw new h.Fatal(`rlhf train exited with code ${cli.exitCode}: ${cliOut}`); };
  // the CLI checks the interpreter and validates with the trainer before the folder exists: minutes on a busy machine
  const policyId = await until('the feedback policy run folder', () => runIds(WS).find((id) => !before.includes(id) && id.endsWith('-feedback')) ?? cliExited(), 600_000);
  await until('the feedback policy run to complete', async () => {
    const s = statusOf(policyId);
    if (s?.state === 'failed') throw new h.Fatal(`the feedback policy run failed: ${s.error}\n${cliOut}`);
    return s?.state === 'completed';
  }, 600_000);
  await cliDone;

  // the sample browser of that run: the two responses of one prompt, the first preferred over the second.
  // Its row in the Runs view first (a click opens its dashboard and makes it the active run: after the other
  // sections another run is active, and Open Sample Browser opens the active run's samples)
  await runCommand('RLHF Studio: Focus on Runs View'); // alone (E2E_ONLY=feedback) the Explorer is still showing
  const policyRow = page.locator('.pane-body .monaco-list-row', { hasText: policyId }).first();
  await until('the feedback run in the Runs view', async () => (await policyRow.count()) > 0, 60_000);
  await policyRow.click();
  await until('its dashboard', async () => (await page.locator('.tabs-container .tab', { hasText: policyId }).count()) > 0, 60_000);
  await runCommand('View: Close All Editors');
  await runCommand('RLHF: Open Sample Browser');
  const qi = page.locator('.quick-input-widget input');
  const sb = page.frameLocator('iframe.webview >> visible=true').frameLocator('iframe#active-frame');
  const rows = sb.locator('#rows .row[data-row]');
  await until('the sample browser of the feedback run', async () => {
    if (await qi.isVisible()) { await qi.fill(policyId); await qi.press('Enter'); } // several runs with samples: pick ours
    return (await rows.count()) > 0;
  }, 120_000, 1000);
  await rows.first().click();
  await until('the sample detail', async () => (await sb.locator('#detail [data-action="group"]').count()) > 0, 30_000);
  await preferFirstResponse(sb, path.join(WS, 'runs', policyId, 'labels.jsonl'), until);
  await shot('f1-feedback-labelled.png');

  // Train Reward Model from the browser: the labels exported, the base model picked (the run's policy is first)
  const rmBefore = runIds(WS);
  await sb.locator('#train-reward-model').click();
  await until('the base-model picker', async () => /Base model/.test(await qi.getAttribute('placeholder', { timeout: 2000 }) ?? ''), 60_000);
  await shot('f2-feedback-base-model.png');
  await qi.press('Enter');
  const prefs = path.join(WS, 'runs', policyId, 'preferences.jsonl');
  const pairs = fs.readFileSync(prefs, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  check('Train Reward Model exports the labels as prompt/chosen/rejected pairs first', pairs.length >= 1 && pairs.every((p) => p.prompt && p.chosen && p.rejected && p.chosen !== p.rejected), JSON.stringify(pairs[0]));
  const rmId = await until('the reward-model run folder', async () => { await failOnProblemToast(); return runIds(WS).find((id) => !rmBefore.includes(id)); }, 120_000);
  const dash = page.frameLocator('iframe.webview >> visible=true').frameLocator('iframe#active-frame');
  const accPoints = await until('the reward-model run\'s pair-accuracy chart', async () => {
    await failOnProblemToast();
    const n = Number(await dash.locator('[data-panel="rm_accuracy"]').getAttribute('data-points', { timeout: 2000 }) ?? 0);
    return n > 0 ? n : 0;
  }, 600_000);
  const panels = await dash.locator('[data-panel]').evaluateAll((els) => els.map((e) => e.dataset.panel));
  check('the reward-model run\'s dashboard draws its accuracy chart (and no empty policy charts)', accPoints > 0 && panels.includes('rm_loss') && !panels.includes('kl'),
    `(${accPoints} points; panels ${panels.join(',')})`);
  await shot('f3-feedback-rm-dashboard.png');
  const rmStatus = await until('the reward-model run to complete with its model', () => {
    const s = statusOf(rmId);
    if (s?.state === 'failed') throw new h.Fatal(`the reward-model run failed: ${s.error}`);
    return s?.state === 'completed' && s.reward_model ? s : null;
  }, 600_000);
  check('the reward-model run ends with a save_pretrained reward model', fs.existsSync(path.join(rmStatus.reward_model, 'config.json')), rmStatus.reward_model);

  // Use as Reward Model on the finished run (Runs view context menu), into feedback.yaml
  await runCommand('RLHF Studio: Focus on Runs View');
  // the run's row by the full id that ends its description (its label is the name and start time; a
  // folder not named by newRunId is its own label)
  const rmRow = page.locator('.pane-body .monaco-list-row', { has: page.locator('.label-description', { hasText: new RegExp(`(^| )${rmId}$`) }).or(page.locator('.label-name', { hasText: new RegExp(`^${rmId}$`) })) });
  const menu = page.locator('.context-view .monaco-menu');
  await until('Use as Reward Model from the run\'s context menu', async () => {
    if (!(await menu.count())) await rmRow.first().click({ button: 'right', timeout: 5000 });
    const item = menu.locator('.action-label', { hasText: 'Use as Reward Model' }).first();
    // a menu opened on a row rendered before the run's end (the view redraws every 2 s) lacks the item: close it, open it again
    if (!(await item.waitFor({ timeout: 10_000 }).then(() => true, () => false))) { await page.keyboard.press('Escape'); return false; }
    await item.hover();
    await page.keyboard.press('Enter');
    return until('the context menu to close', async () => (await menu.count()) === 0, 5_000).then(() => true, () => false);
  }, 60_000);
  await until('the config picker', async () => /reward model as a reward source/.test(await qi.getAttribute('placeholder', { timeout: 2000 }) ?? ''), 60_000);
  await qi.fill('feedback.yaml');
  await qi.press('Enter');
  const edited = await until('the reward source in feedback.yaml', () => { const t = fs.readFileSync(cfg, 'utf8'); return /reward_model:/.test(t) ? t : null; }, 60_000);
  const commentsKept = cfgText.split('\n').filter((l) => l.includes('#')).every((l) => edited.includes(l));
  check('Use as Reward Model adds a reward_model source to the picked config, every comment kept', commentsKept && edited.includes(rmStatus.reward_model.startsWith(WS) ? path.relative(WS, rmStatus.reward_model) : rmStatus.reward_model), edited.split('\n').slice(-4).join(' | '));
  await shot('f4-feedback-use-as-reward-model.png');
  const v = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'validate', cfg, '--runs-dir', path.join(WS, 'runs')], { cwd: WS, env, encoding: 'utf8', timeout: 300_000 });
  check('the policy config with the reward model as a source validates with the trainer', v.status === 0, `${v.stdout}${v.stderr}`.trim().split('\n').slice(0, 3).join(' | '));
}
