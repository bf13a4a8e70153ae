// The playground page's HTML ("RLHF: Try Checkpoint"), without vscode so that a unit test can check
// it: the shared page shell (webview/shared/html.ts) with a strict CSP (nothing but the nonce'd style
// and script), and the title escaped (it names a run folder). The page itself is built by
// dist/playground.js from the host's `init` message.
import { pageShell } from '../shared/html';

export interface PlaygroundHtmlInput { title: string; nonce?: string; cspSource: string; script: string }

const STYLE = `
body{font-family:var(--vscode-font-family,sans-serif);font-size:13px;color:var(--vscode-foreground,#ccc);background:var(--vscode-editor-background,#1e1e1e);margin:0;padding:8px}
#bar{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;margin:6px 0}
#bar label{display:flex;gap:4px;align-items:center}
textarea,input,select,button{font:inherit;color:inherit;background:var(--vscode-input-background,#333);border:1px solid var(--vscode-input-border,#555);padding:2px 4px}
textarea{width:100%;box-sizing:border-box;min-height:4em;resize:vertical;font-family:var(--vscode-editor-font-family,monospace)}
button{cursor:pointer;background:var(--vscode-button-background,#0e639c);color:var(--vscode-button-foreground,#fff)}
button:disabled{opacity:.5;cursor:default}
input[type=number]{width:5em}
#columns{display:flex;gap:8px}
section{flex:1 1 0;min-width:0;border:1px solid var(--vscode-panel-border,#555);padding:6px}
section select{max-width:100%}
.output{white-space:pre-wrap;word-break:break-word;min-height:6em;margin:6px 0;padding:4px;background:var(--vscode-textCodeBlock-background,#2b2b2b);font-family:var(--vscode-editor-font-family,monospace)}
.stats,.status,.reward{opacity:.85;margin:2px 0}
.error{color:var(--vscode-errorForeground,#f48771)}
.muted{opacity:.7}
button.link{background:none;border:none;padding:0;color:var(--vscode-textLink-foreground,#3794ff);text-decoration:underline}
.status.busy::before{content:"";display:inline-block;width:.8em;height:.8em;margin-right:.4em;vertical-align:-.1em;border:2px solid currentColor;border-right-color:transparent;border-radius:50%;animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
.tps{cursor:help}
`;

export function playgroundHtml(o: PlaygroundHtmlInput): string {
  return pageShell({ title: `Try: ${o.title}`, nonce: o.nonce, cspSource: o.cspSource, script: o.script, style: STYLE });
}
