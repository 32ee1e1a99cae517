"""Every subcommand answers a malformed value with one line that names the argument and what it
expects, exit code 2, never a traceback (issue #14 item 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srnet import save_checkpoint
from srnet.__main__ import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A frame folder, a mask, a text file posing as a checkpoint, a torch file that is not an
    SRNet checkpoint and a tiny DAVIS-layout root."""
    root = tmp_path_factory.mktemp("cli")
    frames = root / "frames"
    frames.mkdir()
    Image.fromarray(np.zeros((64, 96, 3), np.uint8)).save(frames / "00000.jpg")
    mask = np.zeros((64, 96), np.uint8)
    mask[10:30, 10:30] = 255
    Image.fromarray(mask).save(root / "mask.png")
    (root / "notes.pt").write_text("not a checkpoint\n")
    torch.save({"weights": torch.zeros(3)}, root / "foreign.pt")
    davis = root / "davis"
    for sub in ("JPEGImages/480p/seq", "Annotations/480p/seq"):
        (davis / sub).mkdir(parents=True)
    Image.fromarray(np.zeros((64, 96, 3), np.uint8)).save(davis / "JPEGImages/480p/seq/00000.jpg")
    Image.fromarray(mask).save(davis / "Annotations/480p/seq/00000.png")
    return {"frames": frames, "mask": root / "mask.png", "notes": root / "notes.pt",
            "foreign": root / "foreign.pt", "davis": davis, "out": root / "out"}


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """main() in process: (exit code, stderr); argparse errors exit through SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def _segment(files: dict[str, Path], *extra: str) -> list[str]:
    return ["segment", "--frames", str(files["frames"]), "--mask", str(files["mask"]), "--out",
            str(files["out"]), *extra]


CASES = [  # (argv builder, the argument named, what it expects)
    (lambda f: ["bench", "--size", "abc"], "--size", "expected HxW"),
    (lambda f: ["bench", "--size", "0x0"], "--size", "expected HxW"),
    (lambda f: ["bench", "--size", "480x"], "--size", "expected HxW"),
    (lambda f: ["bench", "--frames", "0"], "--frames", "integer ≥ 1"),
    (lambda f: ["bench", "--objects", "many"], "--objects", "integer from 1 to 20"),
    (lambda f: ["bench", "--checkpoint", str(f["notes"])], "--checkpoint", "SRNet checkpoint"),
    (lambda f: _segment(f, "--checkpoint", str(f["notes"])), "--checkpoint", "SRNet checkpoint"),
    (lambda f: _segment(f, "--checkpoint", str(f["foreign"])), "--checkpoint",
     "not an SRNet checkpoint"),
    (lambda f: _segment(f, "--checkpoint", str(f["frames"] / "nope.pt")), "--checkpoint",
     "existing file"),
    (lambda f: _segment(f, "--size", "32"), "--size", "integer from 64 to 4096"),
    (lambda f: _segment(f, "--size", "big"), "--size", "integer from 64 to 4096"),
    (lambda f: _segment(f, "--min-object-cells", "0"), "--min-object-cells", "positive number"),
    (lambda f: ["segment", "--frames", str(f["mask"]), "--mask", str(f["mask"]), "--out",
                str(f["out"])], "--frames", "existing folder"),
    (lambda f: ["segment", "--video", str(f["frames"] / "none.mp4"), "--mask", str(f["mask"]),
                "--out", str(f["out"])], "--video", "existing file"),
    (lambda f: ["segment", "--frames", str(f["frames"]), "--mask", str(f["mask"]), "--out",
                str(f["mask"])], "--out", "output folder"),
    (lambda f: ["eval", "--davis", str(f["frames"])], "--davis", "DAVIS-layout root"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--instances", str(f["mask"])],
     "--instances", "existing folder"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--static",
                str(f["frames"] / "none")], "--static", "existing folder"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--p-video",
                "1.5"], "--p-video", "fraction from 0 to 1"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--size", "-5"], "--size", "64 to 4096"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--max-frames", "x"], "--max-frames",
     "integer ≥ 1"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--resolution", "1080p"], "--resolution",
     "found: 480p"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--checkpoint", str(f["notes"])],
     "--checkpoint", "SRNet checkpoint"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--seqs", "nope", "--method", "copy"],
     "--seqs", "not found: nope"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--seqs", ","], "--seqs",
     "comma-separated names"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--split", "val", "--method", "copy"],
     "--split", "ImageSets file"),
    (lambda f: ["eval", "--davis", str(f["davis"]), "--seqs", "seq", "--method", "magic"],
     "--method", "subset of srnet,copy,flow"),
    (lambda f: ["train", "--data", str(f["frames"]), "--out", str(f["out"])], "--data",
     "DAVIS-layout root"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--crop", "100"],
     "--crop", "multiple of 16"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--lr", "-1"],
     "--lr", "positive number"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--steps", "1.5"],
     "--steps", "integer ≥ 1"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--cache-scales",
                "480,big"], "--cache-scales", "positive integers"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--init",
                str(f["notes"])], "--init", "SRNet checkpoint"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--init",
                str(f["foreign"])], "--init", "expected an SRNet checkpoint"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--set", "nope=1"],
     "--set", "unknown TrainConfig field 'nope'"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]), "--set", "lr"],
     "--set", "key=value"),
    (lambda f: ["train", "--data", str(f["davis"]), "--out", str(f["out"]),
                "--backbone-weights", "trunk=x.pth"], "--backbone-weights", "key=PATH"),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_malformed_value_is_one_line_naming_the_argument(case, files, capsys):
    build, argument, expects = CASES[case]
    code, err = _run(build(files), capsys)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert f"argument {argument}: " in lines[0] and expects in lines[0], lines[0]
    assert "Traceback" not in err


def test_init_with_another_architecture_names_both(files, tmp_path, capsys):
    from srnet import ModelConfig, SRNet

    ckpt = save_checkpoint(tmp_path / "tiny.pt", SRNet(ModelConfig.tiny()))
    code, err = _run(["train", "--config", "lite", "--data", str(files["davis"]), "--out",
                      str(files["out"]), "--init", str(ckpt)], capsys)
    assert code == 2
    assert "argument --init: " in err and "'tiny' model" in err and "'lite'" in err


def test_a_non_checkpoint_exits_2_without_a_traceback_as_a_real_process(tmp_path):
    """Exactly what a user types (one process: starting Python with torch takes seconds; the
    in-process cases above cover `bench --size abc` / `0x0` through the same `main`)."""
    result = subprocess.run(
        [sys.executable, "-m", "srnet", "segment", "--frames", ".", "--mask", "README.md",
         "--out", str(tmp_path / "out"), "--checkpoint", "README.md"],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "argument --checkpoint: expected an SRNet checkpoint" in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["bench", "segment", "eval"])
def test_cuda_requested_without_a_gpu_is_one_line(command, files, capsys):
    argv = {"bench": ["bench"], "segment": _segment(files),
            "eval": ["eval", "--davis", str(files["davis"])]}[command]
    code, err = _run([*argv, "--device", "cuda"], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "argument --device: cuda was requested" in lines[0]
