"""CUDA path (skipped without a GPU): autocast and fp32 CUDA inference against fp32 CPU
inference, scored per object (not as a global pixel fraction, which a small object could fail
entirely while passing)."""

import numpy as np
import pytest
import torch
from conftest import make_clip
from test_references import per_object_iou, real_two_object_clip, shipped_masks

from srnet import InferenceConfig, ModelConfig, Predictor, SRNet

pytestmark = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
@pytest.mark.parametrize("amp,floor", [(True, 0.97), (False, 0.99)])
def test_cuda_matches_cpu_fp32_per_object_with_the_shipped_model(amp, floor):
    """Real two-object frames (holdout car-turn hosting bear), the shipped checkpoint: CUDA
    autocast (bf16/fp16) and CUDA fp32 each agree with the fp32 CPU reference per object."""
    frames, first = real_two_object_clip()
    cpu = shipped_masks(InferenceConfig(short_side=240), "cpu", frames, first)
    cuda = shipped_masks(InferenceConfig(short_side=240, amp=amp), "cuda", frames, first)
    scores = per_object_iou(cuda, cpu)
    assert set(scores) == {1, 2} and min(scores.values()) >= floor, scores


@needs_cuda
def test_cuda_fp32_probabilities_match_the_cpu():
    """Random tiny weights: without autocast the probabilities themselves agree (TF32 allowed)."""
    torch.manual_seed(0)
    model = SRNet(ModelConfig.tiny()).eval()
    frames, masks = make_clip(6)
    results = {}
    for device in ("cpu", "cuda"):
        predictor = Predictor(model, InferenceConfig(short_side=None, amp=False), device)
        session = predictor.new_session()
        predictor.step(session, 0, frames[0], masks[0])
        results[device] = [o.prob for o in predictor.propagate(session, frames, 0)]
        model = model.cpu()
    for got, want in zip(results["cuda"], results["cpu"], strict=True):
        np.testing.assert_allclose(got, want, atol=2e-2, rtol=0)


@needs_cuda
def test_cuda_mirror_averaging_matches_the_cpu():
    """The mirror twin on the GPU (autocast): the shipped checkpoint's masks agree with the fp32
    CPU run of the same option per object, as the plain path does."""
    frames, first = real_two_object_clip()
    config = InferenceConfig(short_side=240, mirror_average=True)
    cpu = shipped_masks(config, "cpu", frames, first)
    cuda = shipped_masks(config, "cuda", frames, first)
    scores = per_object_iou(cuda, cpu)
    assert set(scores) == {1, 2} and min(scores.values()) >= 0.97, scores


@needs_cuda
def test_cuda_online_adaptation_matches_the_cpu():
    """Online adaptation fine-tuned on the GPU (TF32 convolutions, then autocast inference):
    after 5 steps the masks agree with the fp32 CPU run of the same option per object."""
    frames, first = real_two_object_clip()
    config = InferenceConfig(short_side=240, adapt_steps=5)
    cpu = shipped_masks(config, "cpu", frames, first)
    cuda = shipped_masks(config, "cuda", frames, first)
    scores = per_object_iou(cuda, cpu)
    assert set(scores) == {1, 2} and min(scores.values()) >= 0.95, scores


@needs_cuda
def test_cuda_session_survives_the_zerogpu_host_form():
    """ZeroGPU's path on a real GPU: after frame 3 the session goes to the compact host form
    (numpy fp16) and back to CUDA, as between two `spaces.GPU` calls; the rest of the pass
    agrees per object with the pass that never left the GPU."""
    from srnet import load_predictor

    frames, first = real_two_object_clip()
    predictor, _ = load_predictor(device="cuda", config=InferenceConfig(short_side=240))
    straight, moved = predictor.new_session(), predictor.new_session()
    for session in (straight, moved):
        predictor.step(session, 0, frames[0], first)
        for t in range(1, 4):
            predictor.step(session, t, frames[t])
    moved = moved.to_host().to_device("cuda")
    want = [predictor.step(straight, t, frames[t]).mask for t in range(4, len(frames))]
    got = [predictor.step(moved, t, frames[t]).mask for t in range(4, len(frames))]
    scores = per_object_iou(got, want)
    assert set(scores) == {1, 2} and min(scores.values()) >= 0.97, scores


def test_asking_for_cuda_without_one_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="no CUDA device"):
        Predictor(SRNet(ModelConfig.tiny()), device="cuda")


@needs_cuda
def test_cuda_kernels_match_the_cpu_rewrites():
    """On the GPU FAM uses torchvision's DCN and the two-pass top-k runs on CUDA tensors."""
    from torchvision.ops import deform_conv2d

    from srnet.model.fam import modulated_deform_conv3x3
    from srnet.model.memory_ops import topk_last_dim

    torch.manual_seed(0)
    x, weight, bias = torch.randn(2, 8, 30, 54), torch.randn(8, 8, 3, 3), torch.randn(8)
    offset, mask = 3 * torch.randn(2, 18, 30, 54), torch.rand(2, 9, 30, 54)
    cpu = modulated_deform_conv3x3(x, offset, weight, bias, padding=1, mask=mask)
    cuda = deform_conv2d(*(t.cuda() for t in (x, offset, weight, bias)), padding=1,
                         mask=mask.cuda())
    torch.testing.assert_close(cuda.cpu(), cpu, atol=1e-4, rtol=1e-4)
    scores = torch.randn(4, 64, 17820, device="cuda")
    values, indices = topk_last_dim(scores, 20)
    torch.testing.assert_close(values, torch.topk(scores, 20, dim=-1).values)
    torch.testing.assert_close(scores.gather(-1, indices), values)
