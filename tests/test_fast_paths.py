"""The speed rewrites compute exactly what the straightforward formulation computes.

Some checks here run the project's own helpers on both sides (e.g. prepared vs raw memory, the
fused trunk vs its two-op fallback): consistency checks. The comparisons against references that
share none of the helpers are in test_references.py (and test_gpu.py for CUDA)."""

import contextlib
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from srnet.model.backbones import SameConv2d


def _tf_same_reference(conv: SameConv2d, x: torch.Tensor) -> torch.Tensor:
    """TensorFlow "SAME": pad total//2 before and the rest after, then a valid conv."""
    pads = []
    for size, k, s in zip(x.shape[-2:], conv.kernel_size, conv.stride, strict=True):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    padded = F.pad(x, [*pads[1], *pads[0]])
    return F.conv2d(padded, conv.weight, conv.bias, conv.stride, 0, 1, conv.groups)


@pytest.mark.parametrize("kernel,stride", [(3, 2), (5, 2), (3, 1), (5, 1)])
@pytest.mark.parametrize("size", [(16, 30), (17, 31), (15, 16)])
def test_same_conv_matches_tensorflow_padding(kernel, stride, size):
    torch.manual_seed(0)
    conv = SameConv2d(4, 4, kernel, stride, groups=4, bias=True)
    x = torch.randn(2, 4, *size)
    out = conv(x)
    expected = _tf_same_reference(conv, x)
    assert out.shape == expected.shape == (2, 4, math.ceil(size[0] / stride),
                                           math.ceil(size[1] / stride))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [(6, 9), (1, 5), (30, 54)])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_cpu_deformable_conv_matches_torchvision(size, layout):
    from torchvision.ops import deform_conv2d

    from srnet.model.fam import modulated_deform_conv3x3

    torch.manual_seed(1)
    x = torch.randn(2, 5, *size).contiguous(memory_format=layout).requires_grad_()
    offset = (3 * torch.randn(2, 18, *size)).requires_grad_()  # reaches past the borders too
    mask = torch.rand(2, 9, *size, requires_grad=True)
    weight = torch.randn(7, 5, 3, 3, requires_grad=True)
    bias = torch.randn(7, requires_grad=True)
    inputs = (x, offset, weight, bias, mask)
    ours = modulated_deform_conv3x3(x, offset, weight, bias, padding=1, mask=mask)
    ref = deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)
    grads = torch.autograd.grad(ours.square().sum(), inputs)
    ref_grads = torch.autograd.grad(ref.square().sum(), inputs)
    for name, got, want in zip(("x", "offset", "weight", "bias", "mask"), grads, ref_grads,
                               strict=True):
        torch.testing.assert_close(got, want, atol=1e-3, rtol=1e-3, msg=name)


@pytest.mark.parametrize("num", [50, 1621, 4000])
def test_two_pass_topk_returns_exactly_the_k_largest(num):
    from srnet.model.memory_ops import topk_last_dim

    torch.manual_seed(2)
    scores = torch.randn(3, 17, num)
    scores[0, 0, -3:] = 100.0  # winners in the tail that no group covers
    scores[1, 2, :] = 0.5  # all tied
    values, indices = topk_last_dim(scores, 20)
    expected = torch.topk(scores, 20, dim=-1).values
    torch.testing.assert_close(values, expected, atol=0, rtol=0)
    torch.testing.assert_close(scores.gather(-1, indices), values, atol=0, rtol=0)
    assert all(len(set(row.tolist())) == 20 for row in indices.flatten(0, 1))  # no duplicates


@pytest.mark.parametrize("size", [(1, 1), (2, 7), (9, 12)])
def test_ptm_activation_equals_the_conv_of_the_concatenation(size):
    from srnet.config import PTMConfig
    from srnet.model.ptm import PTMLayer

    torch.manual_seed(3)
    layer = PTMLayer(16, PTMConfig(ffn_dim=32))
    proto, pixels = torch.randn(3, 16), torch.randn(3, 16, *size)
    expanded = proto[:, :, None, None].expand(-1, -1, *size)
    expected = layer.activation(torch.cat([expanded, pixels], dim=1))
    torch.testing.assert_close(layer.activate(proto, pixels), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
@pytest.mark.parametrize("opt_out,expected", [("0", "True"), ("1", "False")])
def test_cpu_predictor_tunes_glibc_malloc_unless_opted_out(opt_out, expected):
    code = ("import torch\nfrom srnet.config import ModelConfig\nfrom srnet.model import SRNet\n"
            "from srnet.inference import Predictor\nfrom srnet.inference import cpu_allocator\n"
            "Predictor(SRNet(ModelConfig.tiny()), device='cpu')\nprint(cpu_allocator._applied)")
    env = {**os.environ, "SRNET_KEEP_MALLOC": opt_out}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_prepared_memory_segments_exactly_like_raw_memory():
    from srnet.config import ModelConfig
    from srnet.model import MemoryInputs, SRNet

    torch.manual_seed(4)
    model = SRNet(ModelConfig.tiny()).eval()
    frames = torch.rand(3, 3, 64, 96)
    masks = (torch.rand(1, 2, 64, 96) > 0.5).float()
    with torch.no_grad():
        feats = [model.encode_frame(frames[i:i + 1]) for i in range(3)]
        values = [model.encode_value(frames[i:i + 1], feats[i], masks) for i in range(2)]
        memory = MemoryInputs(
            torch.cat([f.key.flatten(2) for f in feats[:2]], dim=2),  # [1, C_k, 2·h·w]
            torch.cat([v.flatten(3) for v in values], dim=3),  # [1, 2, C_v, 2·h·w]
            feats[1].key, values[1])
        raw = model.segment(feats[2], memory, top_k=5)
        prepared = model.segment(feats[2], model.prepare_memory(memory), top_k=5)
    assert memory.key_aug is None  # prepare_memory returns a new object
    torch.testing.assert_close(prepared.prob, raw.prob, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(raw.prob[:, 1], raw.prob[:, 2])  # two objects really differ


def test_engine_under_reduced_precision_autocast_reads_memory_like_fp32(monkeypatch):
    """The CUDA path runs under autocast; CPU bf16 autocast exercises the same mixed dtypes
    (prepared memory, two-pass top-k, PTM split conv, grid_sample DCN) without a GPU. Its
    memory reads must match an fp32 run's (keys scaled up so that the reads are not uniform,
    which they are with random weights; the masks of a random network hardly depend on them)."""
    import numpy as np

    from srnet.config import InferenceConfig, ModelConfig
    from srnet.inference import Predictor
    from srnet.model import SRNet

    torch.manual_seed(5)
    model = SRNet(ModelConfig.tiny()).eval()
    with torch.no_grad():
        model.key_encoder.key_proj.weight.mul_(5e5)
    predictor = Predictor(model, InferenceConfig(short_side=None), "cpu")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 96, 3), dtype=np.uint8) for _ in range(7)]
    mask = np.zeros((64, 96), np.uint8)
    mask[10:30, 10:40], mask[35:60, 50:90] = 1, 2
    reads: list[torch.Tensor] = []
    real_read = SRNet._read_memory

    def recorded(memory, query_key, top_k):
        out, weights, indices = real_read(memory, query_key, top_k)
        reads.append(out.float())  # [1, K, C_v, M]
        return out, weights, indices

    monkeypatch.setattr(SRNet, "_read_memory", staticmethod(recorded))
    runs = {}
    for name, context in (("fp32", contextlib.nullcontext()),
                          ("bf16", torch.autocast("cpu", dtype=torch.bfloat16))):
        session, reads[:] = predictor.new_session(), []
        with context:
            predictor.step(session, 0, frames[0], mask)
            outs = list(predictor.propagate(session, frames, 0, return_visuals=True))
        runs[name] = (outs, list(reads))
    outs, bf16_reads = runs["bf16"]
    assert len(outs) == 7 and np.array_equal(outs[0].mask, mask)
    for out in outs[1:]:
        assert np.isfinite(out.prob).all() and np.allclose(out.prob.sum(axis=0), 1, atol=1e-2)
        assert out.visuals is not None
    assert len(bf16_reads) == len(runs["fp32"][1]) >= 6
    for got, want in zip(bf16_reads, runs["fp32"][1], strict=True):
        error = float((got - want).abs().mean() / want.abs().mean())
        assert error < 0.03, error  # measured 0.002; reading the k least similar: 0.15


def test_fused_conv_relu6_trunk_equals_the_two_op_trunk(monkeypatch):
    import srnet.model.backbones as backbones

    torch.manual_seed(6)
    trunk = backbones.EfficientNetLite0().eval()
    for module in trunk.modules():  # non-trivial BN statistics, so the fold matters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    image = torch.rand(1, 3, 66, 98).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        fused = trunk.forward_features(image)
        assert backbones._fusion_works, "this torch build should offer the fused oneDNN op"
        monkeypatch.setattr(backbones, "_fusion_works", False)
        plain = trunk.forward_features(image)
    for got, want in zip(fused, plain, strict=True):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_plain_ops_of_an_exporter_stay_on_its_own_thread():
    """The ONNX backend exports (under `plain_ops()`) when a new input size arrives; another
    thread's forward meanwhile must keep the folded BN path, not switch to the plain ops."""
    import threading

    import srnet.model.backbones as backbones

    conv, bn = torch.nn.Conv2d(3, 4, 3, padding=1).eval(), torch.nn.BatchNorm2d(4).eval()
    seen: dict[str, bool] = {}

    def other_thread() -> None:
        with torch.no_grad():
            backbones.conv_bn(conv, bn, torch.rand(1, 3, 8, 8))
        seen["folded"] = getattr(conv, "_folded", None) is not None

    traced = torch.nn.Conv2d(3, 4, 3).eval()
    with backbones.plain_ops():
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        with torch.no_grad():  # this thread, inside the exporter's context: plain ops
            backbones.conv_bn(traced, bn, torch.rand(1, 3, 8, 8))
    assert seen["folded"], "another thread's forward took the exporter's plain ops"
    assert getattr(traced, "_folded", None) is None, "the exporter's own trace was folded"
