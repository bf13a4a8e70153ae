// A chart as a standalone SVG file, built from the same downsampled columns the canvas draws: a
// frame, ticks with the axis formatter's labels, axis titles, a polyline per series. DOM-free.
import { formatTicks } from '../format';
import type { Columns } from '../downsample';

export interface SvgSeries { label: string; color: string; width: number; opacity?: number; dash?: number[] }
export interface SvgChart {
  title: string; xTitle: string; yTitle: string; width: number; height: number;
  xRange: [number, number]; yLog: boolean;
  columns: Columns; series: SvgSeries[];
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v: number): string => String(Math.round(v * 100) / 100);

/** About `count` round tick values covering [lo, hi] (1, 2, 5 x 10^k apart). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const M = { left: 64, right: 12, top: 24, bottom: 40 };

export function chartSvg(c: SvgChart): string {
  const [x0, x1] = c.xRange[1] > c.xRange[0] ? c.xRange : [c.xRange[0] - 1, c.xRange[0] + 1];
  const t = (v: number): number => (c.yLog ? Math.log10(v) : v);
  const ys = c.columns.slice(1).flatMap((col) => (col as (number | null)[]).filter((v): v is number => v !== null && (!c.yLog || v > 0)).map(t));
  let y0 = ys.length ? Math.min(...ys) : 0, y1 = ys.length ? Math.max(...ys) : 1;
  if (y1 - y0 < 1e-12 * Math.max(1, Math.abs(y0))) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const w = c.width - M.left - M.right, h = c.height - M.top - M.bottom;
  const px = (v: number): number => M.left + ((v - x0) / (x1 - x0)) * w;
  const py = (v: number): number => M.top + h - ((t(v) - y0) / (y1 - y0)) * h;
  const parts: string[] = [];
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="none" stroke="#888" stroke-width="1"/>`);
  const xt = niceTicks(x0, x1), xl = formatTicks(xt);
  xt.forEach((v, i) => parts.push(`<line x1="${num(px(v))}" x2="${num(px(v))}" y1="${M.top + h}" y2="${M.top + h + 4}" stroke="#888"/>`
    + `<text x="${num(px(v))}" y="${M.top + h + 16}" text-anchor="middle">${esc(xl[i])}</text>`));
  const ytv = niceTicks(y0, y1), yl = formatTicks(c.yLog ? ytv.map((v) => Math.pow(10, v)) : ytv);
  ytv.forEach((v, i) => { const y = num(M.top + h - ((v - y0) / (y1 - y0)) * h);
    parts.push(`<line x1="${M.left - 4}" x2="${M.left}" y1="${y}" y2="${y}" stroke="#888"/><text x="${M.left - 6}" y="${y}" dy="4" text-anchor="end">${esc(yl[i])}</text>`); });
  const xs = c.columns[0];
  c.series.forEach((s, k) => {
    const col = c.columns[k + 1] as (number | null)[];
    // a null is a step without the value: like the canvas (spanGaps), the line runs across it
    const pts = xs.map((x, i) => [x, col[i]] as const).filter(([, v]) => v !== null && (!c.yLog || v > 0) && Number.isFinite(v))
      .map(([x, v]) => `${num(px(x))},${num(py(v as number))}`);
    if (pts.length) parts.push(`<polyline clip-path="url(#plot)" fill="none" stroke="${esc(s.color)}" stroke-width="${s.width}"${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}${s.dash ? ` stroke-dasharray="${s.dash.join(' ')}"` : ''} points="${pts.join(' ')}"><title>${esc(s.label)}</title></polyline>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${c.width}" height="${c.height}" viewBox="0 0 ${c.width} ${c.height}" font-family="sans-serif" font-size="11" fill="#444">
<clipPath id="plot"><rect x="${M.left}" y="${M.top}" width="${w}" height="${h}"/></clipPath>
<text x="${M.left}" y="16" font-size="13" font-weight="600">${esc(c.title)}</text>
${parts.join('\n')}
<text x="${M.left + w / 2}" y="${c.height - 6}" text-anchor="middle">${esc(c.xTitle)}</text>
<text transform="translate(12 ${M.top + h / 2}) rotate(-90)" text-anchor="middle">${esc(c.yTitle)}</text>
</svg>
`;
}
