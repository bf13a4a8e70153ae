// The sample browser webview: filters, a windowed list (only the visible rows exist in the DOM; the
// host sends windows of rows on request), the detail of one sample with its per-token view, and the
// group of its prompt side by side. Every workspace string goes in through textContent.
import { isSamplesHostToWebview, MAX_WINDOW, type RewardHistogram, type SampleFilter, type SampleRecord, type SampleSort, type SampleSummary, type SamplesHostToWebview, type SamplesInfo, type SamplesWebviewToHost } from '../src/core/samplesProtocol';

type Row = SampleSummary & { verdict: 'good' | 'bad' | null };
declare function acquireVsCodeApi(): { postMessage(m: unknown): void };
declare global { interface Window { samplesHost?: (m: unknown) => void } }

const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: (m: unknown) => window.samplesHost?.(m) };
const send = (m: SamplesWebviewToHost) => api.postMessage(m);

const ROW_H = 26;
/** Browsers cap an element's height (Chromium near 33M px): past this the scroll position maps proportionally. */
const MAX_SCROLL_PX = 8_000_000;
const PAD = 40;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const fmt = (x: number | null, d = 3) => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(d));

const state = {
  info: null as SamplesInfo | null,
  seq: 0, matched: 0, capped: false,
  cache: new Map<number, Row>(),
  pending: new Set<number>(),
  selected: -1,
  sort: { key: 'step', desc: false } as SampleSort,
  metric: 'logprobs' as 'logprobs' | 'ref_logprobs' | 'kl' | 'advantages' | 'entropy',
  chosen: -1,
  record: null as { row: number; record: SampleRecord; verdict: 'good' | 'bad' | null } | null,
};

// ---- layout ---------------------------------------------------------------------------------
const app = document.getElementById('app')!;
const bar = el('div', { id: 'bar' });
const title = el('strong', {}, document.body.dataset.runId ?? '');
const count = el('span', { id: 'count', class: 'muted' });
/** The rewards of the matched samples (with the slider: the step's), as bars; each bar's title gives its range and count. */
const hist = el('span', { id: 'histogram', title: 'rewards of the samples shown' });
const slider = el('input', { id: 'slider', type: 'range', min: '1', max: '1', step: '1' });
const sliderLabel = el('span', { id: 'slider-step' });
const allSteps = el('input', { id: 'all-steps', type: 'checkbox' });
const stepMin = el('input', { id: 'step-min', type: 'number', placeholder: 'from' });
const stepMax = el('input', { id: 'step-max', type: 'number', placeholder: 'to' });
const rewMin = el('input', { id: 'reward-min', type: 'number', step: 'any', placeholder: 'min' });
const rewMax = el('input', { id: 'reward-max', type: 'number', step: 'any', placeholder: 'max' });
const search = el('input', { id: 'search', type: 'search', placeholder: 'text in prompt or response' });
const rule = el('select', { id: 'rule' });
const trunc = el('input', { id: 'truncated', type: 'checkbox' });
const labelled = (text: string, ...inputs: HTMLElement[]) => { const l = el('label', {}, text); l.append(...inputs); return l; };
const exportBtn = el('button', { id: 'export-preferences', title: 'Write the labels as prompt/chosen/rejected JSONL (OpenRLHF / TRL reward-model and DPO format)' }, 'Export Preference Dataset');
const trainRmBtn = el('button', { id: 'train-reward-model', title: 'Export the labels, then train a Bradley-Terry reward model on them (a run of its own)' }, 'Train Reward Model');
bar.append(title, count, hist, labelled('step', slider, sliderLabel), labelled('all', allSteps), labelled('steps', stepMin, stepMax),
  labelled('reward', rewMin, rewMax), search, labelled('failing', rule), labelled('truncated', trunc), exportBtn, trainRmBtn);

const head = el('div', { id: 'head', class: 'grid' });
for (const [name, key] of [['step', 'step'], ['#', ''], ['prompt', ''], ['response', ''], ['reward', 'reward'], ['rules', ''], ['adv', 'advantage'], ['len', 'length'], ['trunc', ''], ['label', '']]) {
  head.append(el('span', key ? { 'data-sort': key } : {}, name));
}
const list = el('div', { id: 'list', tabindex: '0' });
const spacer = el('div', { id: 'spacer' });
const rowsEl = el('div', { id: 'rows' });
list.append(spacer, rowsEl);
const detail = el('div', { id: 'detail' });
const group = el('div', { id: 'group' });
/** What the last label or preference did, or why it was refused (stays until the next one). */
const notice = el('div', { id: 'notice', role: 'status' });
app.append(bar, head, list, detail, notice, group);

// ---- query and windows ----------------------------------------------------------------------
function num(i: HTMLInputElement): number | undefined { return i.value.trim() === '' || !Number.isFinite(Number(i.value)) ? undefined : Number(i.value); }

function filter(): SampleFilter {
  const f: SampleFilter = { stepMin: num(stepMin), stepMax: num(stepMax), rewardMin: num(rewMin), rewardMax: num(rewMax) };
  if (!allSteps.checked) f.stepMin = f.stepMax = Number(slider.value);
  if (search.value) f.text = search.value;
  if (rule.value) f.rule = rule.value;
  if (trunc.checked) f.truncatedOnly = true;
  return f;
}

let queryTimer: number | undefined;
function requery(delay = 0): void {
  clearTimeout(queryTimer);
  queryTimer = window.setTimeout(() => {
    state.seq++;
    state.cache.clear(); state.pending.clear();
    send({ type: 'query', seq: state.seq, filter: filter(), sort: state.sort });
  }, delay);
}

const scale = () => Math.min(1, MAX_SCROLL_PX / Math.max(1, state.matched * ROW_H));

let drawQueued = false;
function draw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; render(); });
}

function render(): void {
  const s = scale();
  const spacerH = Math.round(state.matched * ROW_H * s);
  spacer.style.height = `${spacerH}px`;
  const visible = Math.ceil(list.clientHeight / ROW_H) + 1;
  const st = list.scrollTop;
  // scaled: the scroll position maps onto the first row proportionally, so the last rows stay reachable
  const first = s === 1 ? Math.floor(st / ROW_H) : Math.floor((st / Math.max(1, spacerH - list.clientHeight)) * Math.max(0, state.matched - visible + 1));
  const last = Math.min(state.matched, first + visible);
  rowsEl.style.transform = `translateY(${s === 1 ? first * ROW_H : st}px)`;
  const missing: number[] = [];
  const frag = document.createDocumentFragment();
  for (let i = first; i < last; i++) {
    const r = state.cache.get(i);
    if (!r) { missing.push(i); frag.append(el('div', { class: 'row grid muted' }, '…')); continue; }
    frag.append(rowEl(r, i));
  }
  rowsEl.replaceChildren(frag);
  if (missing.length) fetchWindow(Math.max(0, first - PAD), Math.min(state.matched, last + PAD));
  count.textContent = `${state.matched.toLocaleString('en-US')}${state.capped ? '+' : ''} of ${(state.info?.total ?? 0).toLocaleString('en-US')} samples`;
}

const SVG = 'http://www.w3.org/2000/svg';
function drawHistogram(h: RewardHistogram | null): void {
  hist.replaceChildren();
  if (!h) return;
  const W = 120, H = 22, max = Math.max(...h.counts), bw = W / h.counts.length;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(W)); svg.setAttribute('height', String(H)); svg.setAttribute('role', 'img');
  h.counts.forEach((c, i) => {
    const a = h.lo + ((h.hi - h.lo) * i) / h.counts.length, b = h.lo + ((h.hi - h.lo) * (i + 1)) / h.counts.length;
    const r = document.createElementNS(SVG, 'rect');
    const bh = max ? Math.max(c ? 1 : 0, (c / max) * H) : 0;
    for (const [k, v] of [['x', i * bw + 0.5], ['y', H - bh], ['width', Math.max(1, bw - 1)], ['height', bh]] as const) r.setAttribute(k, String(v));
    r.setAttribute('data-count', String(c));
    const t = document.createElementNS(SVG, 'title');
    t.textContent = h.counts.length === 1 ? `reward ${fmt(h.lo)}: ${c}` : `reward ${fmt(a)} to ${fmt(b)}: ${c}`;
    r.append(t);
    svg.append(r);
  });
  hist.append(svg, el('span', { class: 'muted' }, ` ${fmt(h.lo, 2)}…${fmt(h.hi, 2)}`));
}

function fetchWindow(start: number, end: number): void {
  while (start < end && (state.cache.has(start) || state.pending.has(start))) start++;
  if (start >= end) return;
  const n = Math.min(MAX_WINDOW, end - start);
  for (let i = start; i < start + n; i++) state.pending.add(i);
  send({ type: 'window', seq: state.seq, start, count: n });
}

function rowEl(r: Row, i: number): HTMLElement {
  const d = el('div', { class: `row grid${r.row === state.selected ? ' sel' : ''}`, 'data-row': String(r.row), 'data-pos': String(i) });
  const rules = Object.entries(r.rewards).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ');
  d.append(el('span', { class: 'num' }, String(r.step)), el('span', { class: 'num' }, String(r.index)), el('span', { title: r.prompt }, r.prompt),
    el('span', { title: r.response }, r.response), el('span', { class: 'num' }, fmt(r.reward)),
    el('span', { class: r.failing.length ? 'fail' : '', title: rules + (r.failing.length ? `\nfailing: ${r.failing.join(', ')}` : '') }, rules),
    el('span', { class: 'num' }, fmt(r.advantage)), el('span', { class: 'num' }, String(r.length)), el('span', {}, r.truncated ? 'yes' : ''),
    el('span', { class: r.verdict ?? '' }, r.verdict ?? ''));
  return d;
}

// ---- detail: one sample, its tokens, its group ------------------------------------------------
const METRICS = [['logprobs', 'log-prob'], ['ref_logprobs', 'ref log-prob'], ['kl', 'KL'], ['advantages', 'advantage'], ['entropy', 'entropy']] as const;

function tokenColor(v: number, metric: typeof state.metric, scaleMax: number): string {
  if (metric === 'logprobs' || metric === 'ref_logprobs') return `hsla(0,80%,50%,${Math.min(1, -v / Math.max(scaleMax, 1e-9)) * 0.8})`; // unlikely tokens red
  if (metric === 'entropy') return `hsla(270,70%,55%,${Math.min(1, v / Math.max(scaleMax, 1e-9)) * 0.8})`;
  const a = Math.min(1, Math.abs(v) / Math.max(scaleMax, 1e-9)) * 0.8;
  return v >= 0 ? `hsla(120,60%,40%,${a})` : `hsla(0,80%,50%,${a})`;
}

function tokensView(rec: SampleRecord): HTMLElement {
  const box = el('div', { id: 'tokens' });
  if (!rec.tokens?.length) { box.append(el('p', { class: 'muted' }, 'No per-token data was recorded for this sample.')); return box; }
  const toggle = el('div', { id: 'metric' });
  for (const [key, name] of METRICS) {
    if (!Array.isArray(rec[key])) continue;
    const b = el('button', { 'data-metric': key, 'aria-pressed': String(key === state.metric) }, name);
    toggle.append(b);
  }
  const values = rec[state.metric] ?? [];
  const maxAbs = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const toks = el('div', { class: 'tokens' });
  rec.tokens.forEach((t, i) => {
    const parts = METRICS.filter(([k]) => Array.isArray(rec[k]) && rec[k][i] !== undefined).map(([k, n]) => `${n}: ${rec[k]![i]}`);
    const s = el('span', { title: `token ${i}: ${JSON.stringify(t)}\n${parts.join('\n')}`, 'data-i': String(i) }, t);
    if (values[i] !== undefined) s.style.background = tokenColor(values[i], state.metric, maxAbs);
    toks.append(s);
  });
  box.append(toggle, toks);
  return box;
}

function showSample(): void {
  const s = state.record;
  if (!s) { detail.replaceChildren(); return; }
  const r = s.record;
  const readOnly = state.info?.readOnly ?? true;
  const actions = el('div', { class: 'actions' });
  const btn = (text: string, attrs: Record<string, string>) => { const b = el('button', attrs, text); if (readOnly && attrs['data-label']) b.disabled = true; return b; };
  actions.append(btn('good', { 'data-label': 'good' }), btn('bad', { 'data-label': 'bad' }), btn('clear', { 'data-label': 'none' }),
    btn('show group', { 'data-action': 'group' }), btn('open prompt in dataset', { 'data-action': 'openPrompt' }),
    el('span', { class: s.verdict ?? 'muted', id: 'verdict' }, s.verdict ? `marked ${s.verdict}` : 'not labelled'));
  const rewards = Object.entries(r.rewards).map(([k, v]) => `${k}: ${fmt(v)}`).join('   ') + (r.reward_errors ? `   errors: ${Object.entries(r.reward_errors).map(([k, v]) => `${k}: ${v}`).join('; ')}` : '');
  detail.replaceChildren(el('h3', {}, `step ${r.step}, sample ${r.index}: reward ${fmt(r.reward)}`), el('div', { class: 'muted' }, rewards), actions,
    el('div', { class: 'muted' }, 'prompt'), el('pre', { id: 'prompt' }, r.prompt), el('div', { class: 'muted' }, 'response'), el('pre', { id: 'response' }, r.response),
    tokensView(r));
}

function showGroup(rows: (Row & { over: number[]; under: number[] })[]): void {
  if (!rows.length) { group.replaceChildren(); return; }
  const readOnly = state.info?.readOnly ?? true;
  const cards = el('div', { class: 'cards' });
  rows.forEach((r, i) => {
    const cls = i === 0 && rows.length > 1 ? ' best' : i === rows.length - 1 && rows.length > 1 ? ' worst' : '';
    const c = el('div', { class: `card${cls}`, 'data-row': String(r.row) });
    const b = el('button', { 'data-prefer': String(r.row) }, state.chosen < 0 ? 'prefer this…' : state.chosen === r.row ? 'chosen (click another)' : 'over this one');
    b.disabled = readOnly;
    const prefs = [...r.over.map((i) => `preferred over #${i}`), ...r.under.map((i) => `#${i} preferred over this`)];
    c.append(el('strong', {}, `${cls ? cls.trim() + ': ' : ''}#${r.index} reward ${fmt(r.reward)} adv ${fmt(r.advantage)}`),
      el('div', { class: 'muted' }, `${r.length} tokens${r.truncated ? ', truncated' : ''}${r.verdict ? `, ${r.verdict}` : ''}`),
      ...(prefs.length ? [el('div', { class: 'saved-pref' }, `✓ ${prefs.join('; ')}`)] : []), el('pre', {}, r.response), b);
    cards.append(c);
  });
  group.replaceChildren(el('h3', {}, `the ${rows.length} samples of this prompt at step ${rows[0].step}, best first`), cards);
}

// ---- events -----------------------------------------------------------------------------------
function onMessage(m: SamplesHostToWebview): void {
  switch (m.type) {
    case 'init': case 'grown': {
      const first = state.info === null;
      state.info = m.info;
      trainRmBtn.disabled = m.info.readOnly;
      const steps = m.info.steps.map((s) => s[0]);
      slider.min = String(steps[0] ?? 1); slider.max = String(steps[steps.length - 1] ?? 1);
      rule.replaceChildren(el('option', { value: '' }, 'any'), ...m.info.rules.map((r) => el('option', { value: r }, r)));
      if (m.type === 'init') {
        const focus = m.focusStep ?? Number(document.body.dataset.focusStep ?? NaN);
        if (m.focusFilter) { trunc.checked = !!m.focusFilter.truncatedOnly; allSteps.checked = false; }
        const onNewest = first || Number(slider.value) === Number(slider.max);
        slider.value = String(Number.isFinite(focus) ? focus : onNewest ? slider.max : slider.value);
        sliderLabel.textContent = slider.value;
        requery();
      } else if (!allSteps.checked && Number(slider.value) === steps[steps.length - 2]) { slider.value = slider.max; sliderLabel.textContent = slider.value; requery(); }
      else draw();
      break;
    }
    case 'result':
      if (m.seq !== state.seq) return;
      state.matched = m.matched; state.capped = m.capped;
      drawHistogram(m.histogram);
      list.scrollTop = 0;
      draw();
      break;
    case 'rows':
      if (m.seq !== state.seq) return;
      m.rows.forEach((r, k) => { state.cache.set(m.start + k, r); state.pending.delete(m.start + k); });
      draw();
      break;
    case 'sample': state.record = { row: m.row, record: m.record, verdict: m.verdict }; showSample(); break;
    case 'group': showGroup(m.rows); break;
    case 'labeled':
      if (state.record?.row === m.row) { state.record.verdict = m.verdict; showSample(); }
      for (const r of state.cache.values()) if (r.row === m.row) r.verdict = m.verdict;
      count.title = `${m.pairs} preference pairs so far`;
      if (m.preferred) {
        notice.className = 'saved';
        notice.textContent = `saved: #${m.preferred.chosen} preferred over #${m.preferred.rejected} at step ${m.preferred.step} (${m.pairs} preference pair${m.pairs === 1 ? '' : 's'} in all)`;
      }
      draw();
      break;
    case 'error': notice.className = 'error'; notice.textContent = m.message; break;
  }
}

window.addEventListener('message', (e: MessageEvent) => { if (isSamplesHostToWebview(e.data)) onMessage(e.data); });
list.addEventListener('scroll', draw, { passive: true });
window.addEventListener('resize', draw);
slider.addEventListener('input', () => { sliderLabel.textContent = slider.value; allSteps.checked = false; requery(60); });
for (const i of [allSteps, trunc, rule]) i.addEventListener('change', () => requery());
for (const i of [stepMin, stepMax, rewMin, rewMax, search]) i.addEventListener('input', () => { if (i === stepMin || i === stepMax) allSteps.checked = true; requery(200); });
head.addEventListener('click', (e) => {
  const key = (e.target as HTMLElement).dataset.sort as SampleSort['key'] | undefined;
  if (!key) return;
  state.sort = { key, desc: state.sort.key === key ? !state.sort.desc : key !== 'step' };
  requery();
});
rowsEl.addEventListener('click', (e) => {
  const rowDiv = (e.target as HTMLElement).closest<HTMLElement>('.row');
  const row = Number(rowDiv?.dataset.row);
  if (!rowDiv || !Number.isInteger(row)) return;
  state.selected = row; state.chosen = -1;
  send({ type: 'open', row }); send({ type: 'group', row });
  draw();
});
detail.addEventListener('click', (e) => {
  const t = e.target as HTMLElement;
  const row = state.record?.row;
  if (row === undefined) return;
  if (t.dataset.metric) { state.metric = t.dataset.metric as typeof state.metric; showSample(); }
  else if (t.dataset.label) send({ type: 'label', row, verdict: t.dataset.label as 'good' | 'bad' | 'none' });
  else if (t.dataset.action === 'group') send({ type: 'group', row });
  else if (t.dataset.action === 'openPrompt') send({ type: 'openPrompt', row });
});
group.addEventListener('click', (e) => {
  const t = e.target as HTMLElement;
  const row = Number(t.dataset.prefer);
  if (!t.dataset.prefer || !Number.isInteger(row)) return;
  if (state.chosen < 0 || state.chosen === row) { state.chosen = state.chosen === row ? -1 : row; }
  else { send({ type: 'prefer', chosen: state.chosen, rejected: row }); state.chosen = -1; }
  if (state.selected >= 0) send({ type: 'group', row: state.selected });
});

exportBtn.addEventListener('click', () => send({ type: 'exportPreferences' }));
trainRmBtn.addEventListener('click', () => send({ type: 'trainRewardModel' }));

send({ type: 'ready' });
