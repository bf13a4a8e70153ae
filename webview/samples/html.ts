// The sample browser page's HTML, without vscode so that a unit test can check it: the shared page
// shell (webview/shared/html.ts: CSP, nonce, script tag, escaping) with the page's own styles.
import { pageShell } from '../shared/html';

export interface SamplesHtmlInput { runId: string; nonce?: string; cspSource: string; script: string; focusStep?: number }

const STYLE = `
body{font-family:var(--vscode-font-family,sans-serif);font-size:13px;color:var(--vscode-foreground,#ccc);background:var(--vscode-editor-background,#1e1e1e);margin:0;padding:8px}
#bar{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;margin-bottom:6px}
#bar label{display:flex;gap:4px;align-items:center}
#histogram{display:inline-flex;align-items:flex-end;gap:4px}#histogram rect{fill:var(--vscode-charts-blue,#3794ff)}
#histogram text{fill:currentColor;font-size:8px;opacity:.8}#histogram line.axis{stroke:currentColor;stroke-width:1;opacity:.5}
input,select,button{font:inherit;color:inherit;background:var(--vscode-input-background,#333);border:1px solid var(--vscode-input-border,#555);padding:1px 4px}
button{cursor:pointer;background:var(--vscode-button-secondaryBackground,#3a3d41)}
input[type=number]{width:5em}
#slider{width:220px}
.grid{display:grid;grid-template-columns:4em 3em minmax(8em,1fr) minmax(12em,2fr) 5em 9em 5em 4em 3em 3em;gap:0 6px;align-items:center}
#head{font-weight:bold;border-bottom:1px solid var(--vscode-panel-border,#555);padding:2px 0;cursor:default}
#head span[data-sort]{cursor:pointer;text-decoration:underline dotted}
#list{position:relative;height:45vh;overflow-y:auto;border-bottom:1px solid var(--vscode-panel-border,#555)}
#rows{position:absolute;left:0;right:0;top:0}
.row{height:26px;line-height:26px;white-space:nowrap;cursor:pointer}
.row>span{overflow:hidden;text-overflow:ellipsis}
.row:hover{background:var(--vscode-list-hoverBackground,#2a2d2e)}
.row.sel{background:var(--vscode-list-activeSelectionBackground,#04395e)}
.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{color:var(--vscode-errorForeground,#f48771)}
.good{color:#89d185}.bad{color:#f48771}
#detail{margin-top:8px}
pre{white-space:pre-wrap;word-break:break-word;margin:2px 0 6px;padding:4px;background:var(--vscode-textCodeBlock-background,#2b2b2b)}
.tokens span{padding:1px 0;margin-right:2px;border-radius:2px;white-space:pre-wrap}
#token-legend{display:flex;gap:4px;align-items:center;margin:4px 0}.legend-bar{display:inline-block;width:120px;height:10px;border:1px solid var(--vscode-panel-border,#555)}
.cards{display:flex;gap:8px;overflow-x:auto}
.card{flex:1 0 220px;border:1px solid var(--vscode-panel-border,#555);padding:4px}
.card.best{border-color:#89d185}.card.worst{border-color:#f48771}
#notice{margin:4px 0;min-height:1.2em}#notice.error{color:var(--vscode-errorForeground,#f48771)}.saved-pref{color:#89d185}
.muted{opacity:.7}
`;

export function samplesHtml(o: SamplesHtmlInput): string {
  const data: Record<string, string> = { 'run-id': o.runId };
  if (o.focusStep !== undefined && Number.isInteger(o.focusStep)) data['focus-step'] = String(o.focusStep);
  return pageShell({ title: `RLHF samples: ${o.runId}`, nonce: o.nonce, cspSource: o.cspSource, script: o.script, style: STYLE, images: true, data });
}
