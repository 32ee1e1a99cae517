"""`python -m srnet segment` on a short real DAVIS clip, its error paths, and `bench`."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import DAVIS_ROOT, davis_folder, make_clip
from PIL import Image

from srnet import load_index_mask, save_checkpoint, save_index_mask
from srnet.__main__ import main

REPO = Path(__file__).resolve().parents[1]


def _short_clip(tmp_path: Path, num_frames: int = 4) -> tuple[Path, Path]:
    """The first frames of DAVIS `bear` (real data) when available, else a synthetic clip."""
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    seq = DAVIS_ROOT / "JPEGImages/480p/bear"
    if seq.is_dir():
        for i in range(num_frames):
            shutil.copy(seq / f"{i:05d}.jpg", frames_dir / f"{i:05d}.jpg")
        shutil.copy(DAVIS_ROOT / "Annotations/480p/bear/00000.png", tmp_path / "first.png")
    else:
        frames, masks = make_clip(num_frames, size=(96, 160), num_objects=2)
        for i, frame in enumerate(frames):
            Image.fromarray(frame).save(frames_dir / f"{i:05d}.jpg")
        save_index_mask(tmp_path / "first.png", masks[0])
    return frames_dir, tmp_path / "first.png"


def test_segment_writes_one_palette_png_per_frame_at_input_size(tmp_path, tiny_model):
    frames_dir, first = _short_clip(tmp_path)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    out = tmp_path / "out"
    code = main(["segment", "--frames", str(frames_dir), "--mask", str(first), "--out", str(out),
                 "--checkpoint", str(ckpt), "--device", "cpu", "--size", "96"])
    assert code == 0
    inputs = sorted(p.stem for p in frames_dir.iterdir())
    written = sorted(p.stem for p in out.glob("*.png"))
    assert written == inputs
    first_in = Image.open(next(frames_dir.iterdir()))
    for png in out.glob("*.png"):
        image = Image.open(png)
        assert image.mode == "P" and image.size == first_in.size
    first_out = np.asarray(Image.open(out / f"{inputs[0]}.png"))
    assert np.array_equal(first_out, load_index_mask(first)), "frame 0 keeps the given mask"
    assert (out / "overlay.mp4").stat().st_size > 1000


def test_segment_without_checkpoint_says_weights_are_untrained(tmp_path, capsys):
    frames_dir, first = _short_clip(tmp_path, num_frames=2)
    code = main(["segment", "--frames", str(frames_dir), "--mask", str(first), "--out",
                 str(tmp_path / "o"), "--config", "paper"])
    assert code == 2
    err = capsys.readouterr().err
    assert "argument --checkpoint: no trained checkpoint" in err and "--allow-untrained" in err


def test_segment_rejects_a_mask_of_the_wrong_size(tmp_path, tiny_model):
    frames_dir, _ = _short_clip(tmp_path, num_frames=2)
    save_index_mask(tmp_path / "small.png", np.ones((10, 10), np.uint8))
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    code = main(["segment", "--frames", str(frames_dir), "--mask", str(tmp_path / "small.png"),
                 "--out", str(tmp_path / "o"), "--checkpoint", str(ckpt)])
    assert code == 2


def test_bench_prints_stage_times_and_fps():
    result = subprocess.run(
        [sys.executable, "-m", "srnet", "bench", "--config", "tiny", "--size", "64x96",
         "--frames", "4", "--device", "cpu"], capture_output=True, text=True, cwd=REPO,
        timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("FPS ") and float(lines[-1].split()[1]) > 0
    assert any("encode_frame" in line for line in lines)
    assert "frames 4" in lines[0]


def test_bench_reference_ratios_compare_to_the_target_machine(monkeypatch):
    """Twice as slow as the target machine on both workloads → ratio 2 (workloads not run)."""
    import srnet.bench as bench

    calls = []

    def fake_median(fn, repeats=5):
        calls.append(fn)
        return 2 * list(bench._REFERENCE_SECONDS.values())[len(calls) - 1]

    monkeypatch.setattr(bench, "_median_seconds", fake_median)
    lines = bench.reference_lines()
    assert len(calls) == 2 and all(line.endswith("ratio 2.00)") for line in lines)
    assert lines[0].startswith("reference efficientnet_b0_stride16 0.320 s")


def _synthetic_frames(tmp_path: Path, num_frames: int) -> tuple[Path, list[np.ndarray]]:
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    frames, masks = make_clip(num_frames, size=(64, 96), num_objects=2)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(frames_dir / f"{i:05d}.png")
    return frames_dir, masks


def _segment_with_masks(tmp_path: Path, model, source: list[str], given: dict[str, np.ndarray],
                        *extra: str) -> int:
    """Write `given` (file stem → index mask) into a folder and run segment --masks on it."""
    folder = tmp_path / "given"
    folder.mkdir()
    for stem, mask in given.items():
        save_index_mask(folder / f"{stem}.png", mask)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", model)
    return main(["segment", *source, "--masks", str(folder), "--checkpoint", str(ckpt),
                 "--device", "cpu", *extra])


def test_segment_masks_folder_adds_objects_where_they_first_appear(tmp_path, tiny_model):
    """YouTube-VOS protocol: object 1 is given on frame 1, object 2 only on frame 3."""
    frames_dir, masks = _synthetic_frames(tmp_path, 5)
    out = tmp_path / "out"
    given = {"00001": np.where(masks[1] == 1, 1, 0).astype(np.uint8),
             "00003": np.where(masks[3] == 2, 2, 0).astype(np.uint8)}
    code = _segment_with_masks(tmp_path, tiny_model, ["--frames", str(frames_dir)], given,
                               "--out", str(out), "--no-video")
    assert code == 0
    results = [load_index_mask(out / f"{i:05d}.png") for i in range(5)]
    assert not results[0].any(), "frames before the first annotation stay empty"
    assert np.array_equal(results[1], np.where(masks[1] == 1, 1, 0)), "frame 1 keeps its mask"
    assert not (results[2] == 2).any(), "object 2 is unknown before frame 3"
    assert (results[3][masks[3] == 2] == 2).all(), "object 2 joins with its given mask"
    assert set(np.unique(np.concatenate(results[3:]))) <= {0, 1, 2}


def test_segment_masks_folder_rejects_names_that_match_no_frame(tmp_path, tiny_model, caplog):
    frames_dir, masks = _synthetic_frames(tmp_path, 2)
    code = _segment_with_masks(tmp_path, tiny_model, ["--frames", str(frames_dir)],
                               {"frame_7": masks[0]}, "--out", str(tmp_path / "o"), "--no-video")
    assert code == 2 and "frame_7.png" in caplog.text


def test_segment_masks_of_a_video_naming_one_frame_twice_are_refused(tmp_path, tiny_model,
                                                                       caplog):
    video, masks = _synthetic_video(tmp_path, 4)
    code = _segment_with_masks(tmp_path, tiny_model, ["--video", str(video)],
                               {"3": masks[3], "003": masks[0]}, "--out", str(tmp_path / "o"),
                               "--no-video")  # one of them was dropped without a word
    assert code == 2 and "name the same frame" in caplog.text


def test_segment_rejects_an_empty_first_mask(tmp_path, tiny_model, caplog):
    frames_dir, _ = _synthetic_frames(tmp_path, 2)
    save_index_mask(tmp_path / "empty.png", np.zeros((64, 96), np.uint8))
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    code = main(["segment", "--frames", str(frames_dir), "--mask", str(tmp_path / "empty.png"),
                 "--out", str(tmp_path / "o"), "--checkpoint", str(ckpt), "--no-video"])
    assert code == 2 and "empty" in caplog.text


def _synthetic_video(tmp_path: Path, num_frames: int) -> tuple[Path, list[np.ndarray]]:
    from srnet.io import write_mp4

    frames, masks = make_clip(num_frames, size=(64, 96), num_objects=1)
    return write_mp4(tmp_path / "clip.mp4", frames, 10.0), masks


def test_segment_streams_a_video_frame_by_frame(tmp_path, tiny_model, monkeypatch):
    """Decoding, segmenting and writing interleave, so a 10-minute clip never sits in memory."""
    import srnet.cli_segment as cli

    video, masks = _synthetic_video(tmp_path, 6)
    events = []
    frames, fps = cli.iter_video(video)

    def traced_frames():
        for i, frame in enumerate(frames):
            events.append(("decode", i))
            yield frame

    monkeypatch.setattr(cli, "iter_video", lambda path: (traced_frames(), fps))
    real_save = cli.save_index_mask
    monkeypatch.setattr(cli, "save_index_mask",
                        lambda path, mask: (events.append(("png", int(Path(path).stem))),
                                            real_save(path, mask)))
    out = tmp_path / "out"
    code = _segment_with_masks(tmp_path, tiny_model, ["--video", str(video)], {"00002": masks[2]},
                               "--out", str(out))
    assert code == 0
    assert events == [(kind, i) for i in range(6) for kind in ("decode", "png")]
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i:05d}.png" for i in range(6)]
    assert not load_index_mask(out / "00001.png").any()
    assert (out / "overlay.mp4").stat().st_size > 1000


def test_segment_says_when_no_frame_carries_the_annotation(tmp_path, tiny_model, caplog):
    video, masks = _synthetic_video(tmp_path, 3)
    code = _segment_with_masks(tmp_path, tiny_model, ["--video", str(video)], {"00009": masks[0]},
                               "--out", str(tmp_path / "o"), "--no-video")
    assert code == 2 and "00009" in caplog.text


def test_segment_names_a_corrupt_video_in_one_line(tmp_path, tiny_model, caplog):
    """A broken upload gets the decoder's reason, not ffmpeg's version banner and build flags."""
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    save_index_mask(tmp_path / "first.png", np.ones((64, 96), np.uint8))
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    code = main(["segment", "--video", str(corrupt), "--mask", str(tmp_path / "first.png"),
                 "--out", str(tmp_path / "o"), "--checkpoint", str(ckpt), "--no-video"])
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert code == 2 and len(errors) == 1 and "corrupt.mp4" in errors[0], errors
    assert "\n" not in errors[0] and "ffmpeg version" not in errors[0], errors[0]


def test_segment_min_object_cells_runs_a_small_object_larger(tmp_path, tiny_model, caplog):
    frames_dir, first = _short_clip(tmp_path, num_frames=2)
    tiny = np.zeros_like(load_index_mask(first))
    tiny[20:26, 30:36] = 1  # 36 px: far under 3 cells at any size here
    save_index_mask(tmp_path / "tiny.png", tiny)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    args = ["segment", "--frames", str(frames_dir), "--mask", str(tmp_path / "tiny.png"),
            "--checkpoint", str(ckpt), "--device", "cpu", "--size", "96", "--no-video"]
    caplog.set_level("INFO")
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert "runs at" not in caplog.text
    assert main([*args, "--out", str(tmp_path / "big"), "--min-object-cells", "3"]) == 0
    assert "a small object: this video runs at 1.50x" in caplog.text
    assert len(list((tmp_path / "big").glob("*.png"))) == 2


def test_segment_and_eval_pass_the_memory_flags_to_the_session(tmp_path, tiny_model, monkeypatch):
    """`--mem-every/--top-k/--local-interval/--max-working/--mirror-average` reach the
    InferenceConfig that sessions run with (unset ones keep the defaults), in `segment`,
    `eval` and `bench`."""
    from srnet import InferenceConfig
    from srnet.inference import predictor as predictor_module

    seen = []
    real = predictor_module.Predictor.new_session
    monkeypatch.setattr(predictor_module.Predictor, "new_session",
                        lambda self, config=None: seen.append(config or self.config)
                        or real(self, config))
    frames_dir, first = _short_clip(tmp_path, num_frames=2)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    assert main(["segment", "--frames", str(frames_dir), "--mask", str(first), "--checkpoint",
                 str(ckpt), "--device", "cpu", "--size", "64", "--no-video", "--out",
                 str(tmp_path / "out"), "--mem-every", "2", "--top-k", "7"]) == 0
    default = InferenceConfig()
    assert (seen[-1].mem_every, seen[-1].top_k) == (2, 7)
    assert (seen[-1].local_interval, seen[-1].max_working_frames) == (
        default.local_interval, default.max_working_frames)
    davis = davis_folder(tmp_path / "davis", seqs=("clip",), num_frames=2)
    assert main(["eval", "--davis", str(davis), "--seqs", "clip", "--checkpoint", str(ckpt),
                 "--method", "srnet", "--size", "64", "--local-interval", "3",
                 "--max-working", "4"]) == 0
    assert (seen[-1].local_interval, seen[-1].max_working_frames) == (3, 4)
    assert seen[-1].mem_every == default.mem_every and not seen[-1].mirror_average
    assert main(["bench", "--config", "tiny", "--size", "64x96", "--frames", "3", "--device",
                 "cpu", "--mirror-average"]) == 0
    assert seen[-1].mirror_average and seen[-1].top_k == default.top_k


def test_segment_and_eval_adapt_a_copy_of_the_network_first(tmp_path, tiny_model, monkeypatch):
    """`--adapt-steps N` fine-tunes each clip's copy before its first frame (segment: on the
    first annotated frame; eval: on frame 0), N steps; without it nothing is tuned."""
    from srnet.train import adapt as adapt_module

    runs = []
    real = adapt_module.iter_adaptation

    def counting(model, examples, steps, lr=1e-4, **kwargs):
        runs.append((steps, [mask.max() for _, mask in examples]))
        return real(model, examples, steps, lr, **kwargs)

    monkeypatch.setattr(adapt_module, "iter_adaptation", counting)
    frames_dir, first = _short_clip(tmp_path, num_frames=3)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    common = ["--checkpoint", str(ckpt), "--device", "cpu", "--size", "64"]
    assert main(["segment", "--frames", str(frames_dir), "--mask", str(first), "--no-video",
                 "--out", str(tmp_path / "plain"), *common]) == 0
    assert runs == []
    assert main(["segment", "--frames", str(frames_dir), "--mask", str(first), "--no-video",
                 "--out", str(tmp_path / "tuned"), "--adapt-steps", "2", *common]) == 0
    assert runs == [(2, [load_index_mask(first).max()])]
    assert len(list((tmp_path / "tuned").glob("*.png"))) == 3
    davis = davis_folder(tmp_path / "davis", seqs=("clip",), num_frames=2)
    assert main(["eval", "--davis", str(davis), "--seqs", "clip", "--method", "srnet",
                 "--adapt-steps", "1", *common]) == 0
    assert len(runs) == 2 and runs[-1][0] == 1


def test_segment_never_writes_over_its_inputs_and_says_why(tmp_path, tiny_model, capsys):
    """--out equal to the frames folder replaced the user's PNG frames with masks."""
    frames_dir, masks = _synthetic_frames(tmp_path, 3)
    before = {p.name: p.read_bytes() for p in frames_dir.iterdir()}
    save_index_mask(tmp_path / "first.png", masks[0])
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    base = ["segment", "--frames", str(frames_dir), "--mask", str(tmp_path / "first.png"),
            "--checkpoint", str(ckpt), "--device", "cpu", "--no-video"]
    assert main([*base, "--out", str(frames_dir)]) == 2
    assert "argument --out: it is the --frames folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in frames_dir.iterdir()} == before
    (tmp_path / "afile").write_text("x")
    assert main([*base, "--out", str(tmp_path / "afile" / "sub")]) == 2  # no traceback
    assert "argument --out: cannot create it" in capsys.readouterr().err


def test_segment_masks_fit_the_frames_and_drop_void(tmp_path, tiny_model, caplog):
    """A --masks file drawn at half size is enlarged, upper-case .PNG is found, and DAVIS's
    void (255) is not tracked as object 255."""
    frames_dir, masks = _synthetic_frames(tmp_path, 3)
    half = np.where(masks[0] == 1, 1, 0).astype(np.uint8)[::2, ::2].copy()
    half[:2, :2] = 255
    folder = tmp_path / "given"
    folder.mkdir()
    save_index_mask(folder / "00000.PNG", half)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    out = tmp_path / "out"
    with caplog.at_level("INFO"):
        code = main(["segment", "--frames", str(frames_dir), "--masks", str(folder), "--out",
                     str(out), "--checkpoint", str(ckpt), "--device", "cpu", "--no-video"])
    assert code == 0
    first = load_index_mask(out / "00000.png")
    assert first.shape == masks[0].shape and set(np.unique(first)) == {0, 1}
    assert "void pixels (255) ignored" in caplog.text and "mask resized" in caplog.text


def test_a_failed_segment_run_leaves_the_last_runs_results_as_they_were(tmp_path, tiny_model,
                                                                       caplog, capsys):
    """A frame that failed to decode halfway replaced overlay.mp4 with a 2-frame video and the
    first PNGs with this run's, leaving a folder half old, half new."""
    frames_dir, masks = _synthetic_frames(tmp_path, 4)
    save_index_mask(tmp_path / "first.png", masks[0])
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    out = tmp_path / "out"
    base = ["segment", "--mask", str(tmp_path / "first.png"), "--checkpoint", str(ckpt),
            "--device", "cpu", "--out", str(out)]
    assert main([*base, "--frames", str(frames_dir)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(before) == 5 and "overlay.mp4" in before  # 4 masks and the video
    broken = tmp_path / "broken"
    shutil.copytree(frames_dir, broken)
    (broken / "00002.png").write_bytes(b"\x89PNG truncated")
    assert main([*base, "--frames", str(broken)]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "00002" in errors[-1] and f"nothing in {out} was changed" in errors[-1]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no leftover folder
    mixed = tmp_path / "mixed"
    shutil.copytree(frames_dir, mixed)
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(mixed / "00003.png")
    assert main([*base, "--frames", str(mixed)]) == 2  # named, and nothing changed either
    assert "frame 00003: frame 3 is (40, 60)" in caplog.records[-1].getMessage()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # a mask named like a frame, in --out: the frame's result would overwrite the annotation
    annotation = out / "00000.png"
    save_index_mask(annotation, masks[0])
    kept = annotation.read_bytes()
    rest = [*base[3:], "--frames", str(frames_dir)]  # all but the mask
    assert main(["segment", "--mask", str(annotation), *rest]) == 2
    assert annotation.read_bytes() == kept
    assert "argument --out: 00000.png would be overwritten" in capsys.readouterr().err
    (out / "first.png").write_bytes((tmp_path / "first.png").read_bytes())  # no clash: runs
    assert main(["segment", "--mask", str(out / "first.png"), *rest]) == 0
    assert not list(out.glob(".segment-*"))  # its own folder went once the run was done


def test_segment_says_when_out_cannot_be_written_and_names_a_killed_runs_folder(
        tmp_path, tiny_model, capsys, caplog, monkeypatch):
    """A read-only --out raised a PermissionError traceback once the results went to a folder
    of their own first; a run killed outright leaves that folder, which the next run names."""
    import tempfile

    frames_dir, masks = _synthetic_frames(tmp_path, 2)
    save_index_mask(tmp_path / "first.png", masks[0])
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    out = tmp_path / "out"
    (out / ".segment-killed").mkdir(parents=True)
    argv = ["segment", "--mask", str(tmp_path / "first.png"), "--checkpoint", str(ckpt),
            "--device", "cpu", "--out", str(out), "--frames", str(frames_dir), "--no-video"]

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(out))

    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkdtemp", read_only)
        assert main(argv) == 2
    assert "argument --out: cannot write the results" in capsys.readouterr().err
    assert "1 unfinished run folder(s) (.segment-killed)" in caplog.text
    assert main(argv) == 0 and sorted(p.name for p in out.iterdir()) == \
        [".segment-killed", "00000.png", "00001.png"]
