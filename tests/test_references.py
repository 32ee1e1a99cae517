"""Each fast path against a reference that shares none of its helpers (issue #14 item 2):

- the Predictor's prepared, version-keyed memory cache and CPU memory read vs an uncached run
  whose eq 1 read is written here (cdist → top-k → softmax → weighted sum of the raw values);
- the trunk's folded BN + fused conv/ReLU6 vs plain convolutions (explicit TF "SAME" padding)
  followed by the BatchNorm2d modules in eval mode;
- FAM's CPU deformable-conv rewrite inside the module vs `torchvision.ops.deform_conv2d`;
- CPU bf16 autocast vs fp32 as per-object IoU on real frames with the shipped model.
(The CUDA comparisons are in test_gpu.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import DAVIS_ROOT, make_clip
from torch import Tensor

from srnet import InferenceConfig, ModelConfig, Predictor, SRNet
from srnet.model import MemoryInputs


# ----------------------------------------------------------------------------- memory read
def _reference_read(memory: MemoryInputs, query_key: Tensor, top_k: int | None
                    ) -> tuple[Tensor, Tensor, Tensor]:
    """Eq 1 from its definition: affinity −‖k_i − q_j‖²/√C_k, softmax over each query's top-k
    memory entries, weighted sum of the raw (object-major) memory values."""
    keys, values = memory.global_key.float(), memory.global_value.float()  # [1,C,N], [1,K,C_v,N]
    affinity = -torch.cdist(query_key.float().transpose(1, 2), keys.transpose(1, 2)) ** 2
    affinity = affinity / math.sqrt(keys.shape[1])  # [1, M, N]
    top = affinity.topk(min(top_k, keys.shape[2]), dim=2)
    weights = torch.softmax(top.values, dim=2)  # [1, M, k]
    gathered = values[0][:, :, top.indices[0]]  # [K, C_v, M, k]
    out = (gathered * weights[0]).sum(dim=-1)  # [K, C_v, M]
    return out[None], weights, top.indices


def _uncached_memory(self, session, ids, entries) -> MemoryInputs:
    """Global memory stacked here on every frame, never prepared or cached."""
    key = torch.cat([e.key.flatten(1) for e in entries], dim=1)  # [C_k, T*h*w]
    value = torch.stack([torch.cat([e.values[o].flatten(1) for e in entries], dim=1)
                         for o in ids])  # [K, C_v, T*h*w]
    return MemoryInputs(key[None], value[None], None, None)


def _run_with_correction(predictor: Predictor, frames, masks) -> list:
    """Annotate frame 0, propagate, correct object 2 on frame 5, re-propagate from there."""
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], masks[0])
    outs = list(predictor.propagate(session, frames, 0))
    corrected = masks[5].copy()
    corrected[corrected == 2] = 0
    corrected[masks[5] == 2] = 0
    corrected[np.roll(masks[5] == 2, 3, axis=1)] = 2  # object 2 shifted right by 3 px
    predictor.step(session, 5, frames[5], corrected)
    return outs[:5] + list(predictor.propagate(session, frames, 5))


def _sharp_keys(model: SRNet) -> SRNet:
    """Random weights give keys of ~1e-5, where every read weight is 1/k whatever the affinity's
    scale or norm term: scaled up, the reads are far from uniform (checked by the caller)."""
    with torch.no_grad():
        model.key_encoder.key_proj.weight.mul_(5e5)
    return model


def test_cached_memory_equals_an_uncached_independent_read(monkeypatch):
    """Each frame's memory read (eq 1's readout F_M) and the masks, from the cached prepared
    memory and from memory stacked anew and read by the definition. The reads themselves are
    compared: a random network's masks hardly depend on them."""
    torch.manual_seed(0)
    model = _sharp_keys(SRNet(ModelConfig.tiny()).eval())
    frames, masks = make_clip(12)
    config = InferenceConfig(short_side=None, mem_every=2, top_k=8)
    prepared = []
    real_prepare = model.prepare_memory
    monkeypatch.setattr(model, "prepare_memory",
                        lambda memory: prepared.append(1) or real_prepare(memory))
    reads: dict[str, list[Tensor]] = {"fast": [], "reference": []}
    peaks: list[float] = []

    def recorded(read, name: str):
        def run(memory: MemoryInputs, query_key: Tensor, top_k: int | None):
            out, weights, indices = read(memory, query_key, top_k)
            reads[name].append(out.float())  # [1, K, C_v, M]
            if name == "reference":
                peaks.append(float(weights.max(dim=2).values.mean()))  # best weight per pixel
            return out, weights, indices
        return staticmethod(run)

    monkeypatch.setattr(SRNet, "_read_memory", recorded(SRNet._read_memory, "fast"))
    fast = _run_with_correction(Predictor(model, config, "cpu"), frames, masks)
    assert 1 < len(prepared) < len(fast) - 1, "the cache is not in use: nothing is compared"
    monkeypatch.setattr(Predictor, "_global_memory", _uncached_memory)
    monkeypatch.setattr(SRNet, "_read_memory", recorded(_reference_read, "reference"))
    monkeypatch.setattr(model, "prepare_memory", lambda memory: pytest.fail("prepared"))
    reference = _run_with_correction(Predictor(model, config, "cpu"), frames, masks)
    assert len(fast) == len(reference) == 12
    assert max(peaks) > 0.5 and min(peaks) > 1.5 / config.top_k, peaks  # reads far from 1/k
    assert len(reads["fast"]) == len(reads["reference"]) >= 10
    for got, want in zip(reads["fast"], reads["reference"], strict=True):
        assert float((got - want).abs().max()) <= 1e-3 * float(want.abs().max())
    for got, want in zip(fast, reference, strict=True):
        np.testing.assert_allclose(got.prob, want.prob, atol=2e-4, rtol=0,
                                   err_msg=f"frame {got.frame_idx}")
        _assert_same_mask_but_ties(got, want, tie=4e-4)
    assert np.array_equal(fast[5].mask == 2, np.roll(masks[5] == 2, 3, axis=1))


def _assert_same_mask_but_ties(got, want, tie: float) -> None:
    """The masks agree except where the reference's two best channels are within `tie` (the
    random-weight network is near-uniform, and summation order differs between CPUs: on an
    AVX-512 machine pixels of frame 1 flip inside the probability tolerance)."""
    differ = got.mask != want.mask  # [H, W]
    top2 = np.sort(want.prob[:, differ], axis=0)[-2:]  # [2, N] the two best probabilities
    gaps = top2[1] - top2[0]
    assert np.all(gaps < tie), f"frame {got.frame_idx}: {int((gaps >= tie).sum())} pixels"


# ----------------------------------------------------------------------------- trunk
def _same_conv(conv: torch.nn.Conv2d, x: Tensor) -> Tensor:
    """TensorFlow "SAME" padding written out: pad total//2 before, the rest after."""
    pads = []
    for size, k, s in zip(x.shape[-2:], conv.kernel_size, conv.stride, strict=True):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return F.conv2d(F.pad(x, [*pads[1], *pads[0]]), conv.weight, None, conv.stride, 0, 1,
                    conv.groups)


def _plain_trunk(trunk, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """EfficientNet-Lite0 to stride 16 as conv → BatchNorm2d (eval) → ReLU6, op by op."""
    x = F.relu6(trunk._bn0(_same_conv(trunk._conv_stem, image * (255 / 128) - 127 / 128)))
    feats = {}
    for idx in range(11):
        block, out = trunk._blocks[idx], x
        if block.expand != 1:
            out = F.relu6(block._bn0(F.conv2d(out, block._expand_conv.weight)))
        out = F.relu6(block._bn1(_same_conv(block._depthwise_conv, out)))
        out = block._bn2(F.conv2d(out, block._project_conv.weight))
        x = out + x if block.has_skip else out
        feats[idx] = x
    return x, feats[4], feats[2]


def test_folded_fused_trunk_equals_plain_conv_then_batchnorm():
    from srnet.model.backbones import EfficientNetLite0

    torch.manual_seed(6)
    trunk = EfficientNetLite0().eval()
    for module in trunk.modules():  # non-trivial BN statistics and affine terms
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    image = torch.rand(1, 3, 66, 98)
    with torch.no_grad():
        fast = trunk.forward_features(image.contiguous(memory_format=torch.channels_last))
        plain = _plain_trunk(trunk, image)
    for got, want in zip(fast, plain, strict=True):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert all(getattr(m, "_folded", None) is not None for m in (trunk._conv_stem,)), \
        "the folded path did not run"


# ----------------------------------------------------------------------------- FAM
def test_fam_module_cpu_dcn_equals_torchvision(monkeypatch):
    from torchvision.ops import deform_conv2d

    import srnet.model.fam as fam_module
    from srnet.config import FAMConfig

    torch.manual_seed(3)
    fam = fam_module.FeatureAlignment(8, 16, FAMConfig()).eval()
    for param in fam.parameters():  # away from the zero-offset initialisation
        torch.nn.init.normal_(param, std=0.3)
    inputs = (torch.randn(1, 8, 9, 12), torch.randn(1, 8, 9, 12), torch.randn(2, 16, 9, 12),
              torch.randn(2, 16, 9, 12))
    with torch.no_grad():
        fast = fam(*inputs)
        assert fast.dcn_offset.abs().max() > 0.5, "offsets too small to test the sampling"
        monkeypatch.setattr(fam_module, "modulated_deform_conv3x3",
                            lambda x, offset, weight, bias, padding, mask:
                            deform_conv2d(x, offset, weight, bias, padding=padding, mask=mask))
        reference = fam(*inputs)
    torch.testing.assert_close(fast.local_feature, reference.local_feature, atol=1e-4,
                               rtol=1e-4)


# ----------------------------------------------------------------------------- precision
def per_object_iou(got: list[np.ndarray], want: list[np.ndarray]) -> dict[int, float]:
    """IoU of each object id over all the given frames together."""
    ids = sorted({int(v) for m in want for v in np.unique(m) if v})
    scores = {}
    for obj in ids:
        inter = sum(np.logical_and(g == obj, w == obj).sum() for g, w in zip(got, want,
                                                                            strict=True))
        union = sum(np.logical_or(g == obj, w == obj).sum() for g, w in zip(got, want,
                                                                          strict=True))
        scores[obj] = float(inter / max(union, 1))
    return scores


def real_two_object_clip(num_frames: int = 8) -> tuple[list[np.ndarray], np.ndarray]:
    """Holdout `car-turn` hosting the pasted `bear` (srnet.eval.pasted): frames and frame 0's
    two-object ground truth."""
    from srnet.data.davis import VOSDataset
    from srnet.eval.pasted import PastedPairs

    if not (DAVIS_ROOT / "JPEGImages/480p/bear").is_dir():
        pytest.fail(f"DAVIS-2016 data missing at {DAVIS_ROOT}")
    pairs = PastedPairs(VOSDataset(DAVIS_ROOT))
    name = "car-turn+bear"
    return ([pairs.load_frame(name, 2 * t) for t in range(num_frames)],
            pairs.load_mask(name, 0))


def shipped_masks(config: InferenceConfig, device: str, frames, first) -> list[np.ndarray]:
    from srnet import adapt_session, load_predictor

    predictor, _ = load_predictor(device=device, config=config)
    session = predictor.new_session()
    adapt_session(predictor, session, [(frames[0], first)])  # only with config.adapt_steps
    predictor.step(session, 0, frames[0], first)
    return [out.mask for out in predictor.propagate(session, frames, 0)][1:]


@pytest.mark.slow
def test_cpu_bf16_matches_fp32_per_object():
    from srnet.inference.predictor import cpu_has_fast_bf16

    if not cpu_has_fast_bf16():
        pytest.skip("this CPU has no AMX / AVX512-BF16: the predictor runs fp32 for cpu_bf16")
    frames, first = real_two_object_clip()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fp32 = shipped_masks(InferenceConfig(short_side=240), "cpu", frames, first)
        bf16 = shipped_masks(InferenceConfig(short_side=240, cpu_bf16=True), "cpu", frames,
                             first)
    finally:
        torch.set_num_threads(threads)
    scores = per_object_iou(bf16, fp32)
    assert set(scores) == {1, 2} and min(scores.values()) >= 0.97, scores
