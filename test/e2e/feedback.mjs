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

  // a short policy run of its own: 3 steps, two responses per prompt (a preference needs two), no evals; responses cut at
  // 2 tokens, so that nearly every one is truncated (a two-digit answer and its end of sequence take 3) and the truncation
  // watchdog alerts at step 2 (#22 (8)); the short answers also give a prompt two responses with the same text (#22 (3))
  const cfgText = `${fs.readFileSync(path.join(ROOT, 'examples', 'arithmetic', 'config.yaml'), 'utf8')
    .replace('name: arithmetic', 'name: feedback').replace('max_steps: 200', 'max_steps: 3')
    .replace(/batch_size: 128\n(\s+)n_samples_per_prompt: 1/, 'batch_size: 64\n$1n_samples_per_prompt: 2')
    .replace('max_new_tokens: 6', 'max_new_tokens: 2')
    .replace('eval_prompts: data/eval.jsonl', 'eval_prompts: null')}signals:
  # the truncation watchdog: at least half of a step's responses cut, two steps in a row
  truncation_share: 0.5
  patience: 2
`;
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
  const samplesOf = (id) => fs.readFileSync(path.join(WS, 'runs', id, 'samples.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

  // #22 (8): the watchdog's alert is a notification; its *Show samples* opens the sample browser at the alert's step, showing
  // the truncated samples only. A toast hides after a while: the notification center keeps it
  const alert = fs.readFileSync(path.join(WS, 'runs', policyId, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'alert').pop();
  if (alert?.kind !== 'truncation') throw new h.Fatal(`the feedback policy run raised no truncation alert (last alert: ${JSON.stringify(alert)})`);
  const alertItem = page.locator('.notification-list-item', { hasText: `${policyId}: truncation at step` });
  let centerOpened = false;
  await until('the alert\'s notification', async () => {
    if (await alertItem.first().isVisible()) return true;
    if (!centerOpened) { centerOpened = true; await runCommand('Notifications: Show Notifications'); }
    return false;
  }, 60_000);
  const alertText = await alertItem.first().innerText();
  await shot('22-8-alert-notification.png');
  const showSamples = alertItem.first().locator('.monaco-button', { hasText: 'Show samples' });
  await until('Show samples on the notification', async () => {
    // a notification shows its buttons while expanded (a toast is; in the notification center it may be collapsed)
    if (!(await showSamples.count())) await alertItem.first().locator('.codicon-notifications-expand').click({ timeout: 2000 }).catch(() => undefined);
    await showSamples.first().click({ timeout: 2000 });
    return true;
  }, 30_000);
  const sbAlert = page.frameLocator('iframe.webview >> visible=true').frameLocator('iframe#active-frame');
  const alertStep = alert.steps[1];
  const truncatedAtStep = samplesOf(policyId).filter((r) => r.step === alertStep && r.truncated).length;
  const alertRows = sbAlert.locator('#rows .row[data-row]');
  const shown = await until(`the sample browser with the ${truncatedAtStep} truncated samples of step ${alertStep}`, async () => {
    const rs = await alertRows.evaluateAll((els) => els.map((e) => ({ step: Number(e.children[0].textContent), truncated: e.children[8].textContent })));
    return rs.length === truncatedAtStep && rs.every((r) => r.step === alertStep && r.truncated === 'yes') ? rs : null;
  }, 60_000).catch(async () => alertRows.evaluateAll((els) => els.map((e) => e.textContent)));
  const filterOn = await sbAlert.locator('#truncated').isChecked() && !(await sbAlert.locator('#all-steps').isChecked())
    && Number(await sbAlert.locator('#slider').inputValue()) === alertStep && (await sbAlert.locator('body').getAttribute('data-run-id')) === policyId;
  check('a watchdog alert is a notification whose Show samples opens the sample browser at its step, filtered to the truncated samples',
    filterOn && truncatedAtStep > 0 && shown.length === truncatedAtStep && shown.every((r) => r.truncated === 'yes'),
    `(${alertText.replace(/\s*\n\s*/g, ' | ').slice(0, 120)}; ${truncatedAtStep} truncated at step ${alertStep}; shown ${JSON.stringify(shown).slice(0, 200)}; filter ${filterOn ? 'on' : 'off'}; ${await sbAlert.locator('#count').innerText()})`);
  await shot('22-8-alert-show-samples.png');
  if (centerOpened) await runCommand('Notifications: Hide Notifications');
  await runCommand('View: Close All Editors');

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
  const labelsFile = path.join(WS, 'runs', policyId, 'labels.jsonl');
  await preferFirstResponse(sb, labelsFile, until);
  await shot('f1-feedback-labelled.png');

  // #22 (3): a preference between two responses with the same text is refused, and the browser says why
  const groups = new Map();
  for (const r of samplesOf(policyId)) { const k = `${r.step}\n${r.prompt}`; groups.set(k, [...(groups.get(k) ?? []), r]); }
  const twin = [...groups.values()].find((g) => g.some((a, i) => g.some((b, j) => j > i && a.response === b.response)));
  if (!twin) throw new h.Fatal(`no prompt of the feedback run got two responses with the same text (${groups.size} prompt groups): nothing to try the refusal on`);
  await sb.locator('#step-min').fill(String(twin[0].step));
  await sb.locator('#step-max').fill(String(twin[0].step));
  await sb.locator('#search').fill(twin[0].prompt);
  const twinAt = await until(`the rows of ${twin[0].prompt} at step ${twin[0].step}`, async () => {
    // every row at the step and holding the searched text: the last of the three debounced queries has answered
    const rs = await rows.evaluateAll((els) => els.map((e) => [Number(e.children[0].textContent), e.children[2].textContent, e.children[3].textContent]));
    const i = rs.findIndex(([st, p]) => st === twin[0].step && p === twin[0].prompt);
    return i >= 0 && rs.every(([st, p, r]) => st === twin[0].step && (p.includes(twin[0].prompt) || r.includes(twin[0].prompt))) ? i + 1 : 0;
  }, 30_000);
  await rows.nth(twinAt - 1).click();
  await until('the twin\'s detail', async () => (await sb.locator('#detail [data-action="group"]').count()) > 0 && (await sb.locator('#prompt').innerText()) === twin[0].prompt, 30_000);
  const prefsBefore = fs.readFileSync(labelsFile, 'utf8').split('\n').filter((l) => l.includes('"chosen"')).length;
  await sb.locator('#detail [data-action="group"]').click();
  const preferTwin = sb.locator('#group [data-prefer]');
  await until('the group of the two same responses', async () => (await preferTwin.count()) === twin.length, 30_000);
  await preferTwin.nth(0).click();
  await until('the first pick to be held', async () => /chosen/.test(await preferTwin.nth(0).innerText()), 30_000);
  await preferTwin.nth(1).click();
  const notice = sb.locator('#notice');
  const refusal = await until('the refusal in the sample browser', async () => ((await notice.getAttribute('class')) === 'error' ? notice.innerText() : null), 30_000).catch(() => null);
  const prefsAfter = fs.readFileSync(labelsFile, 'utf8').split('\n').filter((l) => l.includes('"chosen"')).length;
  const noticeText = refusal ?? `(no error; the notice reads: ${await notice.innerText().catch(() => '')})`;
  check('a preference between two responses with the same text is refused, the sample browser saying why', /same text/.test(noticeText) && prefsAfter === prefsBefore,
    `(${twin[0].prompt} -> ${JSON.stringify(twin.map((r) => r.response))}: ${noticeText}; preferences ${prefsBefore} -> ${prefsAfter})`);
  await shot('22-3-identical-preference-refused.png');

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
