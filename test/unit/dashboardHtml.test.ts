// The dashboard page is built from workspace-derived strings (run ids are folder names); they must
// stay text. The page is parsed the way a browser tokenizes it, and no attribute or element is injected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dashboardHtml, escapeHtml } from '../../webview/dashboard/html';
import { newNonce, pageCsp } from '../../webview/shared/html';

const base = { nonce: 'abc123', cspSource: 'https://file+.vscode-resource.vscode-cdn.net', uplotCss: 'u.css', dashboardCss: 'd.css', script: 'w.js' };

/** The start tags in a document: name and attribute names, as an HTML tokenizer splits them (quoted values skipped). */
function startTags(html: string): { name: string; attrs: string[] }[] {
  const tags: { name: string; attrs: string[] }[] = [];
  const tag = /<([a-zA-Z][^\s/>]*)((?:\s+[^\s=/>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g;
  for (const m of html.matchAll(tag)) {
    const attrs = [...m[2].matchAll(/\s+([^\s=/>]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?/g)].map((a) => a[1].toLowerCase());
    tags.push({ name: m[1].toLowerCase(), attrs });
  }
  return tags;
}

test('a run id like <img src=x onerror=alert(1)> is inert in the dashboard page', () => {
  for (const runId of ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "x' onload='alert(1)", '20261124-181511-a&amp;b']) {
    const html = dashboardHtml({ ...base, runId });
    const tags = startTags(html);
    assert.deepEqual(tags.map((t) => t.name), ['html', 'head', 'meta', 'meta', 'meta', 'link', 'link', 'title', 'body', 'div', 'script'], runId);
    assert.ok(!tags.some((t) => t.attrs.some((a) => a.startsWith('on'))), runId);
    assert.deepEqual(tags.find((t) => t.name === 'body')!.attrs, ['data-run-id']);
    // the id round-trips: what the webview reads from data-run-id is the folder name
    const attr = /data-run-id="([^"]*)"/.exec(html)![1];
    assert.equal(attr.replace(/&(lt|gt|quot|#39|amp);/g, (_, e) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e as string]!), runId);
  }
});

test('escapeHtml covers the five HTML-significant characters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('the shared page shell: a fresh 16-byte nonce per page unless given, on the CSP, the styles and the script', () => {
  const nonces = new Set(Array.from({ length: 20 }, () => newNonce()));
  assert.equal(nonces.size, 20);
  for (const n of nonces) assert.equal(Buffer.from(n, 'base64').length, 16);
  const html = dashboardHtml({ ...base, nonce: undefined, runId: 'r' });
  const nonce = /script-src 'nonce-([^']+)'/.exec(html.replace(/&#39;/g, "'"))![1];
  assert.equal(Buffer.from(nonce, 'base64').length, 16);
  assert.equal([...html.matchAll(new RegExp(`nonce="${nonce.replace(/[+/]/g, '\\$&')}"`, 'g'))].length, 3, 'two stylesheets and the script');
  assert.equal(pageCsp({ nonce: 'n', cspSource: 'S' }), "default-src 'none'; font-src S; style-src 'nonce-n'; script-src 'nonce-n'");
  assert.equal(pageCsp({ nonce: 'n', cspSource: 'S', stylesheets: ['a.css'], images: true }), "default-src 'none'; img-src S data:; font-src S; style-src S 'nonce-n'; script-src 'nonce-n'");
});
