// npm run package:all — one .vsix per platform target, each carrying only that platform's native
// binaries: onnxruntime-node ships every platform's binding under bin/napi-v*/<platform>/<arch>/ in
// one npm tarball (~290 MB unpacked), and esbuild's binary is a per-platform package. For each target
// this writes out/vscodeignore.<target> (.vscodeignore with the native paths swapped for the
// target's, and CUDA/TensorRT provider libraries excluded whatever was put beside the binding) and
// runs `vsce package --target T --ignoreFile` on it. Only the npm registry is reached (another platform's
// esbuild binary, by `npm pack`); onnxruntime-node's CUDA download stays off (ONNXRUNTIME_NODE_INSTALL=skip).
//
//   node scripts/package-targets.mjs [TARGET ...]     (default: linux-x64 darwin-arm64 win32-x64)
// Prints each package's size and native files; exits 1 when linux-x64 is 25 MB or more.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const TARGETS = ['linux-x64', 'darwin-arm64', 'win32-x64'];
const LIMITS = { 'linux-x64': 25 * 1024 * 1024 };
const ORT_BIN = 'node_modules/onnxruntime-node/bin';
// GPU provider libraries are found on the user's machine, never shipped (docs/onnx.md). macOS: the
// tarball holds libonnxruntime.1.dylib and an identical libonnxruntime.1.30.0.dylib (a symlink once);
// the binding loads @rpath/libonnxruntime.1.dylib, so the versioned copy is dead weight.
const NEVER = /cuda|tensorrt|providers_shared|libonnxruntime\.\d+\.\d+\.\d+\.dylib$/i;

/**
 * The base .vscodeignore with every native path re-pointed at `target`'s. vsce lets any `!pattern`
 * win over every exclusion whatever the order, so the target's binaries are listed file by file
 * (what NEVER matches is simply not listed) instead of a folder glob plus exclusions.
 */
export function ignoreFileFor(base, target) {
  const [platform, arch] = target.split('-');
  const lines = base.split('\n').filter((l) => l !== '' && !l.startsWith(`!${ORT_BIN}/`) && !l.startsWith('!node_modules/@esbuild/'));
  const natives = fs.readdirSync(ORT_BIN).filter((d) => d.startsWith('napi-v')).flatMap((d) => {
    const dir = `${ORT_BIN}/${d}/${platform}/${arch}`;
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => !NEVER.test(f)).map((f) => `!${dir}/${f}`) : [];
  });
  return [...lines, ...natives, `!node_modules/@esbuild/${target}/**`].join('\n') + '\n';
}

function nativeFiles(vsix) {
  // vsce's own dependency reads the zip: no unzip binary needed
  const out = execFileSync(process.execPath, ['-e', `
    const yauzl = require('yauzl');
    yauzl.open(process.argv[1], { lazyEntries: true }, (e, zip) => {
      if (e) throw e;
      const names = [];
      zip.on('entry', (x) => { names.push(x.fileName); zip.readEntry(); });
      zip.on('end', () => console.log(JSON.stringify(names)));
      zip.readEntry();
    });`, vsix], { encoding: 'utf8' });
  return JSON.parse(out).filter((n) => /onnxruntime-node\/bin\/|@esbuild\//.test(n) && !n.endsWith('/'));
}

/**
 * esbuild's binary for `target` (it compiles TypeScript rule modules in the extension): npm installs
 * only the machine's own, so another platform's package is fetched from the npm registry (`npm pack`,
 * the version esbuild pins) into node_modules for the packaging, and removed after. Returns a cleanup.
 */
function withEsbuildFor(target) {
  const dir = path.join('node_modules', '@esbuild', target);
  if (fs.existsSync(dir)) return () => undefined;
  const version = JSON.parse(fs.readFileSync('node_modules/esbuild/package.json', 'utf8')).optionalDependencies?.[`@esbuild/${target}`];
  if (!version) return () => undefined;
  const stage = fs.mkdtempSync(path.join('out', `esbuild-${target}-`));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const tgz = execFileSync(npm, ['pack', `@esbuild/${target}@${version}`, '--pack-destination', stage, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(stage, tgz), '-C', dir, '--strip-components=1']);
  fs.rmSync(stage, { recursive: true, force: true });
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

export function packageTarget(target, base = fs.readFileSync('.vscodeignore', 'utf8')) {
  fs.mkdirSync('out', { recursive: true });
  const cleanup = withEsbuildFor(target);
  try { return packageWith(target, base); } finally { cleanup(); }
}

function packageWith(target, base) {
  const ignoreFile = path.join('out', `vscodeignore.${target}`);
  fs.writeFileSync(ignoreFile, ignoreFileFor(base, target));
  const vsix = path.join('out', `rlhf-studio-${target}.vsix`);
  const vsce = path.join('node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
  execFileSync(vsce, ['package', '--target', target, '--ignoreFile', ignoreFile, '--allow-missing-repository', '--skip-license',
    '--no-rewrite-relative-links', '-o', vsix], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  const files = nativeFiles(vsix);
  const problems = [];
  if (!files.some((f) => f.includes(`/${target.replace('-', '/')}/`) && f.endsWith('onnxruntime_binding.node'))) problems.push('no onnxruntime binding for the target');
  const foreign = files.filter((f) => f.includes('onnxruntime-node/bin/') && !f.includes(`/${target.replace('-', '/')}/`));
  if (foreign.length) problems.push(`other platforms' binaries: ${foreign.join(', ')}`);
  if (files.some((f) => /cuda|tensorrt/i.test(f))) problems.push('CUDA/TensorRT libraries');
  // esbuild compiles TypeScript rule modules: the target's binary must be in the package
  if (!files.some((f) => f.includes(`@esbuild/${target}/`))) problems.push(`no @esbuild/${target} in the package: TypeScript rule modules will not compile on ${target}`);
  return { target, vsix, bytes: fs.statSync(vsix).size, files, problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  let failed = false;
  for (const target of process.argv.slice(2).length ? process.argv.slice(2) : TARGETS) {
    const r = packageTarget(target);
    const mb = (r.bytes / 1024 / 1024).toFixed(1);
    const over = LIMITS[target] !== undefined && r.bytes >= LIMITS[target];
    failed ||= over;
    console.log(`${target}: ${r.vsix} ${mb} MB${over ? ` (over the ${LIMITS[target] / 1024 / 1024} MB limit)` : ''}; native: ${r.files.map((f) => path.basename(f)).join(' ')}`);
    for (const p of r.problems) console.log(`  warning: ${p}`);
  }
  process.exit(failed ? 1 : 0);
}
