// onnxruntime-node, loaded on first use from node_modules. It is a native addon (a .node binding plus
// libonnxruntime.so), which a bundle cannot contain: the name is kept out of esbuild's static
// analysis so every bundle (extension, CLI, tests) leaves it to Node's resolver at run time, and an
// extension activation that never opens the playground never loads the 20+ MB library.
import type * as Ort from 'onnxruntime-node';

export type { Ort };
const NATIVE_PACKAGE = 'onnxruntime-node';
let loaded: typeof Ort | undefined;

export function ort(): typeof Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: a native addon resolved at run time
  loaded ??= require(NATIVE_PACKAGE) as typeof Ort;
  return loaded;
}
