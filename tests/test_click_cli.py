"""`python -m srnet clicks-eval` / `train-clicks`: argparse errors (exit 2, one line, no
traceback) and the evaluation's output format on a tiny hand-made folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srnet.__main__ import main
from srnet.interactive import ClickConfig, save_click_checkpoint
from srnet.interactive.predictor import build_click_net


@pytest.mark.parametrize("argv", [
    ["clicks-eval", "--images", "/nonexistent", "--masks", "/nonexistent"],
    ["clicks-eval", "--images", ".", "--masks", ".", "--max-clicks", "0"],
    ["clicks-eval", "--images", ".", "--masks", ".", "--max-clicks", "x"],
    ["clicks-eval", "--images", ".", "--masks", ".", "--method", "magic"],
    ["train-clicks", "--static", ".", "--out", "x", "--steps", "-3"],
    ["train-clicks", "--static", ".", "--out", "x", "--lr", "nan"],
    ["train-clicks", "--static", ".", "--out", "x", "--train-fraction", "1.5"],
    ["train-clicks", "--static", ".", "--out", "x", "--train-fraction", "0"],
    ["train-clicks", "--static", ".", "--out", "x", "--trunk-stride", "8"],
    ["train-clicks", "--static", ".", "--out", "x", "--out-stride", "1"],
    ["train-clicks", "--static", ".", "--out", "x", "--loss", "dice"],
    ["train-clicks", "--static", ".", "--out", "x", "--trunk-lr-mult", "0"],
])
def test_malformed_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_clicks_eval_prints_the_noc_line(tmp_path, capsys: pytest.CaptureFixture) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    for k in range(2):
        image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        mask = np.zeros((48, 64), np.uint8)
        mask[10:30, 15 + 10 * k:45] = 255
        mask[0:2] = 128
        Image.fromarray(image).save(images / f"im{k}.jpg")
        Image.fromarray(mask).save(masks / f"im{k}.png")
    torch.manual_seed(0)
    ckpt = save_click_checkpoint(tmp_path / "c.pt", build_click_net(ClickConfig(short_side=48)))
    code = main(["clicks-eval", "--images", str(images), "--masks", str(masks), "--max-clicks",
                 "3", "--checkpoint", str(ckpt)])
    last = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert code == 0 and last[0::2] == ["mIoU@1", "NoC@85", "NoC@90"]
    assert 0 <= float(last[1]) <= 1 and 1 <= float(last[3]) <= 3 and 1 <= float(last[5]) <= 3
    assert main(["clicks-eval", "--images", str(images), "--masks", str(masks),
                 "--checkpoint", str(tmp_path / "missing.pt")]) == 2


def _one_object_folder(root: Path) -> tuple[Path, Path]:
    images, masks = root / "images", root / "masks"
    images.mkdir()
    masks.mkdir()
    image = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    mask = np.zeros((48, 64), np.uint8)
    mask[10:30, 15:45] = 255
    Image.fromarray(image).save(images / "a.jpg")
    Image.fromarray(mask).save(masks / "a.png")
    return images, masks


def test_clicks_eval_checks_curves_and_files_before_the_run(tmp_path, capsys, caplog) -> None:
    """--curves on a folder or under a missing one failed after the whole evaluation (every
    score lost); on the user's own file it wrote over it. An unreadable image or mask ended
    in a traceback (OSError, UnidentifiedImageError)."""
    images, masks = _one_object_folder(tmp_path)
    torch.manual_seed(0)
    ckpt = save_click_checkpoint(tmp_path / "c.pt", build_click_net(ClickConfig(short_side=48)))
    base = ["clicks-eval", "--images", str(images), "--masks", str(masks), "--max-clicks", "2",
            "--checkpoint", str(ckpt)]
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    for target, says in ((images, "is a folder"), (tmp_path / "no" / "c.jsonl", "no folder"),
                         (notes, "holds no click curves")):
        assert main([*base, "--curves", str(target)]) == 2
        assert says in capsys.readouterr().err
    assert notes.read_text() == "my notes\n"
    curves = tmp_path / "c.jsonl"
    assert main([*base, "--curves", str(curves)]) == 0
    assert main([*base, "--curves", str(curves)]) == 0  # an earlier curves file is replaced
    assert '"ious"' in curves.read_text()
    (masks / "a.png").write_bytes(b"not a png")
    assert main(base) == 2
    assert f"cannot read {masks / 'a.png'}" in caplog.text
    (images / "a.jpg").write_bytes(b"\xff\xd8 truncated")
    assert main(base) == 2
    assert f"cannot read {images / 'a.jpg'}" in caplog.text


def test_train_clicks_refuses_bad_weights_before_loading_data(tmp_path, capsys) -> None:
    """A missing --init, or a run folder holding another network than --trunk-stride asks for,
    ends `train-clicks` with one line and exit 2, before any data is read (the static folder
    here is empty)."""
    static, out = tmp_path / "static", tmp_path / "run"
    static.mkdir()
    out.mkdir()
    assert main(["train-clicks", "--static", str(static), "--out", str(out),
                 "--init", str(tmp_path / "missing.pt")]) == 2
    assert "not found" in capsys.readouterr().err
    deep = build_click_net(ClickConfig(trunk_stride=32))
    torch.save({"model": deep.state_dict(), "optim": {}, "step": 5, "elapsed": 1.0,
                "click_config": deep.cfg.to_dict()}, out / "last.pt")
    assert main(["train-clicks", "--static", str(static), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "different network" in err and "--trunk-stride" in err and "Traceback" not in err


def test_train_clicks_passes_the_trunk_lr_share(tmp_path, monkeypatch) -> None:
    """`--trunk-lr-mult` reaches the training config (default: the shipped 0.1)."""
    import srnet.interactive.train as click_train

    seen = []
    monkeypatch.setattr(click_train, "train_clicks", lambda cfg, **kw: seen.append(cfg))
    base = ["train-clicks", "--static", str(tmp_path), "--out", str(tmp_path / "run")]
    assert main(base) == 0 and main(base + ["--trunk-lr-mult", "0.3"]) == 0
    assert [cfg.trunk_lr_mult for cfg in seen] == [0.1, 0.3]


def test_training_share_is_fixed_and_nested() -> None:
    """The data-size learning curve (#8): each share is a fixed draw inside every larger one."""
    from srnet.data.subsets import training_share

    objects = [f"obj{i}" for i in range(40)]
    quarter, half = training_share(objects, 0.25, 0), training_share(objects, 0.5, 0)
    assert len(quarter) == 10 and len(half) == 20
    assert set(quarter) < set(half)
    assert training_share(objects, 0.25, 0) == quarter  # same draw every run
    assert training_share(objects, 1.0, 0) == objects
    assert training_share(objects, 0.25, 1) != quarter
    with pytest.raises(ValueError, match="train_fraction"):
        training_share(objects, 0.0, 0)


def _tiny_static_set(tmp_path) -> Path:
    """A 12-image `bsds-sod` folder of black 64x64 images with a centred square object."""
    static = tmp_path / "static" / "bsds-sod"
    (static / "images").mkdir(parents=True)
    (static / "masks").mkdir()
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    for i in range(12):
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(static / "images" / f"{i:03d}.jpg")
        Image.fromarray(mask).save(static / "masks" / f"{i:03d}.png")
    return static


def test_a_resumed_run_drops_log_lines_written_after_its_last_save(tmp_path) -> None:
    """After a crash, log.jsonl may hold steps past the last saved state; resuming removes
    them, so the steps run again are not logged twice."""
    import json

    from srnet.interactive.model import head_parameters, trunk_parameters
    from srnet.interactive.train import ClickTrainConfig, train_clicks

    static, out = _tiny_static_set(tmp_path), tmp_path / "run"
    out.mkdir()
    model = build_click_net(ClickConfig())
    optim = torch.optim.AdamW([{"params": head_parameters(model), "lr_mult": 1.0},
                               {"params": trunk_parameters(model), "lr_mult": 0.1}])
    torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "step": 20,
                "click_config": model.cfg.to_dict(), "elapsed": 1.0}, out / "last.pt")
    (out / "log.jsonl").write_text("".join(json.dumps({"step": s}) + "\n" for s in (10, 20, 30)))
    train_clicks(ClickTrainConfig(static_root=str(static.parent), davis_root=None, out=str(out),
                                  steps=20, eval_objects=1))
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [10, 20]


def test_a_click_continuation_draws_its_own_batches(tmp_path, monkeypatch) -> None:
    """Batches come from (seed, step) and every run starts at step 0: a run from --init weights
    must not replay the batches of the run that made them (sessions 20-27 did), while the same
    --init gives the same batches again (reproducible)."""
    from srnet.interactive import train as click_train

    static = _tiny_static_set(tmp_path)
    init = save_click_checkpoint(tmp_path / "init.pt", build_click_net(ClickConfig()),
                                 {"total_steps": 100})
    drawn: list[int] = []

    class FirstBatchDrawnError(Exception):
        pass

    def first_draw(objects, cfg, rng):
        drawn.append(int(rng.integers(1 << 30)))
        raise FirstBatchDrawnError

    monkeypatch.setattr(click_train, "make_batch", first_draw)
    for run, start in (("fresh", None), ("cont", init), ("again", init)):
        with pytest.raises(FirstBatchDrawnError):
            click_train.train_clicks(click_train.ClickTrainConfig(
                static_root=str(static.parent), davis_root=None, out=str(tmp_path / run),
                steps=2, eval_objects=1, init=None if start is None else str(start)))
    assert drawn[0] != drawn[1] and drawn[1] == drawn[2]
