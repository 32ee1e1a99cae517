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


def test_average_of_checkpoints_is_the_mean_of_their_weights(tmp_path):
    from srnet.checkpoint import average_checkpoints, save_atomic

    torch.manual_seed(0)
    first, second = SRNet(ModelConfig.tiny()).eval(), SRNet(ModelConfig.tiny()).eval()
    path_a = save_checkpoint(tmp_path / "a.pt", first, meta={"total_steps": 10}, half=False)
    path_b = save_checkpoint(tmp_path / "b.pt", second, meta={"total_steps": 30}, half=False)
    payload = average_checkpoints([path_a, path_b])
    assert payload["meta"]["total_steps"] == 30 and payload["meta"]["soup_steps"] == [10, 30]
    soup, _ = load_model(save_atomic(payload, tmp_path / "soup.pt"))
    state_a, state_b = first.state_dict(), second.state_dict()
    differing = 0
    for name, value in soup.state_dict().items():
        if value.is_floating_point():
            mean = (state_a[name] + state_b[name]) / 2
            assert torch.allclose(value, mean, atol=2e-3), name  # fp16 storage
            differing += not torch.equal(state_a[name], state_b[name])
    assert differing > 10  # two independent inits: the average is not one of its inputs


def test_average_refuses_one_file_and_other_architectures(tmp_path, tiny_model):
    from srnet.checkpoint import average_checkpoints

    path = save_checkpoint(tmp_path / "a.pt", tiny_model)
    with pytest.raises(CheckpointError, match="at least two"):
        average_checkpoints([path])
    other_cfg = replace(ModelConfig.tiny(), value_dim=tiny_model.cfg.value_dim * 2)
    other = save_checkpoint(tmp_path / "b.pt", SRNet(other_cfg))
    with pytest.raises(CheckpointError, match="another architecture"):
        average_checkpoints([path, other])
