"""The documented training paths: `train --init` through the CLI (the stage-2 recipe), the
warm-up + cosine schedule as the optimiser sees it, gradient clipping in the real loop, and
`eval --split holdout|val`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train_loop import _cfg, make_davis

from srnet import ModelConfig, SRNet, load_model, save_checkpoint
from srnet.__main__ import main
from srnet.train.config import TrainConfig


def _train_argv(root: Path, out: Path, tmp_path: Path, *extra: str) -> list[str]:
    return ["train", "--config", "tiny", "--data", str(root), "--out", str(out), "--steps", "2",
            "--batch-size", "1", "--crop", "64", "--holdout", "hold", "--eval-every", "0",
            "--cache-dir", str(tmp_path / "cache"), "--cache-scales", "64", "--threads", "1",
            "--device", "cpu", "--no-progress", "--set", "warmup_steps=1", *extra]


def test_train_init_starts_from_the_checkpoint_weights(tmp_path):
    """With a vanishing lr, two steps from --init end where the checkpoint began; without
    --init the same run ends elsewhere."""
    root = make_davis(tmp_path / "davis")
    torch.manual_seed(123)
    init = save_checkpoint(tmp_path / "init.pt", SRNet(ModelConfig.tiny()), half=False)
    start, _ = load_model(init)
    for out, extra in ((tmp_path / "with", ["--init", str(init)]), (tmp_path / "without", [])):
        assert main(_train_argv(root, out, tmp_path, "--lr", "1e-9", *extra)) == 0
    with_init, _ = load_model(tmp_path / "with" / "final.pt")
    without, _ = load_model(tmp_path / "without" / "final.pt")
    reference = start.state_dict()
    for name, value in with_init.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, reference[name], atol=2e-3, rtol=2e-3, msg=name)
    differ = [n for n, v in without.state_dict().items()
              if v.is_floating_point() and v.numel() > 16 and not torch.allclose(v, reference[n])]
    assert len(differ) > 10, "the run without --init should start from other weights"
    # the continuation counts the steps behind its --init weights (the app shows the summary)
    init_meta = {"step": 40, "total_steps": 5000}
    save_checkpoint(init, start, init_meta, half=False)
    assert main(_train_argv(root, tmp_path / "again", tmp_path, "--init", str(init))) == 0
    _, meta = load_model(tmp_path / "again" / "final.pt")
    assert meta["step"] == 2 and meta["total_steps"] == 5002
    assert meta["summary"].startswith("tiny, 5002 steps (2 in its last run")
    _, meta = load_model(tmp_path / "without" / "final.pt")
    assert meta["total_steps"] == 2 and meta["summary"] == "tiny, 2 steps"


def test_init_may_train_with_another_aux_weight_but_not_another_network(tmp_path, capsys):
    """λ_aux is a loss setting stored with the model config: a run may change it from its
    --init weights (the spec's 0.1 per layer is 0.3 on the mean), and its checkpoints then
    carry the new weight; another PTM depth is another network and is still refused."""
    root = make_davis(tmp_path / "davis")
    init = save_checkpoint(tmp_path / "init.pt", SRNet(ModelConfig.tiny()), half=False)
    argv = _train_argv(root, tmp_path / "aux", tmp_path, "--init", str(init),
                       "--set", "model.ptm.aux_loss_weight=0.3")
    assert main(argv) == 0
    trained, _ = load_model(tmp_path / "aux" / "final.pt")
    assert trained.cfg.ptm.aux_loss_weight == pytest.approx(0.3)
    assert ModelConfig.tiny().same_network(trained.cfg)
    deeper = _train_argv(root, tmp_path / "deeper", tmp_path, "--init", str(init),
                         "--set", "model.ptm.num_layers=2")
    assert main(deeper) == 2
    assert "differs from this run's" in capsys.readouterr().err


def test_lr_schedule_warms_up_linearly_then_decays_by_cosine():
    """The learning rate the optimiser applies at each step, against the formula written out:
    (s+1)/W·lr during W warm-up steps, then lr·(m + (1−m)·(1+cos(π·p))/2)."""
    from srnet.train.model_setup import build_optimizer

    cfg = TrainConfig(steps=20, warmup_steps=4, lr=1e-3, min_lr_ratio=0.05, schedule="cosine")
    optimizer, scheduler = build_optimizer(cfg, torch.nn.Linear(3, 2))
    applied = []
    for _ in range(cfg.steps):
        applied.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert applied[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    for step in range(4, 20):
        progress = (step - 4) / 16
        expected = 1e-3 * (0.05 + 0.95 * (1 + math.cos(math.pi * progress)) / 2)
        assert applied[step] == pytest.approx(expected), step
    assert all(a > b for a, b in zip(applied[4:], applied[5:], strict=False))  # decays
    assert applied[12] == pytest.approx(1e-3 * 0.525)  # halfway: the mean of peak and floor


@pytest.mark.parametrize("clip", [1e-4, 0.0])
def test_gradient_clipping_bounds_the_norm_the_optimiser_sees(tmp_path, monkeypatch, clip):
    """The real loop: at optimizer.step the global gradient norm is at most grad_clip, while the
    logged (pre-clip) norm is larger; grad_clip 0 leaves the gradients alone."""
    import srnet.train.trainer as trainer

    seen: list[tuple[float, float]] = []
    real_build = trainer.build_optimizer

    def recording_build(cfg, model):
        optimizer, scheduler = real_build(cfg, model)

        def before_step(opt, args, kwargs) -> None:
            grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
            seen.append(float(torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(g) for g in grads]))))

        optimizer.register_step_pre_hook(before_step)
        return optimizer, scheduler

    monkeypatch.setattr(trainer, "build_optimizer", recording_build)
    root = make_davis(tmp_path / "davis")
    trainer.train(_cfg(tmp_path, steps=2, batch_size=1, grad_clip=clip), ModelConfig.tiny(),
                  [root])
    logged = [json.loads(line)["grad_norm"] for line in
              (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(seen) == len(logged) == 2
    for applied, before in zip(seen, logged, strict=True):
        assert before > 10 * 1e-4
        if clip:
            assert applied <= clip * 1.01
        else:
            assert applied == pytest.approx(before, rel=1e-4)


def _davis_with_splits(root: Path) -> Path:
    """Two holdout sequences (bear, car-turn) and one other (boat) listed in ImageSets val."""
    make_davis(root, seqs=("bear", "car-turn", "boat"), num_frames=4)
    (root / "ImageSets" / "480p").mkdir(parents=True)
    (root / "ImageSets" / "480p" / "val.txt").write_text(
        "/JPEGImages/480p/boat/00000.jpg /Annotations/480p/boat/00000.png\n")
    return root


@pytest.mark.parametrize("split,expected", [("holdout", ["bear", "car-turn"]),
                                            ("val", ["boat"])])
def test_eval_split_selects_its_sequences(tmp_path, capsys, split, expected):
    root = _davis_with_splits(tmp_path / "davis")
    assert main(["eval", "--davis", str(root), "--split", split, "--method", "copy", "--out",
                 str(tmp_path / "pred")]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split()[0] for line in lines if line.split()
            and line.split()[0] in ("bear", "car-turn", "boat")]
    assert rows == expected
    assert sorted(p.name for p in (tmp_path / "pred" / "copy").iterdir()) == expected
    assert lines[-1].startswith("J&F ") and np.isfinite(float(lines[-1].split()[1]))


def test_trunk_train_blocks_trains_only_the_last_lite0_blocks():
    """Issue #9 item 3: the last N trunk blocks learn at lr × trunk_lr_mult, the rest stay
    frozen, the feature cache is refused (features change), and BatchNorm keeps its statistics."""
    from srnet.train.config import TrainConfig
    from srnet.train.data import can_use_cache
    from srnet.train.model_setup import build_model, build_optimizer, set_train_mode

    cfg = TrainConfig(trunk_train_blocks=3, trunk_lr_mult=0.1, lr=1e-4)
    model, frozen = build_model(cfg, ModelConfig.lite())
    blocks = model.key_encoder.trunk._blocks
    assert all(p.requires_grad for b in blocks[8:11] for p in b.parameters())
    assert not any(p.requires_grad for b in blocks[:8] for p in b.parameters())
    assert not any(p.requires_grad for b in blocks[11:] for p in b.parameters())
    assert not frozen and not can_use_cache(model, frozen)
    optimizer, _ = build_optimizer(cfg, model)
    trunk_ids = {id(p) for b in blocks[8:11] for p in b.parameters()}
    for group in optimizer.param_groups:
        in_trunk = {id(p) in trunk_ids for p in group["params"]}
        assert len(in_trunk) == 1  # a group is all trunk or all head
        assert group["initial_lr"] == pytest.approx(1e-5 if in_trunk.pop() else 1e-4)
    set_train_mode(model, frozen or cfg.trunk_train_blocks > 0)
    assert not model.key_encoder.trunk.training and model.decoder.training

    _, fully_frozen = build_model(TrainConfig(), ModelConfig.lite())
    assert fully_frozen
    with pytest.raises(ValueError, match="trunk_train_blocks"):
        TrainConfig(trunk_train_blocks=12)
    with pytest.raises(ValueError, match="freeze_trunk"):  # would train the whole trunk
        TrainConfig(trunk_train_blocks=3, freeze_trunk=False)


def test_trunk_train_blocks_with_a_resnet_trunk_is_refused(tmp_path):
    """A ResNet key trunk trains whole by default, so "the last 3 blocks" was silently ignored
    and all 8.5 M trunk weights trained at lr x trunk_lr_mult (session 42's review)."""
    import argparse
    import dataclasses

    from srnet.train import cli
    from srnet.train.config import TrainConfig
    from srnet.train.model_setup import build_model

    resnet = dataclasses.replace(ModelConfig.tiny(), key_backbone="resnet50")
    with pytest.raises(ValueError, match="Lite0 trunk only"):
        build_model(TrainConfig(trunk_train_blocks=3), resnet)
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations").mkdir()
    flags = ["train", "--data", str(tmp_path), "--out", "o", "--set", "trunk_train_blocks=3"]
    with pytest.raises(ValueError, match="Lite0 trunk only"):
        cli.build_configs(parser.parse_args([*flags, "--config", "paper"]))
    cfg, _ = cli.build_configs(parser.parse_args(flags))  # Lite0: as before
    assert cfg.trunk_train_blocks == 3


def test_train_fraction_takes_a_nested_share_of_the_training_videos(tmp_path):
    from srnet.data.davis import VOSDataset
    from srnet.train.data import training_refs

    seqs = ("alpha", "beta", "gamma", "hold")
    dataset = VOSDataset(make_davis(tmp_path / "davis", seqs=seqs, num_frames=2))

    def names(fraction: float) -> set[str]:
        cfg = TrainConfig(holdout=("hold",), train_fraction=fraction)
        return {ref.seq for ref in training_refs([dataset], cfg)}

    everything, half = names(1.0), names(0.5)
    assert everything == set(seqs[:-1])  # the holdout never trains, whatever the share
    assert len(half) == 2 and len(names(0.34)) == 1 and names(0.34) < half < everything
    assert names(0.5) == half  # the same draw every run (seeded), so arms are comparable


def test_training_refs_refuse_clashing_roots_and_flag_unknown_holdout_names(tmp_path, caplog):
    """Two roots with one folder name would share feature-cache files; a holdout name found in
    no root (a typo) is logged, since its sequence would silently train."""
    from srnet.data.davis import VOSDataset
    from srnet.train.data import training_refs

    first = VOSDataset(make_davis(tmp_path / "a" / "davis", seqs=("alpha",), num_frames=2))
    second = VOSDataset(make_davis(tmp_path / "b" / "davis", seqs=("beta",), num_frames=2))
    with pytest.raises(ValueError, match="folder name"):
        training_refs([first, second], TrainConfig(holdout=("alpha",)))
    with caplog.at_level("WARNING"):
        refs = training_refs([first], TrainConfig(holdout=("alpah",)))
    assert [ref.seq for ref in refs] == ["alpha"] and "alpah" in caplog.text


def test_stack_clips_pads_fewer_objects_with_invalid_slots() -> None:
    """A one-object clip beside a two-object clip: its second slot is empty and not valid, its
    own `valid_objects` are kept (an object absent from frame 0 stays invalid)."""
    import numpy as np

    from srnet.data.clips import ClipInfo, VideoClip
    from srnet.train.batch import stack_clips

    def clip(objects: int, valid: list[bool]) -> VideoClip:
        masks = np.zeros((3, objects, 8, 8), np.float32)
        for k in range(objects):
            masks[:, k, k * 2:k * 2 + 2] = 1
        return VideoClip(np.zeros((3, 3, 8, 8), np.float32), masks, np.array(valid),
                         ClipInfo("c", (0, 1, 2), "static"))

    batch = stack_clips([clip(1, [True]), clip(2, [True, False])])
    assert batch.masks.shape == (2, 3, 2, 8, 8) and batch.frames.shape == (2, 3, 3, 8, 8)
    assert batch.valid.tolist() == [[True, False], [True, False]]
    assert not batch.masks[0, :, 1].any() and batch.masks[1, :, 1].any()
    assert batch.target[1, 0, 2].tolist() == [2] * 8  # slot k → index k + 1


def test_a_continuation_draws_its_own_clips(tmp_path):
    """Clips come from (seed, index) and every run starts at index 0: continuations from
    different checkpoints must not replay one stream (sessions 11-18 shared 70-83 % of their
    clips), while one checkpoint gives the same stream again (reproducible, resumable)."""
    from srnet.train.data import run_seed

    first = save_checkpoint(tmp_path / "a.pt", SRNet(ModelConfig.tiny()), half=False)
    torch.manual_seed(7)
    second = save_checkpoint(tmp_path / "b.pt", SRNet(ModelConfig.tiny()), half=False)
    fresh = TrainConfig(seed=3)
    assert run_seed(fresh) == 3
    from_a, from_b = TrainConfig(seed=3, init=str(first)), TrainConfig(seed=3, init=str(second))
    assert run_seed(from_a) != run_seed(from_b) and run_seed(from_a) != run_seed(fresh)
    assert run_seed(from_a) == run_seed(TrainConfig(seed=3, init=str(first)))
    assert run_seed(TrainConfig(seed=4, init=str(first))) != run_seed(from_a)


def test_a_misspelt_holdout_name_is_refused_before_training(tmp_path, capsys, caplog):
    """A holdout name in no --data root only logged a warning, so the sequence meant to be
    held out was trained on. Refused when other names are found; none found (data the
    holdout was not chosen for) stays a warning."""
    from srnet.data.davis import VOSDataset
    from srnet.train.data import training_refs

    root = make_davis(tmp_path / "davis")
    argv = _train_argv(root, tmp_path / "run", tmp_path)
    argv[argv.index("--holdout") + 1] = "hold,alpah"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"an earlier run")
    for extra in ([], ["--no-resume"], ["--cache-only"]):  # before any of them acts
        assert main([*argv, *extra]) == 2
        assert "argument --holdout: names found in no --data root: alpah" in \
            capsys.readouterr().err
    assert (tmp_path / "run" / "last.pt").read_bytes() == b"an earlier run"  # not moved aside
    refs = training_refs([VOSDataset(root)], TrainConfig(holdout=("bear", "car-turn")))
    assert refs and "no holdout name is in the --data roots (bear, car-turn)" in caplog.text
