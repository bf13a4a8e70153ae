// A run folder's config.yaml: the resolved config the run trains with (the launcher writes it, the trainer
// rewrites it with absolute paths; runfolder.py write_config), read through the run folder's guard.
import * as path from 'node:path';
import YAML from 'yaml';
import type { ConfigSchema, RewardModelConfigSchema } from '../schemaTypes';
import { readGuarded } from './files';
import { CONFIG_FILE } from './names';

type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * What a run's config.yaml holds, as far as it goes: a policy run's config (schemas/config.schema.json) or a
 * reward-model run's (`kind: reward_model`). Every field may be missing or of another type (a folder can come
 * from anywhere, an older version wrote it): readers check the values they use.
 */
export type RunConfig = DeepPartial<ConfigSchema> & Omit<DeepPartial<RewardModelConfigSchema>, keyof ConfigSchema> & { kind?: string };

/** The path of a run's config.yaml. */
export const runConfigFile = (runDir: string): string => path.join(runDir, CONFIG_FILE);

/** config.yaml's text; undefined when the run has none. RunFileError when the guard refuses it (a link, a FIFO). */
export function readRunConfigText(runDir: string): string | undefined {
  return readGuarded(runConfigFile(runDir), 'config');
}

/**
 * config.yaml parsed; undefined when the run has none, or it is not YAML, or not a mapping. RunFileError when the
 * guard refuses the file.
 */
export function readRunConfig(runDir: string): RunConfig | undefined {
  const text = readRunConfigText(runDir);
  if (text === undefined) return undefined;
  let cfg: unknown;
  try { cfg = YAML.parse(text); } catch { return undefined; }
  return typeof cfg === 'object' && cfg !== null && !Array.isArray(cfg) ? cfg : undefined;
}
