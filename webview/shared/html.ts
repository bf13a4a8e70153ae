// The page shell every webview page is served in (the dashboard, the sample browser, the playground):
// a strict CSP (nothing runs or styles but what carries the page's nonce, plus the extension's own
// stylesheets where a page links some), the nonce itself, and the one script tag. Without vscode or
// node, so the pages' HTML builders (webview/<page>/html.ts) stay unit-testable. Every value that
// comes from the workspace (a run id is a folder name: any character but '/') is escaped.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in an HTML text node or a quoted attribute. */
export function escapeHtml(s: string): string { return s.replace(/[&<>"']/g, (c) => ENTITIES[c]); }

/** A fresh nonce for one page load: 16 random bytes, base64 (Web Crypto: the host's Node and a browser both have it). */
export function newNonce(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

export interface PageShell {
  /** The document title (escaped). */
  title: string;
  /** Default: a fresh one (newNonce); tests pass their own. */
  nonce?: string;
  /** The webview's cspSource: where the extension's own files (fonts, linked stylesheets, images) come from. */
  cspSource: string;
  /** The page's bundle (a webview URI). */
  script: string;
  /** Stylesheets the page links (webview URIs); with any, style-src allows cspSource as well as the nonce. */
  stylesheets?: string[];
  /** The page's own CSS, inlined under the nonce. */
  style?: string;
  /** Whether the page shows images (img-src cspSource and data: URLs). */
  images?: boolean;
  /** data-* attributes of <body> (names without the `data-` prefix; values escaped). */
  data?: Record<string, string>;
}

/** The Content-Security-Policy of a page: default none, and only the nonce (and the extension's files) allowed. */
export function pageCsp(o: Pick<PageShell, 'cspSource' | 'stylesheets' | 'images'> & { nonce: string }): string {
  const styleSrc = o.stylesheets?.length ? `${o.cspSource} 'nonce-${o.nonce}'` : `'nonce-${o.nonce}'`;
  return [`default-src 'none'`, ...(o.images ? [`img-src ${o.cspSource} data:`] : []), `font-src ${o.cspSource}`,
    `style-src ${styleSrc}`, `script-src 'nonce-${o.nonce}'`].join('; ');
}

export function pageShell(shell: PageShell): string {
  const o = { ...shell, nonce: shell.nonce ?? newNonce() };
  const e = escapeHtml;
  const links = (o.stylesheets ?? []).map((href) => `<link rel="stylesheet" href="${e(href)}" nonce="${e(o.nonce)}">\n`).join('');
  const style = o.style !== undefined ? `<style nonce="${e(o.nonce)}">${o.style}</style>\n` : '';
  const data = Object.entries(o.data ?? {}).map(([k, v]) => ` data-${k}="${e(v)}"`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${e(pageCsp(o))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}${style}<title>${e(o.title)}</title></head>
<body${data}>
<div id="app"></div>
<script nonce="${e(o.nonce)}" src="${e(o.script)}"></script>
</body></html>`;
}
