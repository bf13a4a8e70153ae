// The playground webview ("RLHF: Try Checkpoint"): a prompt, the sampling settings, Generate / Stop,
// and two columns, each a model whose answer streams in token by token with its speed and the run's
// reward. All generation happens in the extension host; this page only renders validated messages.
// Every workspace string goes in through textContent. Stable selectors for the e2e test: #prompt,
// #generate, #stop, [data-column] .output, [data-column] .reward, .tps, .ttft.
import { COLUMNS, isHostToPlayground, type GenerateSettings, type HostToPlayground, type PlaygroundToHost } from '../src/core/playgroundProtocol';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void };
declare global { interface Window { playgroundHost?: (m: unknown) => void } }

const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: (m: unknown) => window.playgroundHost?.(m) };
const send = (m: PlaygroundToHost) => api.postMessage(m);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function labelled(text: string, input: HTMLElement): HTMLLabelElement {
  const l = el('label', {}, text);
  l.append(input);
  return l;
}

// ---- layout ---------------------------------------------------------------------------------
const app = document.getElementById('app')!;
const title = el('div', { class: 'muted', id: 'title' });
const prompt = el('textarea', { id: 'prompt', 'aria-label': 'Prompt', spellcheck: 'false' });
const temperature = el('input', { id: 'temperature', type: 'number', min: '0', max: '5', step: '0.1' });
const topP = el('input', { id: 'top-p', type: 'number', min: '0.01', max: '1', step: '0.05' });
const maxTokens = el('input', { id: 'max-tokens', type: 'number', min: '1', max: '4096', step: '1' });
const greedy = el('input', { id: 'greedy', type: 'checkbox' });
const generateBtn = el('button', { id: 'generate' }, 'Generate');
const stopBtn = el('button', { id: 'stop' }, 'Stop');
stopBtn.disabled = true;
const bar = el('div', { id: 'bar' });
bar.append(labelled('temperature', temperature), labelled('top-p', topP), labelled('max tokens', maxTokens), labelled('greedy', greedy), generateBtn, stopBtn);
const rewardsNote = el('div', { class: 'muted', id: 'rewards' });
/** Whether the host scores answers (then a column is done at its `reward`, else at `done`). */
let scored = false;

interface Column { root: HTMLElement; model: HTMLSelectElement; status: HTMLElement; output: HTMLElement; tps: HTMLElement; ttft: HTMLElement; reward: HTMLElement; busy: boolean }
const columnsEl = el('div', { id: 'columns' });
const columns: Column[] = Array.from({ length: COLUMNS }, (_, i) => {
  const root = el('section', { 'data-column': String(i) });
  const c: Column = { root, model: el('select', { class: 'model', 'aria-label': `Model of column ${i + 1}` }), status: el('div', { class: 'status muted' }),
    output: el('div', { class: 'output', 'aria-live': 'polite' }), tps: el('span', { class: 'tps' }), ttft: el('span', { class: 'ttft' }),
    reward: el('div', { class: 'reward' }), busy: false };
  const stats = el('div', { class: 'stats' });
  stats.append(c.ttft, document.createTextNode(' · '), c.tps);
  root.append(c.model, c.status, c.output, stats, c.reward);
  columnsEl.append(root);
  return c;
});
app.append(title, prompt, bar, rewardsNote, columnsEl);

// ---- behaviour ------------------------------------------------------------------------------
function settings(): GenerateSettings | string {
  const s = { temperature: Number(temperature.value), topP: Number(topP.value), maxNewTokens: Number(maxTokens.value), greedy: greedy.checked };
  if (!(s.temperature >= 0)) return 'temperature must be 0 or more';
  if (!(s.topP > 0 && s.topP <= 1)) return 'top-p must be in (0, 1]';
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1 || s.maxNewTokens > 4096) return 'max tokens must be a whole number from 1 to 4096';
  return s;
}

function setBusy(): void {
  const busy = columns.some((c) => c.busy);
  generateBtn.disabled = busy;
  stopBtn.disabled = !busy;
}

generateBtn.addEventListener('click', () => {
  const s = settings();
  const models = columns.map((c) => c.model.value || null);
  if (typeof s === 'string') { columns[0].status.textContent = s; return; }
  if (!prompt.value) { columns[0].status.textContent = 'type a prompt first'; return; }
  columns.forEach((c, i) => {
    c.output.textContent = ''; c.reward.textContent = ''; c.tps.textContent = ''; c.ttft.textContent = '';
    c.status.textContent = models[i] ? 'generating…' : ''; c.status.classList.remove('error');
    c.busy = !!models[i];
    c.root.removeAttribute('data-done');
  });
  setBusy();
  send({ type: 'generate', prompt: prompt.value, models, settings: s });
});
stopBtn.addEventListener('click', () => send({ type: 'stop' }));
greedy.addEventListener('change', () => { temperature.disabled = topP.disabled = greedy.checked; });

const fmt = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '–');

function finish(c: Column): void { c.busy = false; setBusy(); }

function onMessage(m: HostToPlayground): void {
  if (m.type === 'init') {
    title.textContent = m.title;
    prompt.value = m.prompt;
    temperature.value = String(m.settings.temperature);
    topP.value = String(m.settings.topP);
    maxTokens.value = String(m.settings.maxNewTokens);
    greedy.checked = m.settings.greedy;
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
    case 'status': c.status.textContent = m.message; return;
    case 'token':
      if (c.status.textContent !== 'generating…') c.status.textContent = 'generating…';
      c.output.append(document.createTextNode(m.text));
      return;
    case 'done':
      c.output.textContent = m.text; // the decoded answer (the same text the streamed pieces add up to)
      c.status.textContent = `${m.stats.tokens} tokens (${m.stats.stoppedBy.replace(/_/g, ' ')}) on ${m.stats.device}`;
      c.ttft.textContent = `first token ${fmt(m.stats.firstTokenMs, 1)} ms`;
      c.tps.textContent = m.stats.tokensPerSecond === null ? '– tokens/s' : `${fmt(m.stats.tokensPerSecond, 1)} tokens/s`;
      c.root.setAttribute('data-done', m.stats.stoppedBy);
      if (scored) c.reward.textContent = 'scoring…';
      else finish(c);
      return;
    case 'reward': {
      const parts = Object.entries(m.breakdown).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ');
      c.reward.textContent = `reward ${fmt(m.reward, 3)}${parts ? ` (${parts})` : ''}${m.error ? ` — ${m.error}` : ''}`;
      c.reward.classList.toggle('error', !!m.error);
      finish(c);
      return;
    }
    case 'error':
      c.status.textContent = m.message;
      c.status.classList.add('error');
      finish(c);
      return;
  }
}

window.addEventListener('message', (ev: MessageEvent) => { if (isHostToPlayground(ev.data)) onMessage(ev.data); });
send({ type: 'ready' });
