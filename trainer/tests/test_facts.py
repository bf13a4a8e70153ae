"""One list per fact, Python side: the trainer's estimator lists are the config schema's enum."""

from rlhf_trainer.algorithms import ESTIMATORS, GROUPED_ESTIMATORS, WHITENED_ESTIMATORS
from rlhf_trainer.config import load_schema


def test_estimators_are_the_schema_enum():
    enum = load_schema("config.schema.json")["properties"]["algorithm"]["properties"]["estimator"]["enum"]
    assert sorted(ESTIMATORS) == sorted(enum)
    assert set(GROUPED_ESTIMATORS) <= set(ESTIMATORS) and set(WHITENED_ESTIMATORS) <= set(ESTIMATORS)
