"""bench/gpu/run.sh's settings in one place: the per-engine trainer config, and TRL's matching GRPOConfig.

    variant.py BASE.yaml OUT.yaml ENGINE TINY     a trainer config with rollout.engine ENGINE (TINY 1: the CPU dry run)
    variant.py --trl-steps TINY | --trl-settings TINY
GPU: 64 prompts x 4 samples = 256 per step, 64 new tokens, 2 optimizer steps of 128 per rollout, micro-batches of 16,
KL to the reference (coef 0.01). TRL gets the same: per-device 16 x 8 accumulation = 128 per optimizer step,
a generation of 256 every 2 optimizer steps (steps_per_generation 16), beta 0.01, bf16 autocast over fp32 weights.
"""
import json
import sys

import yaml

STEPS = 5  # per engine: step 1 (warm-up, compile reported as compile_s) + 4 measured
TINY = {"device": "cpu", "rollout": {"batch_size": 4, "n_samples_per_prompt": 2, "max_new_tokens": 8, "micro_batch_size": 8},
        "train": {"batch_size": 4, "micro_batch_size": 2, "max_steps": 2}}


def trl_settings(tiny: bool) -> dict:
    if tiny:  # 4 prompts x 2 samples per generation, 2 optimizer steps of 4
        return {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "steps_per_generation": 4,
                "num_generations": 2, "max_completion_length": 8, "beta": 0.01}
    return {"per_device_train_batch_size": 16, "gradient_accumulation_steps": 8, "steps_per_generation": 16,
            "num_generations": 4, "max_completion_length": 64, "beta": 0.01, "use_cpu": False, "bf16": True}


def main(argv):
    if argv[0] == "--trl-steps":  # optimizer steps: 2 per generation, as many generations as trainer steps
        print(4 if argv[1] == "1" else 2 * STEPS)
        return
    if argv[0] == "--trl-settings":
        print(json.dumps(trl_settings(argv[1] == "1")))
        return
    base, out, engine, tiny = argv[0], argv[1], argv[2], argv[3] == "1"
    with open(base) as f:
        cfg = yaml.safe_load(f)
    cfg["rollout"]["engine"] = engine
    cfg["train"]["max_steps"] = STEPS
    if tiny:
        for k, v in TINY.items():
            cfg[k] = {**cfg[k], **v} if isinstance(v, dict) else v
    with open(out, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


if __name__ == "__main__":
    main(sys.argv[1:])
