"""The trainer's shape: one mixed-precision helper, the Experience batch, the typed config view."""

import pytest
import torch

from rlhf_trainer.trainer import mixed_precision


def test_mixed_precision_is_bf16_on_cuda_only():
    a = torch.ones(4, 4)
    with mixed_precision(True):
        assert (a @ a).dtype == torch.float32  # CPU training stays float32 even when asked
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the bf16 half of the helper needs one")
    c = a.cuda()
    with mixed_precision(True):
        assert (c @ c).dtype == torch.bfloat16
    with mixed_precision(False):
        assert (c @ c).dtype == torch.float32
