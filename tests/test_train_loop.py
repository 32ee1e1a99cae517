"""Training data and loop on a tiny synthetic DAVIS folder: feature cache + sampler alignment,
overfitting a fixed batch, exact resume, CLI parsing, holdout evaluation and checkpoints."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from srnet.config import ModelConfig
from srnet.model import SRNet
from srnet.train.cached_sampler import CachedClipSampler, FeatureAugment
from srnet.train.config import TrainConfig
from srnet.train.feature_cache import SeqRef, build_feature_cache

SIZE = (64, 96)


def make_davis(root: Path, seqs=("alpha", "beta", "hold"), num_frames: int = 6) -> Path:
    """DAVIS-2016 layout: textured JPEG frames with a moving square, 0/255 grayscale PNG masks."""
    rng = np.random.default_rng(0)
    for num, seq in enumerate(seqs):
        (root / "JPEGImages" / "480p" / seq).mkdir(parents=True)
        (root / "Annotations" / "480p" / seq).mkdir(parents=True)
        background = rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)
        for t in range(num_frames):
            frame, mask = background.copy(), np.zeros(SIZE, np.uint8)
            top, left = 10 + 4 * num, 8 + 5 * t + 10 * num
            frame[top:top + 24, left:left + 24] = (220, 60 + 60 * num, 40)
            mask[top:top + 24, left:left + 24] = 255
            Image.fromarray(frame).save(root / "JPEGImages" / "480p" / seq / f"{t:05d}.jpg")
            Image.fromarray(mask).save(root / "Annotations" / "480p" / seq / f"{t:05d}.png")
    return root


class CoordTrunk(nn.Module):
    """Fake trunk whose features are the (x, y) pixel centres of each cell, in cached pixels."""

    def forward_features(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        height, width = image.shape[-2:]
        out = []
        for stride in (16, 8, 4):
            ys = (torch.arange(height // stride) + 0.5) * stride
            xs = (torch.arange(width // stride) + 0.5) * stride
            grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))  # [2, h, w]
            out.append(grid[None].expand(image.shape[0], -1, -1, -1))
        return out[0], out[1], out[2]


def _refs(root: Path, seqs=("alpha", "beta")) -> list[SeqRef]:
    from srnet.data.davis import VOSDataset

    dataset = VOSDataset(root)
    return [SeqRef(root.name, s, dataset) for s in seqs]


def _coord_sampler(tmp_path: Path, flip: float) -> CachedClipSampler:
    root = make_davis(tmp_path / "davis")
    paths = build_feature_cache(CoordTrunk(), _refs(root), tmp_path / "cache", [64], "coord",
                                torch.device("cpu"))
    files = {key: [path] for (key, _), path in paths.items()}
    augment = FeatureAugment(flip_prob=flip, paste_prob=0.0, affine_prob=0.0)
    return CachedClipSampler(files, crop=48, num_frames=3, max_objects=2, augment=augment, seed=1)


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_cached_crops_are_aligned_across_levels(tmp_path, flip):
    sampler = _coord_sampler(tmp_path, flip)
    batch = sampler.sample_batch(2, progress=0.0)
    f16, f8, f4 = batch.trunk_feats
    assert f16.shape == (2, 3, 2, 3, 3) and f8.shape == (2, 3, 2, 6, 6)
    assert f4.shape == (2, 3, 2, 12, 12)
    assert batch.masks.shape == (2, 3, 2, 48, 48) and batch.target.shape == (2, 3, 48, 48)
    assert batch.valid.tolist() == [[True, False]] * 2
    # each f16 cell centre is the mean of the 2x2 f8 and 4x4 f4 cell centres it covers
    pooled8 = torch.nn.functional.avg_pool2d(f8.flatten(0, 1), 2).view_as(f16)
    pooled4 = torch.nn.functional.avg_pool2d(f4.flatten(0, 1), 4).view_as(f16)
    assert torch.allclose(pooled8, f16) and torch.allclose(pooled4, f16)
    # the mask crop is the same window: look it up in the cache through the f16 coordinates
    for b in range(2):
        x0 = int(f16[b, 0, 0].min()) - 8
        y0 = int(f16[b, 0, 1].min()) - 8
        seq = next(s[0] for s in sampler.seqs.values()
                   if (s[0].data["masks"][:, y0:y0 + 48, x0:x0 + 48] > 0).any())
        crops = seq.data["masks"][:, y0:y0 + 48, x0:x0 + 48].long()  # [T_all, 48, 48]
        target = batch.target[b].flip(-1) if flip else batch.target[b]
        assert any(torch.equal(target[0], c) for c in crops)
        if flip:  # x decreases along the width axis after a flip
            assert f16[b, 0, 0, 0, 0] > f16[b, 0, 0, 0, -1]


def test_sampler_is_reproducible_from_its_state(tmp_path):
    sampler = _coord_sampler(tmp_path, 0.5)
    sampler.augment = FeatureAugment(paste_prob=1.0, affine_prob=1.0)
    sampler.sample_batch(2, 0.5)
    state = sampler.state_dict()
    first = sampler.sample_batch(2, 0.5)
    sampler.load_state_dict(state)
    again = sampler.sample_batch(2, 0.5)
    assert torch.equal(first.trunk_feats[2], again.trunk_feats[2])
    assert torch.equal(first.target, again.target)
    assert first.valid.all()  # pasting added a second object to every clip


def test_cache_building_is_resumable(tmp_path, caplog):
    root = make_davis(tmp_path / "davis")
    refs = _refs(root)
    paths = build_feature_cache(CoordTrunk(), refs[:1], tmp_path / "c", [64], "coord",
                                torch.device("cpu"))
    stamp = next(iter(paths.values())).stat().st_mtime_ns
    caplog.set_level("INFO")
    paths = build_feature_cache(CoordTrunk(), refs, tmp_path / "c", [64], "coord",
                                torch.device("cpu"))
    assert "1 of 2 files to build" in caplog.text
    assert next(iter(paths.values())).stat().st_mtime_ns == stamp
    payload = torch.load(paths[("davis/beta", 64)])
    assert payload["f16"].dtype == torch.float16 and payload["masks"].shape == (6, 64, 96)


def _cfg(tmp_path: Path, **kw) -> TrainConfig:
    base = TrainConfig(out_dir=str(tmp_path / "run"), steps=4, batch_size=2, crop=64,
                       cache_dir=str(tmp_path / "cache"), cache_scales=(64,), holdout=("hold",),
                       eval_every=0, log_every=1, ckpt_every=2, warmup_steps=1, progress=False,
                       device="cpu", lr=1e-3, threads=1)
    return replace(base, **kw)


@pytest.fixture()
def one_thread():
    """One intra-op thread: on a busy 2-core machine two threads can run 10-100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_overfits_a_fixed_batch(tmp_path, one_thread):
    from srnet.train.data import build_source
    from srnet.train.distributed import DistInfo
    from srnet.train.losses import SegmentationLoss
    from srnet.train.model_setup import build_model, build_optimizer, set_train_mode

    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path, lr=3e-3, warmup_steps=1, steps=1000)
    torch.manual_seed(0)
    model, frozen = build_model(cfg, ModelConfig.tiny())
    source, _ = build_source(cfg, model, frozen, [root], DistInfo())
    batch = source.sample_batch(2, 0.0)
    optimizer, _ = build_optimizer(cfg, model)
    loss_fn = SegmentationLoss(0.1, 10_000, 20_000)
    set_train_mode(model, frozen)
    losses = []
    for _ in range(12):
        out = model(None, batch.masks[:, 0], batch.valid, trunk_feats=batch.trunk_feats)
        parts = loss_fn(out.logits, out.aux_logits, batch.target, batch.masks, batch.valid, 0)
        optimizer.zero_grad()
        parts.total.backward()
        optimizer.step()
        losses.append(parts.total.item())
    assert losses[-1] < 0.3 * losses[0], losses
    assert not model.key_encoder.trunk.training  # frozen trunk keeps eval-mode BatchNorm


def _params(path: Path) -> dict[str, Tensor]:
    return torch.load(path, weights_only=False)["model"]


def test_resume_is_bit_identical(tmp_path):
    from srnet.train.trainer import train

    root = make_davis(tmp_path / "davis")
    straight = _cfg(tmp_path, out_dir=str(tmp_path / "a"))
    train(straight, ModelConfig.tiny(), [root])
    split = _cfg(tmp_path, out_dir=str(tmp_path / "b"), run_steps=3, ckpt_every=100)
    assert train(split, ModelConfig.tiny(), [root]).step == 3
    assert train(replace(split, run_steps=None), ModelConfig.tiny(), [root]).step == 4
    a, b = _params(tmp_path / "a" / "last.pt"), _params(tmp_path / "b" / "last.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert (tmp_path / "b" / "final.pt").is_file()


def test_a_resume_keeps_its_clip_stream_when_the_init_file_is_replaced(tmp_path, caplog):
    """The stream's seed was recomputed from the bytes of --init at every start, and the
    feature cache was encoded by --init's trunk before the run's own weights were loaded: a
    new file copied to that path between two invocations (the continuations all start from
    assets/srnet_lite.pt, which a shipped run replaces) switched the run to another stream
    and to another trunk's features."""
    from srnet import save_checkpoint
    from srnet.train.trainer import train

    root = make_davis(tmp_path / "davis")
    init = tmp_path / "init.pt"
    torch.manual_seed(1)
    save_checkpoint(init, SRNet(ModelConfig.tiny()))
    straight = _cfg(tmp_path, out_dir=str(tmp_path / "a"), init=str(init))
    train(straight, ModelConfig.tiny(), [root])
    split = _cfg(tmp_path, out_dir=str(tmp_path / "b"), init=str(init), run_steps=2)
    assert train(split, ModelConfig.tiny(), [root]).step == 2
    torch.manual_seed(2)
    save_checkpoint(init, SRNet(ModelConfig.tiny()))  # another file at the same path
    assert train(replace(split, run_steps=None), ModelConfig.tiny(), [root]).step == 4
    assert "changed since this run started: the run keeps its own clip stream" in caplog.text
    a, b = _params(tmp_path / "a" / "last.pt"), _params(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_another_model_config_whose_weights_would_load(tmp_path):
    """A FAM offset bound changes no weight shape, so the strict load alone would accept it."""
    from srnet.config import FAMConfig
    from srnet.train.trainer import train

    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path, run_steps=2, ckpt_every=100)
    train(cfg, ModelConfig.tiny(), [root])
    other = replace(ModelConfig.tiny(), fam=FAMConfig(max_offset_cells=4.0))
    with pytest.raises(ValueError, match="another model config.*fam"):
        train(replace(cfg, run_steps=None), other, [root])
    assert train(replace(cfg, run_steps=1), ModelConfig.tiny(), [root]).step == 3  # resumed at 2


def _sigterm_scenario(tmp: str) -> None:
    """Train, get SIGTERM at the second batch, check last.pt, resume to the end (run in a fresh
    process by the test below)."""
    import signal
    import threading

    from srnet.train import trainer

    tmp_path = Path(tmp)
    real_build = trainer.build_source

    def build_with_kill(*args, **kwargs):
        source, eval_sets = real_build(*args, **kwargs)
        real_sample, calls = source.sample_batch, []

        def sample(*a, **kw):
            calls.append(1)
            if len(calls) == 2:  # (the prefetch thread) → the main thread, where it is handled
                signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
            return real_sample(*a, **kw)

        source.sample_batch = sample
        return source, eval_sets

    trainer.build_source = build_with_kill
    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path, steps=6, ckpt_every=100)
    stopped = trainer.train(cfg, ModelConfig.tiny(), [root])
    assert 1 <= stopped.step < 6
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=False)["step"] == stopped.step
    assert not (tmp_path / "run" / "final.pt").exists()
    trainer.build_source = real_build
    assert trainer.train(cfg, ModelConfig.tiny(), [root]).step == 6
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored
    print("sigterm scenario ok")


def test_sigterm_saves_state_and_the_run_resumes(tmp_path):
    """In a fresh process, as a stopped job is: inside the full suite, with the native threads
    earlier tests leave behind (ONNX Runtime pools, app servers), the run segfaulted once."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.path[:0] = ['tests', '.']; import test_train_loop as t; "
            f"t._sigterm_scenario({str(tmp_path)!r})")
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sigterm scenario ok" in done.stdout


def test_holdout_eval_writes_best_checkpoint(tmp_path):
    from srnet import load_model
    from srnet.train.trainer import train

    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path, steps=2, eval_every=1, eval_size=64, eval_frames=4)
    result = train(cfg, ModelConfig.tiny(), [root])
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text()
               .splitlines()]
    scores = [r for r in records if "JF" in r]
    assert [r["step"] for r in scores] == [1, 2] and 0.0 <= scores[0]["JF"] <= 1.0
    assert result.best_jf == max(r["JF"] for r in scores)
    model, meta = load_model(tmp_path / "run" / "best_holdout.pt")
    assert model.cfg.name == "tiny" and meta["JF"] == result.best_jf


def test_trains_from_images_without_the_cache(tmp_path):
    from srnet.train.trainer import train

    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path, steps=2, use_cache=False, batch_size=1, data_threads=2)
    result = train(cfg, ModelConfig.tiny(), [root])
    assert result.step == 2 and not (tmp_path / "cache").exists()
    record = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 2 and np.isfinite(record["loss"])


def test_cli_builds_configs(tmp_path):
    from srnet.train import cli

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    roots = [tmp_path / "A", tmp_path / "B"]
    for root in roots:  # --data must be a DAVIS-layout folder
        (root / "JPEGImages").mkdir(parents=True)
        (root / "Annotations").mkdir()
    weights = tmp_path / "k.pth"  # --backbone-weights must name a file (read at train time)
    weights.write_bytes(b"")
    args = parser.parse_args([
        "train", "--config", "tiny", "--data", str(roots[0]), "--data", str(roots[1]), "--out",
        str(tmp_path),
        "--steps", "7", "--holdout", "x,y", "--no-cache", "--eval-frames", "5",
        "--backbone-weights", f"key={weights}", "--set", "paste_prob=0.25",
        "--set", "cache_scales=[480]", "--set", "model.ptm.num_layers=2"])
    cfg, model_cfg = cli.build_configs(args)
    assert args.func is cli.run and args.data == roots
    assert (cfg.steps, cfg.holdout, cfg.use_cache, cfg.eval_frames) == (7, ("x", "y"), False, 5)
    assert cfg.key_weights == str(weights) and cfg.paste_prob == 0.25
    assert cfg.cache_scales == (480,)
    assert model_cfg.name == "tiny" and model_cfg.ptm.num_layers == 2
    assert not cfg.resume_changed and cfg.resume
    moved, _ = cli.build_configs(parser.parse_args(["train", "--data", str(roots[0]), "--out",
                                                    "o", "--resume-changed", "--no-resume"]))
    assert moved.resume_changed and not moved.resume
    with pytest.raises(ValueError, match="unknown"):
        cli.build_configs(parser.parse_args(["train", "--data", str(roots[0]), "--out", "o",
                                             "--set", "nope=1"]))


def test_cache_fingerprint_follows_the_weights_and_the_cache_version(monkeypatch):
    """A cache folder is never reused with other trunk weights, nor after CACHE_VERSION is
    bumped for a change in what the files hold."""
    from srnet.train import feature_cache

    torch.manual_seed(0)
    trunk = torch.nn.Conv2d(3, 4, 3)
    first = feature_cache.trunk_fingerprint(trunk, "lite0")
    assert first == feature_cache.trunk_fingerprint(trunk, "lite0")
    assert first.startswith(f"lite0-v{feature_cache.CACHE_VERSION}-")
    monkeypatch.setattr(feature_cache, "CACHE_VERSION", feature_cache.CACHE_VERSION + 1)
    assert feature_cache.trunk_fingerprint(trunk, "lite0") != first
    monkeypatch.undo()
    with torch.no_grad():
        trunk.weight[0, 0, 0, 0] += 1e-3
    assert feature_cache.trunk_fingerprint(trunk, "lite0") != first


def test_train_mode_keeps_every_batchnorm_in_eval_even_in_a_trained_trunk():
    """STCN freezes BatchNorm statistics everywhere; a trunk whose weights train (the paper
    config's ResNets, here the tiny config's unfrozen trunk) must not update its statistics
    from batches of 4 crops, while the rest of the network trains (dropout etc.)."""
    from srnet.train.model_setup import set_train_mode

    model = SRNet(ModelConfig.tiny())
    set_train_mode(model, frozen_trunk=False)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and not any(m.training for m in norms)
    assert model.training and model.key_encoder.trunk.training  # the trunk itself trains
    before = norms[0].running_mean.clone()
    norms[0](torch.randn(2, norms[0].num_features, 8, 8))  # a training-time batch
    assert torch.equal(norms[0].running_mean, before)


def test_a_resume_never_runs_code_from_the_run_folder(tmp_path):
    """last.pt is read weights-only: a run folder carried from elsewhere (README) whose file
    holds a Python callable is refused, not executed."""
    from srnet.train.state import STATE_VERSION, load_train_state

    path = tmp_path / "last.pt"
    torch.save({"version": STATE_VERSION, "hook": print}, path)
    with pytest.raises(ValueError, match="Python objects other than tensors"):
        load_train_state(path)
