// Builds: dist/extension.js (extension host), dist/cli.js (rlhf), the pages of webview/<page>/main.ts
// (dist/webview.js: the dashboard, dist/samples.js, dist/playground.js),
// and with --tests / --bench the tests (both tiers) and benchmarks into out/.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const args = new Set(process.argv.slice(2));
const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'node20' };

// The rule sandbox runs inside a vm context, so it travels as source text inlined into the evaluator.
const sandbox = await esbuild.build({ ...common, sourcemap: false, write: false, entryPoints: ['src/core/rewards/sandbox.ts'], platform: 'neutral', format: 'iife', globalName: 'RLHFSandbox', target: 'es2022' });

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', external: ['vscode', 'esbuild'] }),
  esbuild.build({ ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', external: ['esbuild'], banner: { js: '#!/usr/bin/env node' } }),
  esbuild.build({ ...common, entryPoints: ['src/reward-worker.ts'], outfile: 'dist/reward-worker.js', platform: 'node', format: 'cjs', external: ['esbuild'] }),
  esbuild.build({ ...common, entryPoints: ['src/core/rewards/evalWorker.ts'], outfile: 'dist/reward-eval-worker.js', platform: 'node', format: 'cjs',
    banner: { js: "'use strict';" }, define: { RLHF_SANDBOX_SOURCE: JSON.stringify(sandbox.outputFiles[0].text) } }),
  esbuild.build({ ...common, entryPoints: ['webview/dashboard/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022', minify: true }),
  esbuild.build({ ...common, entryPoints: ['webview/samples/main.ts'], outfile: 'dist/samples.js', platform: 'browser', format: 'iife', target: 'es2022', minify: true }),
  esbuild.build({ ...common, entryPoints: ['webview/playground/main.ts'], outfile: 'dist/playground.js', platform: 'browser', format: 'iife', target: 'es2022', minify: true }),
  esbuild.build({ ...common, entryPoints: ['src/core/onnx/worker.ts'], outfile: 'dist/onnx-worker.js', platform: 'node', format: 'cjs' }),
]);
fs.copyFileSync('node_modules/uplot/dist/uPlot.min.css', 'dist/uPlot.min.css');
fs.chmodSync('dist/cli.js', 0o755);

if (args.has('--tests')) {
  // the tiers: test/unit -> out/test (no trainer, no browser), test/integration -> out/test-integration (real
  // trainer, Python, browser); both two folders below the root, as the tests' ROOT = __dirname/../.. expects
  const tiers = [['test/unit', 'out/test'], ['test/integration', 'out/test-integration']];
  await Promise.all(tiers.map(([dir, outdir]) => {
    fs.rmSync(outdir, { recursive: true, force: true });
    const entries = fs.readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => path.join(dir, f));
    return esbuild.build({ ...common, entryPoints: entries, outdir, platform: 'node', format: 'cjs', external: ['vscode', 'esbuild'] });
  }));
}
if (args.has('--bench')) {
  await esbuild.build({ ...common, entryPoints: ['bench/bench.ts'], outfile: 'out/bench/bench.js', platform: 'node', format: 'cjs', external: ['playwright-core', 'esbuild'] });
  await esbuild.build({ ...common, entryPoints: ['bench/samples.ts'], outfile: 'out/bench/samples.js', platform: 'node', format: 'cjs', external: ['playwright-core', 'esbuild'] });
  await esbuild.build({ ...common, entryPoints: ['bench/onnx.ts'], outfile: 'out/bench/onnx.js', platform: 'node', format: 'cjs', external: ['esbuild'] });
  await esbuild.build({ ...common, entryPoints: ['bench/latency/latency.ts'], outfile: 'out/bench/latency.js', platform: 'node', format: 'cjs', external: ['esbuild'] });
}
