// The `ray` target: a Ray job submitted through the Ray Jobs REST API (the Ray half of issue 21 fills this in).
import type { LaunchTarget } from './target';

/** rlhf train --ray ADDRESS [--workers N] [--gpus-per-worker G]; rlhf.ray.* settings. */
export interface RayOptions {
  /** The Ray dashboard address, e.g. http://127.0.0.1:8265. */
  address: string;
  workers?: number;
  gpusPerWorker?: number;
}

const notYet = (): Promise<never> => Promise.reject(new Error('the ray target is not implemented yet'));

export const rayTarget: LaunchTarget = {
  kind: 'ray',
  start: notYet,
  stop: notYet,
  liveness: () => Promise.resolve({ alive: false }),
  logs: (runDir) => [`${runDir}/trainer.log`],
  reattach: () => Promise.resolve(undefined),
};
