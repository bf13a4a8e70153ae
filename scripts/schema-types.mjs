// Writes src/core/schemaTypes.ts: TypeScript types for every schemas/*.json (json-schema-to-typescript,
// pinned in package.json), so the TypeScript side types the contracts from their one definition.
//   node scripts/schema-types.mjs           rewrite the file
//   node scripts/schema-types.mjs --check   exit 1 when the file is not what the schemas give (test/unit/facts.test.ts)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = path.join(ROOT, 'src', 'core', 'schemaTypes.ts');

/** schemas/events.schema.json -> EventsSchema, ... (the schemas' titles are sentences, not type names). */
const typeName = (file) => file.replace(/\.schema\.json$/, '').split(/[-_.]/).map((w) => w[0].toUpperCase() + w.slice(1)).join('') + 'Schema';

export async function schemaTypes() {
  const files = fs.readdirSync(path.join(ROOT, 'schemas')).filter((f) => f.endsWith('.schema.json')).sort();
  const parts = [];
  for (const file of files) {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', file), 'utf8'));
    const ts = await compile({ ...schema, title: typeName(file) }, typeName(file), {
      bannerComment: `// schemas/${file}`, cwd: path.join(ROOT, 'schemas'), additionalProperties: true,
      strictIndexSignatures: true, format: true, style: { singleQuote: true, printWidth: 120 },
    });
    parts.push(ts.trim());
  }
  return `// Generated from schemas/*.json by \`node scripts/schema-types.mjs\`; do not edit by hand.\n\n${parts.join('\n\n')}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await schemaTypes();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (current !== text) { console.error(`${path.relative(ROOT, OUT)} is not current: run node scripts/schema-types.mjs`); process.exit(1); }
  } else {
    fs.writeFileSync(OUT, text);
  }
}
