// The one loader of schemas/*.json (an install's schemas folder: InstallLayout.schemasDir). Each schema is read
// and parsed once per folder; a schema that cannot be read says which file and what to do.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The policy-training config's schema (config.yaml of a run, a workspace's training config). */
export const POLICY_SCHEMA_FILE = 'config.schema.json';
/** The reward-model training config's schema (`kind: reward_model`). */
export const RM_SCHEMA_FILE = 'reward-model-config.schema.json';

export type SchemaName = typeof POLICY_SCHEMA_FILE | typeof RM_SCHEMA_FILE | 'events.schema.json' | 'status.schema.json'
  | 'sample.schema.json' | 'eval-sample.schema.json' | 'reward-worker.schema.json';

export class SchemaError extends Error {}

const cache = new Map<string, Record<string, unknown>>();

/** schemas/NAME of the install whose schemas folder is `schemasDir`, parsed (read once; callers must not modify it). */
export function loadSchema<T = Record<string, unknown>>(name: SchemaName, schemasDir: string): T {
  const file = path.resolve(schemasDir, name);
  let s = cache.get(file);
  if (!s) {
    try { s = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>; } catch (e) {
      throw new SchemaError(`cannot read the schema ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; ` +
        'the RLHF Studio install is incomplete: reinstall the extension (or run npm run build in a checkout)');
    }
    cache.set(file, s);
  }
  return s as T;
}
