"""The compiled CPU backend (issue #11 item 4) against torch eager, the reference that shares none
of its runtime: real DAVIS frames through the shipped lite checkpoint, small frames. Skipped when
onnxruntime is not installed (requirements-dev.txt installs it, so CI runs it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srnet import InferenceConfig, Predictor, load_model
from srnet.inference import export_graphs
from srnet.model import MemoryInputs

pytest.importorskip("onnxruntime")
# Exporting the three graphs takes ~25 s on 2 cores (once per module: the fixture's cache).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DAVIS = REPO.parent / "shared" / "data" / "davis2016-train"
SHORT_SIDE = 128  # 480x854 frames → 128x228, padded to 128x240 (a 8x15 feature grid)


def _frames(seq: str, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    frames = [np.array(Image.open(DAVIS / "JPEGImages/480p" / seq / f"{i:05d}.jpg")
                       .convert("RGB")) for i in range(0, 2 * count, 2)]
    first = np.asarray(Image.open(DAVIS / "Annotations/480p" / seq / "00000.png")) > 0
    return frames, first.astype(np.uint8)


def _two_objects(mask: np.ndarray) -> np.ndarray:
    """Split one object at its centre column into ids 1 and 2 (exercises the object axis)."""
    cols = np.nonzero(mask.any(axis=0))[0]
    split = mask.copy()
    split[:, (cols.min() + cols.max()) // 2:] *= 2
    return split


@pytest.fixture(scope="module")
def predictors(tmp_path_factory: pytest.TempPathFactory):
    """(torch, onnxruntime) predictors on the same weights; exports go to a temporary cache."""
    if not (DAVIS / "JPEGImages/480p/bear").is_dir():
        pytest.fail(f"DAVIS-2016 train data not found at {DAVIS}")
    patch = pytest.MonkeyPatch()
    patch.setenv("SRNET_CACHE_DIR", str(tmp_path_factory.mktemp("srnet-cache")))
    model, _ = load_model(REPO / "assets" / "srnet_lite.pt")
    config = InferenceConfig(short_side=SHORT_SIDE)
    yield Predictor(model, config, "cpu", "torch"), Predictor(model, config, "cpu", "onnxruntime")
    patch.undo()


def test_each_stage_matches_torch_on_a_real_frame(predictors):
    reference, compiled = predictors
    frames, first = _frames("bear", 2)
    session = reference.new_session()
    geom = reference._prepare(session, 0, frames[0], first)
    image, feats = reference._encode(session, frames[0], geom)
    got = compiled.stages.encode_frame(image)
    for name in ("f16", "f8", "f4", "key", "query_value"):
        torch.testing.assert_close(getattr(got, name), getattr(feats, name), atol=2e-4, rtol=1e-3)
    masks = torch.from_numpy(_two_objects(first)[None] == np.array([1, 2])[:, None, None])
    masks = torch.nn.functional.interpolate(masks[None].float(), size=image.shape[-2:])
    values = reference.model.encode_value(image, feats, masks)  # [1, 2, C_v, h, w]
    torch.testing.assert_close(compiled.stages.encode_value(image, feats, masks), values,
                               atol=2e-4, rtol=1e-3)
    memory = reference.model.prepare_memory(MemoryInputs(
        feats.key.flatten(2), values.flatten(3), feats.key, values))
    want = reference.model.segment(feats, memory, top_k=20)
    out = compiled.stages.segment(feats, memory, top_k=20)
    assert out.prob.shape == want.prob.shape == (1, 3, *image.shape[-2:])
    torch.testing.assert_close(out.prob, want.prob, atol=1e-3, rtol=0)
    size = tuple(image.shape[-2:])  # and each stage did run compiled, not the torch fallback
    assert sorted(compiled.stages.compiled_graphs()) == [(g, size) for g in
                                                         ("encoder", "head", "value")]


@pytest.mark.parametrize("seq,objects", [("bear", 1), ("car-turn", 2)])
def test_propagated_masks_match_torch(predictors, seq, objects):
    """A propagated clip: per-frame mask IoU ≥ 0.99 with torch's and close probabilities (the
    error of each frame feeds the next through the memory, so this is the end-to-end check)."""
    frames, first = _frames(seq, 6)
    first = _two_objects(first) if objects == 2 else first
    outs = {}
    for predictor in predictors:
        session = predictor.new_session()
        predictor.step(session, 0, frames[0], first)
        outs[predictor.backend] = list(predictor.propagate(session, frames, 1))
    for ref, got in zip(outs["torch"], outs["onnxruntime"], strict=True):
        assert ref.obj_ids == got.obj_ids == tuple(range(1, objects + 1))
        for obj in ref.obj_ids:
            a, b = ref.mask == obj, got.mask == obj
            iou = (a & b).sum() / max((a | b).sum(), 1)
            assert a.any() and iou >= 0.99, (seq, ref.frame_idx, obj, iou)
        assert np.abs(ref.prob - got.prob).max() < 1e-3


def test_visuals_run_in_torch(predictors):
    """Visuals need the PTM's attention maps, which the graph drops: that step runs in torch."""
    _, compiled = predictors
    frames, first = _frames("bear", 3)
    session = compiled.new_session()
    compiled.step(session, 0, frames[0], first)
    out = compiled.step(session, 1, frames[1], return_visuals=True)
    assert out.visuals is not None and out.visuals.proto_attention is not None


def test_export_is_cached_per_size_and_weights(predictors, monkeypatch):
    """`warm_up` opens every graph of a size; a second predictor on the same weights loads the
    cached files (no export); a copy with changed weights gets new ones."""
    reference, compiled = predictors
    compiled.warm_up((480, 854))  # padded 128x240 at SHORT_SIDE; exports unless cached
    assert len(compiled.stages.compiled_graphs()) == 3
    calls = []
    real_export = export_graphs.export_graph

    def counting(model, graph, size, path):
        calls.append((graph, size))
        return real_export(model, graph, size, path)

    monkeypatch.setattr("srnet.inference.onnx_backend.export_graph", counting)
    again = Predictor(reference.model, reference.config, "cpu", "onnxruntime")
    again.warm_up((480, 854))
    assert calls == [] and sorted(again.stages.compiled_graphs()) == sorted(
        compiled.stages.compiled_graphs())
    image = torch.rand(1, 3, 128, 240)
    model, _ = load_model(REPO / "assets" / "srnet_lite.pt")
    with torch.no_grad():
        model.key_encoder.key_proj.bias.add_(1.0)
    changed = Predictor(model, reference.config, "cpu", "onnxruntime")
    torch.testing.assert_close(changed.stages.encode_frame(image).key,
                               model.encode_frame(image).key, atol=2e-4, rtol=1e-3)
    assert calls == [("encoder", (128, 240))]


def test_openvino_runs_the_same_graphs(predictors):
    """OpenVINO (when installed) loads the same cached exports; fp32 like torch."""
    pytest.importorskip("openvino")
    reference, _ = predictors
    vino = Predictor(reference.model, reference.config, "cpu", "openvino")
    frames, first = _frames("bear", 4)
    outs = []
    for predictor in (reference, vino):
        session = predictor.new_session()
        predictor.step(session, 0, frames[0], first)
        outs.append(list(predictor.propagate(session, frames, 1)))
    for ref, got in zip(*outs, strict=True):
        a, b = ref.mask == 1, got.mask == 1
        assert a.any() and (a & b).sum() / (a | b).sum() >= 0.99
        assert np.abs(ref.prob - got.prob).max() < 1e-3
    assert len(vino.stages.compiled_graphs()) == 3
