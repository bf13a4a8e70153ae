// The dashboard page's HTML, without vscode so that a unit test can check it. Every value that comes
// from the workspace (run ids are folder names: any character but '/') is escaped.
export interface DashboardHtmlInput {
  runId: string;
  nonce: string;
  cspSource: string;
  /** Webview URIs of dist/uPlot.min.css, media/dashboard.css and dist/webview.js. */
  uplotCss: string;
  dashboardCss: string;
  script: string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in an HTML text node or a quoted attribute. */
export function escapeHtml(s: string): string { return s.replace(/[&<>"']/g, (c) => ENTITIES[c]); }

export function dashboardHtml(o: DashboardHtmlInput): string {
  const e = escapeHtml;
  const csp = [`default-src 'none'`, `img-src ${o.cspSource} data:`, `font-src ${o.cspSource}`,
    `style-src ${o.cspSource} 'nonce-${o.nonce}'`, `script-src 'nonce-${o.nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${e(o.uplotCss)}" nonce="${e(o.nonce)}">
<link rel="stylesheet" href="${e(o.dashboardCss)}" nonce="${e(o.nonce)}">
<title>RLHF dashboard: ${e(o.runId)}</title></head>
<body data-run-id="${e(o.runId)}">
<div id="app"></div>
<script nonce="${e(o.nonce)}" src="${e(o.script)}"></script>
</body></html>`;
}
