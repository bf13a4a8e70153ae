// The playground webview ("RLHF: Try Checkpoint"): a prompt, the sampling settings, Generate / Stop,
// and two columns, each a model whose answer streams in token by token with its speed and the run's
// reward. All generation happens in the extension host; this page only renders validated messages.
// Every workspace string goes in through textContent. Stable selectors for the e2e test: #prompt,
// #generate, #stop, #settings-source, #reset-settings, [data-column] .output, [data-column] .reward,
// [data-column] .status (.busy while it exports, loads or waits for the first token), .tps, .ttft.
import {
  addToTally, COLUMNS, isHostToPlayground, SPEED_TOOLTIP, speedText,
  type GenerateSettings, type HostToPlayground, type PlaygroundToHost, type SpeedTally,
} from './protocol';
import { el, labelled } from '../shared/dom';
import { fixed as fmt } from '../shared/format';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void };
declare global { interface Window { playgroundHost?: (m: unknown) => void } }

const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: (m: unknown) => window.playgroundHost?.(m) };
const send = (m: PlaygroundToHost) => api.postMessage(m);

const app = document.getElementById('app')!;
const title = el('div', { class: 'muted', id: 'title' });
const prompt = el('textarea', { id: 'prompt', 'aria-label': 'Prompt', spellcheck: 'false' });
const temperature = el('input', { id: 'temperature', type: 'number', min: '0', max: '5', step: '0.1' });
const topP = el('input', { id: 'top-p', type: 'number', min: '0.01', max: '1', step: '0.05' });
const topK = el('input', { id: 'top-k', type: 'number', min: '0', step: '1', title: '0 = off (the full distribution)' });
const maxTokens = el('input', { id: 'max-tokens', type: 'number', min: '1', max: '4096', step: '1' });
const greedy = el('input', { id: 'greedy', type: 'checkbox' });
const generateBtn = el('button', { id: 'generate' }, 'Generate');
const stopBtn = el('button', { id: 'stop' }, 'Stop');
stopBtn.disabled = true;
const bar = el('div', { id: 'bar' });
bar.append(labelled('temperature', temperature), labelled('top-p', topP), labelled('top-k', topK), labelled('max tokens', maxTokens), labelled('greedy', greedy), generateBtn, stopBtn);
// where the settings came from (the run's rollout, or the defaults), and a way back to them after an edit
const settingsNote = el('div', { class: 'muted', id: 'settings-note' });
const settingsSource = el('span', { id: 'settings-source' });
const resetBtn = el('button', { id: 'reset-settings', class: 'link', title: 'Set temperature, top-p, top-k and max tokens back to these values' }, 'reset');
resetBtn.hidden = true;
settingsNote.append(settingsSource, document.createTextNode(' '), resetBtn);
let initial: GenerateSettings | undefined;
let initialSource = '';
const rewardsNote = el('div', { class: 'muted', id: 'rewards' });
/** Whether the host scores answers (then a column is done at its `reward`, else at `done`). */
let scored = false;

interface Column { root: HTMLElement; model: HTMLSelectElement; status: HTMLElement; output: HTMLElement; tps: HTMLElement; ttft: HTMLElement; reward: HTMLElement; busy: boolean; ran: string }
const columnsEl = el('div', { id: 'columns' });
const columns: Column[] = Array.from({ length: COLUMNS }, (_, i) => {
  const root = el('section', { 'data-column': String(i) });
  const c: Column = { root, model: el('select', { class: 'model', 'aria-label': `Model of column ${i + 1}` }), status: el('div', { class: 'status muted' }),
    output: el('div', { class: 'output', 'aria-live': 'polite' }), tps: el('span', { class: 'tps' }), ttft: el('span', { class: 'ttft' }),
    reward: el('div', { class: 'reward' }), busy: false, ran: '' };
  const stats = el('div', { class: 'stats' });
  stats.append(c.ttft, document.createTextNode(' · '), c.tps);
  root.append(c.model, c.status, c.output, stats, c.reward);
  columnsEl.append(root);
  return c;
});
app.append(title, prompt, bar, settingsNote, rewardsNote, columnsEl);
/** Decode tokens and time per model over this playground's answers (the "session" tokens/s). */
const tallies = new Map<string, SpeedTally>();

// ---- behaviour ------------------------------------------------------------------------------
function settings(): GenerateSettings | string {
  const s = { temperature: Number(temperature.value), topP: Number(topP.value), topK: Number(topK.value || 0), maxNewTokens: Number(maxTokens.value), greedy: greedy.checked };
  if (!(s.temperature >= 0)) return 'temperature must be 0 or more';
  if (!(s.topP > 0 && s.topP <= 1)) return 'top-p must be in (0, 1]';
  if (!Number.isInteger(s.topK) || s.topK < 0) return 'top-k must be a whole number, 0 for off';
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1 || s.maxNewTokens > 4096) return 'max tokens must be a whole number from 1 to 4096';
  return s;
}

function showSettings(s: GenerateSettings): void {
  temperature.value = String(s.temperature);
  topP.value = String(s.topP);
  topK.value = String(s.topK ?? 0);
  maxTokens.value = String(s.maxNewTokens);
  greedy.checked = s.greedy;
  temperature.disabled = topP.disabled = topK.disabled = greedy.checked;
}

/** The note says "from the run's rollout settings" until a value is changed, then that they were edited. */
function noteSettings(): void {
  const s = settings();
  const same = !!initial && typeof s !== 'string' && s.temperature === initial.temperature && s.topP === initial.topP
    && s.topK === (initial.topK ?? 0) && s.maxNewTokens === initial.maxNewTokens && s.greedy === initial.greedy;
  settingsSource.textContent = same ? (initialSource ? `sampling ${initialSource}` : '')
    : `sampling edited${initialSource ? `; started ${initialSource}` : ''}`;
  resetBtn.hidden = same;
}

/** A column's status line; `busy` shows the spinner (an export, a load, the wait for the first token). */
function status(c: Column, text: string, busy: boolean): void {
  c.status.textContent = text;
  c.status.classList.toggle('busy', busy);
}

function setBusy(): void {
  const busy = columns.some((c) => c.busy);
  generateBtn.disabled = busy;
  stopBtn.disabled = !busy;
}

generateBtn.addEventListener('click', () => {
  const s = settings();
  const models = columns.map((c) => c.model.value || null);
  if (typeof s === 'string') { status(columns[0], s, false); return; }
  if (!prompt.value) { status(columns[0], 'type a prompt first', false); return; }
  columns.forEach((c, i) => {
    c.output.textContent = ''; c.reward.textContent = ''; c.tps.textContent = ''; c.ttft.textContent = '';
    status(c, models[i] ? 'generating…' : '', !!models[i]); c.status.classList.remove('error');
    c.busy = !!models[i];
    c.ran = models[i] ?? '';
    c.root.removeAttribute('data-done');
  });
  setBusy();
  send({ type: 'generate', prompt: prompt.value, models, settings: s });
});
stopBtn.addEventListener('click', () => send({ type: 'stop' }));
greedy.addEventListener('change', () => { temperature.disabled = topP.disabled = topK.disabled = greedy.checked; });
for (const input of [temperature, topP, topK, maxTokens, greedy]) input.addEventListener('input', noteSettings);
greedy.addEventListener('change', noteSettings);
resetBtn.addEventListener('click', () => { if (initial) showSettings(initial); noteSettings(); });


function finish(c: Column): void { c.busy = false; c.status.classList.remove('busy'); setBusy(); }

function onMessage(m: HostToPlayground): void {
  if (m.type === 'init') {
    title.textContent = m.title;
    prompt.value = m.prompt;
    initial = m.settings;
    initialSource = m.settingsSource ?? '';
    showSettings(m.settings);
    noteSettings();
    scored = m.rewards !== null;
    rewardsNote.textContent = m.rewards ? `reward: ${m.rewards}` : 'no reward rules for this model (open it from a run to score answers)';
    columns.forEach((c, i) => {
      c.model.replaceChildren();
      if (i > 0) c.model.append(el('option', { value: '' }, '(none)'));
      for (const ch of m.choices) {
        const o = el('option', { value: ch.id }, ch.label);
        if (ch.detail) o.title = ch.detail;
        c.model.append(o);
      }
      c.model.value = m.selected[i] ?? '';
    });
    return;
  }
  const c = columns[m.column];
  switch (m.type) {
    case 'status': status(c, m.message, c.busy); return;
    case 'token':
      if (c.status.textContent !== 'generating…' || c.status.classList.contains('busy')) status(c, 'generating…', false);
      c.output.append(document.createTextNode(m.text));
      return;
    case 'done': {
      c.output.textContent = m.text; // the decoded answer (the same text the streamed pieces add up to)
      status(c, `${m.stats.tokens} tokens (${m.stats.stoppedBy.replace(/_/g, ' ')}) on ${m.stats.device}`, false);
      c.ttft.textContent = `first token ${fmt(m.stats.firstTokenMs, 1)} ms`;
      const tally = addToTally(tallies.get(c.ran), m.stats);
      tallies.set(c.ran, tally);
      c.tps.textContent = speedText(m.stats, tally);
      c.tps.title = SPEED_TOOLTIP;
      c.root.setAttribute('data-done', m.stats.stoppedBy);
      if (scored) c.reward.textContent = 'scoring…';
      else finish(c);
      return;
    }
    case 'reward': {
      const parts = Object.entries(m.breakdown).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ');
      c.reward.textContent = `reward ${fmt(m.reward, 3)}${parts ? ` (${parts})` : ''}${m.error ? ` — ${m.error}` : ''}`;
      c.reward.classList.toggle('error', !!m.error);
      finish(c);
      return;
    }
    case 'error':
      status(c, m.message, false);
      c.status.classList.add('error');
      finish(c);
      return;
  }
}

window.addEventListener('message', (ev: MessageEvent) => { if (isHostToPlayground(ev.data)) onMessage(ev.data); });
send({ type: 'ready' });
