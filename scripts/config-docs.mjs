// Writes docs/config.md from schemas/config.schema.json (the one definition of the config).
import * as fs from 'node:fs';

// What `--resume` does when the key differs from the checkpoint's run (x-on-resume; default: applied).
const RESUME_WORDS = { apply: 'applied', refuse: '**refused**', 'refuse-if-prompts-change': '**refused** if the prompts change', ignore: 'not used' };
const onResume = (s) => {
  const r = s['x-on-resume'];
  return r ? `${RESUME_WORDS[r.policy] ?? r.policy}: ${r.why}` : 'applied';
};

export function configDocs(schema) {
  const rows = [];
  let resume = true;
  const walk = (props, prefix) => {
    for (const [key, s] of Object.entries(props)) {
      const name = prefix + key;
      if (s.type === 'object' && s.properties) { walk(s.properties, name + '.'); continue; }
      const type = s.enum ? s.enum.map((v) => JSON.stringify(v)).join(' \\| ') : [].concat(s.type ?? 'any').join(' \\| ');
      const def = s.default === undefined ? '(required)' : '`' + JSON.stringify(s.default) + '`';
      rows.push(`| \`${name}\` | ${type} | ${def} | ${(s.description ?? '').replace(/\|/g, '\\|')} |` + (resume ? ` ${onResume(s)} |` : ''));
    }
  };
  walk(schema.properties, '');
  const ruleRows = rows.splice(0);
  resume = false; // rules are re-read on every start
  walk(schema.definitions?.rule?.properties ?? {}, '');
  const rules = rows.splice(0);
  rows.push(...ruleRows);
  const ruleTable = rules.length ? `\n## Fields of a rule in \`reward.rules\`\n\n| key | type | default | meaning |\n|---|---|---|---|\n${rules.join('\n')}\n` : '';
  return `# Run config reference\n\nGenerated from \`schemas/config.schema.json\` by \`node scripts/config-docs.mjs\`; do not edit by hand.\n` +
    `Relative paths are resolved against the config file's folder.\n\n` +
    'The last column says what `--resume` does when a key differs from the checkpoint\'s run: *applied* (from the next step, ' +
    'written to the new run\'s config.yaml and named in a warning event), **refused** (exit 2 before any model loads, with a ' +
    'message naming the key and both values) or *not used*.\n\n' +
    `| key | type | default | meaning | on resume |\n|---|---|---|---|---|\n${rows.join('\n')}\n${ruleTable}`;
}

if (process.argv[1] && process.argv[1].endsWith('config-docs.mjs')) {
  const schema = JSON.parse(fs.readFileSync('schemas/config.schema.json', 'utf8'));
  fs.mkdirSync('docs', { recursive: true });
  fs.writeFileSync('docs/config.md', configDocs(schema));
  console.log('wrote docs/config.md');
}
