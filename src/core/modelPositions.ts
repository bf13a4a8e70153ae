// A model's context length from its config.json: one list of keys for every TypeScript reader (presets, the
// ONNX playground), in the trainer's order (trainer/rlhf_trainer/preflight.py POSITION_KEYS; test/unit/facts.test.ts
// keeps the two equal).

/** config.json keys that give a model's positions, in preflight.py's order. */
export const POSITION_KEYS = ['max_position_embeddings', 'n_positions', 'max_sequence_length', 'seq_length', 'n_ctx'] as const;

/** The positions a parsed config.json names and the key they come from; a multimodal config's language model
 * (transformers' get_text_config: `text_config`) first. Undefined when it names none. */
export function positionsOf(conf: Record<string, unknown>): { positions: number; key: string } | undefined {
  for (const c of [conf.text_config, conf]) {
    if (!c || typeof c !== 'object') continue;
    for (const key of POSITION_KEYS) {
      const v = (c as Record<string, unknown>)[key];
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) return { positions: v, key };
    }
  }
  return undefined;
}
