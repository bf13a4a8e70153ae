// Writes docs/verl-export.md's two mapping tables from src/core/exportMapping.ts (the tables the exporters apply),
// between the <!-- mapping:verl --> / <!-- mapping:openrlhf --> markers.
//   node scripts/export-mapping-doc.mjs           rewrite the tables
//   node scripts/export-mapping-doc.mjs --check   exit 1 when the doc is not what the tables give (test/unit/facts.test.ts)
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOC = path.join(ROOT, 'docs', 'verl-export.md');

const bundle = await build({ entryPoints: [path.join(ROOT, 'src', 'core', 'exportMapping.ts')], bundle: true, write: false, format: 'cjs', platform: 'node', logLevel: 'error' });
const mod = { exports: {} };
vm.runInNewContext(bundle.outputFiles[0].text, { module: mod, exports: mod.exports });
const { VERL_MAPPING, OPENRLHF_MAPPING, mappingMarkdown } = mod.exports;

const current = fs.readFileSync(DOC, 'utf8');
let next = current;
for (const [name, rows, title] of [['verl', VERL_MAPPING, 'verl override'], ['openrlhf', OPENRLHF_MAPPING, 'OpenRLHF flag']]) {
  const re = new RegExp(`(<!-- mapping:${name} -->)[\\s\\S]*?(<!-- /mapping:${name} -->)`);
  if (!re.test(next)) { console.error(`${DOC}: no <!-- mapping:${name} --> ... <!-- /mapping:${name} --> markers`); process.exit(1); }
  next = next.replace(re, (_, a, b) => `${a}\n${mappingMarkdown(rows, title)}\n${b}`);
}
if (process.argv.includes('--check')) {
  if (next !== current) { console.error('docs/verl-export.md: the mapping tables differ from src/core/exportMapping.ts; run node scripts/export-mapping-doc.mjs'); process.exit(1); }
} else {
  fs.writeFileSync(DOC, next);
}
