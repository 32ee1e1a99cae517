"""The compiled backends' graph cache (`srnet.inference.export_graphs`): its key follows the
network's code, and an uncreatable cache folder falls back to one temporary folder per
process (session 43's review)."""

from __future__ import annotations

import torch

from srnet import ModelConfig, SRNet
from srnet.inference import export_graphs


def test_the_cache_key_follows_the_code_as_well_as_the_weights(monkeypatch) -> None:
    torch.manual_seed(0)
    model = SRNet(ModelConfig.tiny())
    key = export_graphs.weights_digest(model)
    assert export_graphs.weights_digest(model) == key
    monkeypatch.setattr(export_graphs, "_code_digest", lambda: b"FAM fixed")
    assert export_graphs.weights_digest(model) != key  # was: the old graph, without a word


def test_an_uncreatable_cache_falls_back_to_one_folder(monkeypatch, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SRNET_CACHE_DIR", str(blocker / "cache"))
    first = export_graphs.cache_dir()
    assert first.is_dir() and export_graphs.cache_dir() == first  # was: a new one per lookup
