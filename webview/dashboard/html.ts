// The dashboard page's HTML, without vscode so that a unit test can check it: the shared page shell
// (webview/shared/html.ts: CSP, nonce, script tag) with uPlot's and the dashboard's stylesheets.
import { pageShell } from '../shared/html';

export { escapeHtml } from '../shared/html';

export interface DashboardHtmlInput {
  runId: string;
  /** Default: a fresh one per page load. */
  nonce?: string;
  cspSource: string;
  /** Webview URIs of dist/uPlot.min.css, media/dashboard.css and dist/webview.js. */
  uplotCss: string;
  dashboardCss: string;
  script: string;
}

export function dashboardHtml(o: DashboardHtmlInput): string {
  return pageShell({ title: `RLHF dashboard: ${o.runId}`, nonce: o.nonce, cspSource: o.cspSource, script: o.script,
    stylesheets: [o.uplotCss, o.dashboardCss], images: true, data: { 'run-id': o.runId } });
}
