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


def _zip_member_offset(path, name_part: str) -> int:
    """Byte offset of the data of the first zip member whose name contains `name_part`."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if name_part in i.filename)
    header = path.read_bytes()[info.header_offset:info.header_offset + 30]
    name_len, extra_len = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30],
                                                                                  "little")
    return info.header_offset + 30 + name_len + extra_len


def test_damaged_weights_are_refused_not_loaded(tmp_path, tiny_model):
    """torch.load does not check the zip's CRCs: overwritten bytes inside a weight loaded
    silently (a real checkpoint gave empty masks); they fail the checksum now."""
    path = save_checkpoint(tmp_path / "ok.pt", tiny_model)
    raw = bytearray(path.read_bytes())
    start = _zip_member_offset(path, "/data/0")
    raw[start:start + 16] = b"\xff" * 16  # fp16 0xffff: NaN, had torch read it
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum"):
        load_model(damaged)
    model, _ = load_model(path)  # the intact file still loads
    assert isinstance(model, SRNet)


def test_non_finite_weights_and_malformed_payloads_raise_checkpoint_errors(tmp_path, tiny_model):
    good = torch.load(save_checkpoint(tmp_path / "ok.pt", tiny_model), weights_only=True)
    first = next(iter(good["state_dict"]))
    nan_state = {**good["state_dict"], first: good["state_dict"][first] * float("nan")}
    bad_config = {**good["model_config"], "value_dim": "128"}
    cases = {
        "NaN or infinite": {**good, "state_dict": nan_state},
        "holds no SRNet weights": {**good, "state_dict": [1, 2]},
        "no SRNet weights ": {k: v for k, v in good.items() if k != "state_dict"},
        "meta is a list": {**good, "meta": [1]},
        "does not match this code": {**good, "model_config": bad_config},
        "does not match this code:": {**good, "model_config": {**good["model_config"],
                                                              "key_backbone": "resnet101"}},
    }
    for message, payload in cases.items():
        path = tmp_path / "case.pt"
        torch.save(payload, path)
        with pytest.raises(CheckpointError, match=message.strip()):
            load_model(path)


def test_a_pickle_that_is_not_weights_is_refused_in_one_sentence(tmp_path):
    path = tmp_path / "code.pt"
    torch.save({"format_version": 1, "model_config": {}, "hook": print}, path)
    with pytest.raises(CheckpointError, match="holds Python objects other than tensors") as err:
        load_model(path)
    assert "\n" not in str(err.value)


def test_path_and_hub_id_together_are_refused(tmp_path, tiny_model):
    path = save_checkpoint(tmp_path / "ok.pt", tiny_model)
    with pytest.raises(CheckpointError, match="not both"):
        load_model(path, hub_id="user/repo/file.pt")


def test_a_checkpoint_saved_without_checksums_still_loads(tmp_path, tiny_model):
    """torch can write zip members without CRCs (set_crc32_options(False)); torch.load reads
    them, and so must the checksum test (it read every such part as damaged)."""
    torch.serialization.set_crc32_options(False)
    try:
        path = save_checkpoint(tmp_path / "nocrc.pt", tiny_model)
    finally:
        torch.serialization.set_crc32_options(True)
    model, _ = load_model(path)
    assert isinstance(model, SRNet)
