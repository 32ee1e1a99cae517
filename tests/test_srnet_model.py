"""End-to-end model tests: spec §2.1 shapes, ablation switches, gradients, real ImageNet weights."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from srnet.config import ModelConfig
from srnet.model import MemoryInputs, SRNet
from srnet.model.backbones import EfficientNetLite0, load_backbone_weights
from srnet.model.ptm import SingleHeadAttention

DAVIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-train"
ASSET_FRAME = Path(__file__).resolve().parents[1] / "assets" / "examples" / "flamingo" / "clip.mp4"


def _clip_batch(cfg: ModelConfig, size=(64, 96), num_obj=2):
    frames = torch.rand(1, 3, 3, *size)
    masks = torch.zeros(1, num_obj, *size)
    masks[:, 0, 8:30, 8:30] = 1
    if num_obj > 1:
        masks[:, 1, 32:60, 40:80] = 1
    return frames, masks, torch.ones(1, num_obj, dtype=torch.bool)


@torch.no_grad()
def test_paper_shapes_at_480x854_with_two_objects():
    """Spec §2.1 for one 480x854 frame padded to 480x864, batch 1, N = 2."""
    model = SRNet(ModelConfig.paper()).eval()
    image = torch.rand(1, 3, 480, 864)
    feats = model.encode_frame(image)
    assert feats.f4.shape == (1, 256, 120, 216) and feats.f8.shape == (1, 512, 60, 108)
    assert feats.f16.shape == (1, 1024, 30, 54)
    assert feats.key.shape == (1, 64, 30, 54) and feats.query_value.shape == (1, 256, 30, 54)
    masks = torch.zeros(1, 2, 480, 864)
    masks[:, 0, 100:200, 100:300] = 1
    masks[:, 1, 250:400, 500:700] = 1
    value = model.encode_value(image, feats, masks)
    assert value.shape == (1, 2, 256, 30, 54)
    memory = MemoryInputs(feats.key.flatten(2), value.flatten(3), feats.key, value)
    out = model.segment(feats, memory, top_k=20, want_vis=True)
    assert out.logits.shape == (1, 3, 480, 864)
    assert torch.allclose(out.prob.sum(dim=1), torch.ones(1, 480, 864), atol=1e-4)
    assert [a.shape for a in out.aux_logits] == [(1, 2, 30, 54)] * 3
    vis = out.visuals
    assert vis.grid_offset.shape == (1, 2, 30, 54)
    assert vis.dcn_offset.shape == (1, 2, 18, 30, 54)
    assert vis.dcn_modulation.shape == (1, 2, 9, 30, 54)
    assert vis.aux_masks.shape == (1, 3, 2, 30, 54)
    assert vis.read_indices.shape == (1, 1620, 20)
    assert torch.allclose(vis.proto_attention.sum(dim=(-2, -1)), torch.ones(1, 3, 2), atol=1e-4)


def test_lite_training_crop_shapes():
    model = SRNet(ModelConfig.lite())
    frames, masks, valid = _clip_batch(model.cfg, size=(384, 384), num_obj=2)
    out = model(frames, masks, valid)
    assert out.logits.shape == (1, 2, 3, 384, 384)
    assert out.aux_logits.shape == (1, 2, 3, 2, 24, 24)  # [B, T-1, L, K, 24, 24]


@pytest.mark.parametrize("variant", ["full", "no_fam", "no_ptm", "one_layer", "grid2"])
def test_ablation_switches_run_end_to_end_and_train(variant):
    cfg = ModelConfig.tiny()
    cfg = {
        "full": cfg,
        "no_fam": replace(cfg, fam=replace(cfg.fam, enabled=False)),
        "no_ptm": replace(cfg, ptm=replace(cfg.ptm, enabled=False)),
        "one_layer": replace(cfg, ptm=replace(cfg.ptm, num_layers=1)),
        "grid2": replace(cfg, fam=replace(cfg.fam, grid_factor=2)),
    }[variant]
    model = SRNet(cfg)
    assert (model.fam is None) == (variant == "no_fam")
    assert (model.ptm is None) == (variant == "no_ptm")
    out = model(*_clip_batch(cfg))
    loss = out.logits.logsumexp(dim=2).mean()
    if out.aux_logits is not None:
        assert out.aux_logits.shape[2] == cfg.ptm.num_layers
        loss = loss + out.aux_logits.mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_gradients_reach_fam_and_ptm_parameters():
    model = SRNet(ModelConfig.tiny())
    out = model(*_clip_batch(model.cfg))
    (out.logits[:, :, 1].mean() + out.aux_logits.mean()).backward()

    def has_grad(module):
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())

    assert has_grad(model.fam.dcn_pred) and has_grad(model.fam.offset_net)
    assert model.fam.dcn_weight.grad.abs().sum() > 0
    assert has_grad(model.ptm.pooling) and has_grad(model.ptm.layers[0].proto_attn)
    assert has_grad(model.ptm.layers[-1].activation) and has_grad(model.ptm.layers[0].aux_head)


def _flamingo_frames():
    if DAVIS.exists():
        from PIL import Image

        return [np.asarray(Image.open(DAVIS / "JPEGImages/480p/flamingo" / f"{i:05d}.jpg")
                           .convert("RGB")) for i in (0, 40)]
    if ASSET_FRAME.exists():
        from srnet.io import read_video

        return read_video(ASSET_FRAME, max_frames=1)[0]
    pytest.skip("no flamingo frame available")


@torch.no_grad()
def test_lite0_imagenet_weights_are_real():
    """The shipped EfficientNet-Lite0 weights put a DAVIS flamingo frame in class 130."""
    import cv2

    net = EfficientNetLite0().eval()
    load_backbone_weights(net)
    for frame in _flamingo_frames():
        image = cv2.resize(frame, (224, 224), interpolation=cv2.INTER_AREA)
        logits = net.classify(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
        assert logits.argmax().item() == 130  # ImageNet "flamingo"


def test_image_size_must_be_a_multiple_of_16():
    with pytest.raises(ValueError, match="multiples of 16"):
        SRNet(ModelConfig.tiny()).encode_frame(torch.rand(1, 3, 50, 64))


def test_ptm_attention_fused_and_weighted_paths_equal_the_definition():
    """Eqs 8-9's attention runs through torch's fused kernel, and through an explicit softmax
    when the demo asks for the weights: both must be softmax(Q Kᵀ/√C) V, written out here
    with einsum (a missing 1/√C in one path changed the masks with visuals on by 5e-3)."""
    torch.manual_seed(0)
    dim = 16
    attn = SingleHeadAttention(dim).eval()
    query, keys, pos = torch.randn(3, 2, dim), torch.randn(3, 7, dim) * 2, torch.randn(7, dim)
    with torch.no_grad():
        fused, no_weights = attn(query, keys, pos, want_weights=False)
        plain, weights = attn(query, keys, pos, want_weights=True)
        q = torch.einsum("bqc,dc->bqd", query, attn.q_proj.weight) + attn.q_proj.bias
        k = torch.einsum("bsc,dc->bsd", keys, attn.k_proj.weight) + attn.k_proj.bias + pos
        v = torch.einsum("bsc,dc->bsd", keys, attn.v_proj.weight) + attn.v_proj.bias
        logits = torch.einsum("bqd,bsd->bqs", q, k) / dim ** 0.5  # [3, 2, 7]
        expected_weights = logits.exp() / logits.exp().sum(dim=-1, keepdim=True)
        read = torch.einsum("bqs,bsd->bqd", expected_weights, v)
        expected = torch.einsum("bqd,ed->bqe", read, attn.o_proj.weight) + attn.o_proj.bias
    assert no_weights is None
    torch.testing.assert_close(weights, expected_weights, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(plain, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fused, expected, atol=1e-5, rtol=1e-5)
