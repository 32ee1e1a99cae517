"""The paper configuration's ImageNet ResNet weights, loaded from a torchvision state-dict file
the user supplies (nothing is downloaded): every file failed with KeyError 'mean' until
session 33 (the normalisation buffers are not part of the state dict)."""

from __future__ import annotations

import pytest
import torch
import torchvision

from srnet.__main__ import main
from srnet.model.backbones import BackboneWeightsError, ResNetTrunk, load_backbone_weights
from tests.conftest import davis_folder


@pytest.fixture(scope="module")
def r18_file(tmp_path_factory):
    torch.manual_seed(0)
    state = torchvision.models.resnet18(weights=None).state_dict()  # layer4 and fc included
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(state, path)
    return path, state


def test_a_torchvision_file_loads_into_the_key_trunk(r18_file):
    path, state = r18_file
    trunk = ResNetTrunk(18)
    load_backbone_weights(trunk, path)
    own = trunk.state_dict()
    for key in ("conv1.weight", "bn1.running_mean", "layer3.1.conv2.weight"):
        assert torch.equal(own[key], state[key])
    assert torch.allclose(trunk.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))


def test_a_five_channel_value_trunk_gets_rgb_filters_and_zero_mask_filters(r18_file):
    path, state = r18_file
    trunk = ResNetTrunk(18, in_channels=5)
    load_backbone_weights(trunk, path)
    conv1 = trunk.state_dict()["conv1.weight"]  # [64, 5, 7, 7]
    assert torch.equal(conv1[:, :3], state["conv1.weight"])
    assert not conv1[:, 3:].any()


def test_a_file_of_another_network_is_refused_in_one_line(r18_file, tmp_path):
    path, _ = r18_file
    with pytest.raises(BackboneWeightsError, match="do not fit the ResNetTrunk") as err:
        load_backbone_weights(ResNetTrunk(50), path)  # an r18 file for the r50 key trunk
    assert "\n" not in str(err.value)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not weights")
    with pytest.raises(BackboneWeightsError, match="cannot be read"):
        load_backbone_weights(ResNetTrunk(18), junk)


def test_train_names_a_missing_weights_file_in_one_line(tmp_path, capsys):
    code = main(["train", "--config", "paper", "--out", str(tmp_path / "run"), "--data",
                 str(davis_folder(tmp_path / "davis")),
                 "--backbone-weights", f"key={tmp_path / 'missing.pth'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "key weights not found" in err and len(err.splitlines()) == 1
