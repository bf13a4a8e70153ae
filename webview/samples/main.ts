// The sample browser webview: filters, a windowed list (only the visible rows exist in the DOM; the
// host sends windows of rows on request), the detail of one sample with its per-token view, and the
// group of its prompt side by side. This file holds the page's state and wires the host's messages
// and the user's events; data.ts decides what to show (pure, unit-tested), render.ts builds the DOM.
import { isSamplesHostToWebview, MAX_WINDOW, type SampleRecord, type SampleSort, type SamplesHostToWebview, type SamplesInfo, type SamplesWebviewToHost } from './protocol';
import { countText, filterOf, listView, nextSort, onGrown, preferClick, rowKey, windowToFetch, PAD, type GroupRow, type Row, type TokenMetric, type Verdict } from './data';
import { drawHistogram, mountLayout, pendingRowEl, rowEl, showGroup as renderGroup, showSample as renderSample } from './render';
import { el } from '../shared/dom';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void };
declare global { interface Window { samplesHost?: (m: unknown) => void } }

const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: (m: unknown) => window.samplesHost?.(m) };
const send = (m: SamplesWebviewToHost) => api.postMessage(m);

const state = {
  info: null as SamplesInfo | null,
  seq: 0, matched: 0, capped: false,
  cache: new Map<number, Row>(),
  /** The rows of the query before, shown where the same query over a grown run has not sent its own yet. */
  stale: new Map<number, Row>(),
  pending: new Set<number>(),
  selected: -1,
  sort: { key: 'step', desc: false } as SampleSort,
  metric: 'logprobs' as TokenMetric,
  chosen: -1,
  record: null as { row: number; record: SampleRecord; verdict: Verdict } | null,
};

const { count, hist, slider, sliderLabel, allSteps, stepMin, stepMax, rewMin, rewMax, search, rule, trunc, exportBtn, trainRmBtn, head, list, spacer, rowsEl, detail, group, notice } =
  mountLayout(document.getElementById('app')!, document.body.dataset.runId ?? '');

// ---- query and windows ----------------------------------------------------------------------
const filter = () => filterOf({ stepMin: stepMin.value, stepMax: stepMax.value, rewardMin: rewMin.value, rewardMax: rewMax.value, search: search.value,
  rule: rule.value, truncatedOnly: trunc.checked, allSteps: allSteps.checked, slider: slider.value });

let queryTimer: number | undefined;
/** The query whose result keeps the list where it is (the same query over a grown run), by its seq. */
let keepPlace = -1;
function requery(delay = 0, keepScroll = false): void {
  clearTimeout(queryTimer);
  queryTimer = window.setTimeout(() => {
    state.seq++;
    keepPlace = keepScroll ? state.seq : -1;
    // the same query over a grown run shows its last rows until the new ones come (each kept while it is the same)
    state.stale = keepScroll ? state.cache : new Map<number, Row>();
    state.cache = new Map<number, Row>(); state.pending.clear();
    send({ type: 'query', seq: state.seq, filter: filter(), sort: state.sort });
  }, delay);
}

let drawQueued = false;
/** The list's row elements as last drawn, by rowKey. */
let drawn = new Map<string, HTMLElement>();
function draw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; render(); });
}

function render(): void {
  const v = listView(state.matched, list.clientHeight, list.scrollTop);
  spacer.style.height = `${v.spacerHeight}px`;
  rowsEl.style.transform = `translateY(${v.offset}px)`;
  let missing = false;
  const next = new Map<string, HTMLElement>();
  const els: HTMLElement[] = [];
  for (let i = v.first; i < v.last; i++) {
    const r = state.cache.get(i) ?? state.stale.get(i);
    if (!state.cache.has(i)) missing = true;
    const key = rowKey(i, r, state.selected);
    const e = drawn.get(key) ?? (r ? rowEl(r, i, r.row === state.selected) : pendingRowEl());
    next.set(key, e); els.push(e);
  }
  // a row that shows the same keeps its element: a scroll, a grown run or a fetched window redraws the list,
  // and a row replaced by its copy between a pointer's press and release loses the click
  if (els.length !== rowsEl.children.length || els.some((e, k) => rowsEl.children[k] !== e)) rowsEl.replaceChildren(...els);
  drawn = next;
  if (missing) fetchWindow(Math.max(0, v.first - PAD), Math.min(state.matched, v.last + PAD));
  count.textContent = countText(state.matched, state.capped, state.info?.total ?? 0);
}

function fetchWindow(start: number, end: number): void {
  const w = windowToFetch(start, end, (i) => state.cache.has(i) || state.pending.has(i), MAX_WINDOW);
  if (!w) return;
  for (let i = w.start; i < w.start + w.count; i++) state.pending.add(i);
  send({ type: 'window', seq: state.seq, start: w.start, count: w.count });
}

const readOnly = () => state.info?.readOnly ?? true;
const showSample = () => renderSample(detail, state.record, state.metric, readOnly());
const showGroup = (rows: GroupRow[]) => renderGroup(group, rows, state.chosen, readOnly());

// ---- events -----------------------------------------------------------------------------------
function onMessage(m: SamplesHostToWebview): void {
  switch (m.type) {
    case 'init': case 'grown': {
      const first = state.info === null;
      const before = state.info?.steps ?? [];
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
      } else {
        const f = filter();
        const next = onGrown(before, m.info.steps, { allSteps: allSteps.checked, sliderStep: Number(slider.value), stepMin: f.stepMin, stepMax: f.stepMax });
        if (next === 'refresh') requery(0, true);
        else if (next === 'redraw') draw();
        else { slider.value = String(next.followTo); sliderLabel.textContent = slider.value; requery(); }
      }
      break;
    }
    case 'result':
      if (m.seq !== state.seq) return;
      state.matched = m.matched; state.capped = m.capped;
      drawHistogram(hist, m.histogram);
      if (m.seq !== keepPlace) list.scrollTop = 0;
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
      for (const rows of [state.cache, state.stale]) for (const r of rows.values()) if (r.row === m.row) r.verdict = m.verdict;
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
  state.sort = nextSort(state.sort, key);
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
  const next = preferClick(state.chosen, row);
  state.chosen = next.chosen;
  if (next.prefer) send({ type: 'prefer', ...next.prefer });
  if (state.selected >= 0) send({ type: 'group', row: state.selected });
});

exportBtn.addEventListener('click', () => send({ type: 'exportPreferences' }));
trainRmBtn.addEventListener('click', () => send({ type: 'trainRewardModel' }));

send({ type: 'ready' });
