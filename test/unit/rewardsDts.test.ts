// media/rlhf-rewards.d.ts is what rule authors type against (no npm install in their workspace); the
// engine's helpers and extractors are the real thing. The compiler checks that they are the same API,
// both ways, so the hand-written declaration file cannot drift from the engine.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiler is a devDependency, loaded only here
const ts = require(path.join(ROOT, 'node_modules', 'typescript')) as typeof import('typescript');

/** Type-checks `source` (a module next to copies of the .d.ts and the engine's helpers) and returns the errors. */
function typeErrors(dts: string, source: string): string[] {
  const dir = tempDir('dts');
  fs.writeFileSync(path.join(dir, 'rlhf-rewards.d.ts'), dts);
  fs.copyFileSync(path.join(ROOT, 'src/core/rewards/helpers.ts'), path.join(dir, 'helpers.ts'));
  fs.writeFileSync(path.join(dir, 'check.ts'), source);
  const program = ts.createProgram([path.join(dir, 'check.ts')], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, skipLibCheck: true, types: [] });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const CHECK = `
import type * as Api from './rlhf-rewards';
import type * as Engine from './helpers';
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SameKeys<A, B> = Same<keyof A, keyof B>;
export const helperNames: SameKeys<Api.Helpers, Engine.Helpers> = true;
export const helperTypes: Same<Api.Helpers, Engine.Helpers> = true;
export const extractors: Same<Api.Extractor, Engine.Extractor> = true;
`;

test('rlhf-rewards.d.ts declares exactly the engine\'s helpers and extractors', () => {
  assert.deepEqual(typeErrors(fs.readFileSync(path.join(ROOT, 'media/rlhf-rewards.d.ts'), 'utf8'), CHECK), []);
});

test('a declaration that drifts from the engine is caught', () => {
  const dts = fs.readFileSync(path.join(ROOT, 'media/rlhf-rewards.d.ts'), 'utf8');
  const missing = dts.replace(/\n\s*\/\*\*[^\n]*\*\/\n\s*tokenCount\(text: string\): number;/, '');
  const retyped = dts.replace('lastNumber(text: string): string | null;', 'lastNumber(text: string): number | null;');
  const extractor = dts.replace("'last_number' | 'boxed' | 'full'", "'last_number' | 'boxed'");
  for (const [what, drifted] of [['a helper left out', missing], ['a helper retyped', retyped], ['an extractor left out', extractor]]) {
    assert.notEqual(drifted, dts, `the test could not make ${what}`);
    assert.ok(typeErrors(drifted, CHECK).length > 0, `${what} was not caught`);
  }
});
