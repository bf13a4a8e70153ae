"""The run folder's names, in one place (no imports: the Ray mirror and the launch helpers read them without
torch). src/core/run/names.ts is their TypeScript twin; test/unit/runFolder.test.ts keeps the two equal and
trainer/tests/test_facts.py finds a name written as a literal anywhere else in the trainer. The other checkpoint
markers are checkpoint.py's (KEEP, TMP_PREFIX), the request folder control.py's (CONTROL_DIR), a
checkpoint's resume record resume.py's (RESUME_FILE)."""

# what the trainer writes in a run folder (runfolder.py)
STATUS_FILE = "status.json"
EVENTS_FILE = "events.jsonl"
SAMPLES_FILE = "samples.jsonl"
EVAL_SAMPLES_FILE = "eval_samples.jsonl"
CONFIG_FILE = "config.yaml"
HEARTBEAT_FILE = "heartbeat.json"
CHECKPOINTS_DIR = "checkpoints"
TRAINER_LOCK_FILE = ".trainer.lock"
SPACE_RESERVE_FILE = ".space-reserve"

# a checkpoint folder's completion marker (checkpoint.py writes it last; KEEP and TMP_PREFIX are checkpoint.py's)
COMPLETE = "COMPLETE"

# what the launcher points the trainer's output at (and __main__ tees into when it did not)
TRAINER_LOG = "trainer.log"
