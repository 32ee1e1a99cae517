"""Checkpoint round trip and clear failures (issue #2 §4)."""

from dataclasses import replace

import pytest
import torch

from srnet import CheckpointError, ModelConfig, SRNet, load_model, save_checkpoint
from srnet.config import InferenceConfig


def test_round_trip_gives_identical_outputs(tmp_path):
    # its own model: a Predictor built on the shared `tiny_model` earlier in the session turns
    # its weights channels_last, which changes the conv kernels' rounding (~1e-12)
    model = SRNet(ModelConfig.tiny()).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, meta={"steps": 3}, half=False)
    loaded, meta = load_model(path)
    assert meta == {"steps": 3} and loaded.cfg == model.cfg
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.encode_frame(image).key, model.encode_frame(image).key)


def test_fp16_storage_round_trips_within_half_precision(tmp_path, tiny_model):
    path = save_checkpoint(tmp_path / "m.pt", tiny_model)
    loaded, _ = load_model(path)
    for (name, a), (_, b) in zip(tiny_model.state_dict().items(), loaded.state_dict().items()):
        assert b.dtype == a.dtype, name
        assert torch.allclose(a.float(), b.float(), rtol=1e-3, atol=1e-3), name


def test_missing_corrupt_and_mismatched_files_raise_clear_errors(tmp_path, tiny_model):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nope.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_model(corrupt)
    path = save_checkpoint(tmp_path / "m.pt", tiny_model)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"].pop(next(iter(payload["state_dict"])))
    torch.save(payload, tmp_path / "missing_key.pt")
    with pytest.raises(CheckpointError, match="missing"):
        load_model(tmp_path / "missing_key.pt")
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["value_dim"] = 48
    torch.save(payload, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="not 'paper'"):
        load_model(path, expect_config="paper")


def test_config_round_trip_rejects_unknown_keys():
    cfg = replace(ModelConfig.lite(), fam=replace(ModelConfig.lite().fam, enabled=False))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    data = cfg.to_dict()
    data["ptm"]["heads"] = 8
    with pytest.raises(ValueError, match="unknown PTMConfig keys"):
        ModelConfig.from_dict(data)
    with pytest.raises(ValueError):
        InferenceConfig(top_k=0)


def test_checkpoint_holds_the_ablation_config(tmp_path):
    cfg = replace(ModelConfig.tiny(), ptm=replace(ModelConfig.tiny().ptm, enabled=False))
    path = save_checkpoint(tmp_path / "noptm.pt", SRNet(cfg))
    loaded, _ = load_model(path)
    assert loaded.ptm is None and not loaded.cfg.ptm.enabled
