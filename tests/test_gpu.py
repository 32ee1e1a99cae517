"""CUDA path (skipped without a GPU): autocast inference agrees with fp32 CPU inference."""

import numpy as np
import pytest
import torch
from conftest import make_clip

from srnet import InferenceConfig, ModelConfig, Predictor, SRNet

pytestmark = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
def test_cuda_autocast_matches_cpu_masks():
    torch.manual_seed(0)
    model = SRNet(ModelConfig.tiny()).eval()
    frames, masks = make_clip(6)
    results = {}
    for device in ("cpu", "cuda"):
        predictor = Predictor(model, InferenceConfig(short_side=None), device)
        session = predictor.new_session()
        predictor.step(session, 0, frames[0], masks[0])
        results[device] = [o.mask for o in predictor.propagate(session, frames, 0)]
        model = model.cpu()
    agree = np.mean([np.mean(a == b) for a, b in zip(results["cpu"], results["cuda"])])
    assert agree > 0.98


def test_asking_for_cuda_without_one_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="no CUDA device"):
        Predictor(SRNet(ModelConfig.tiny()), device="cuda")
