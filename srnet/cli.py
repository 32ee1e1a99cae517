"""CLI subcommands `segment` (propagate a first-frame mask through a clip) and `bench` (speed)."""

from __future__ import annotations

import argparse
import logging

import numpy as np

from srnet import (
    DEFAULT_CHECKPOINT,
    MIN_SHORT_SIDE,
    CheckpointError,
    InferenceConfig,
    ModelConfig,
    Predictor,
    SRNet,
    load_model,
)
from srnet.cli_args import (
    add_memory_args,
    backend_name,
    bounded_int,
    checkpoint_file,
    device_name,
    existing_dir,
    existing_file,
    fail,
    first_line,
    frame_size,
    memory_kwargs,
    one_line_errors,
    output_dir,
    positive_float,
    positive_int,
    short_side,
)
from srnet.inference.backends import BackendError

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    seg = one_line_errors(subparsers.add_parser(
        "segment", help="propagate a first-frame mask through a clip"))
    src = seg.add_mutually_exclusive_group(required=True)
    src.add_argument("--frames", type=existing_dir, help="folder of frames (sorted by name)")
    src.add_argument("--video", type=existing_file, help="video file")
    given = seg.add_mutually_exclusive_group(required=True)
    given.add_argument("--mask", type=existing_file,
                       help="first-frame mask PNG: 0/255 grayscale = one object, palette = several")
    given.add_argument("--masks", type=existing_dir,
                       help="folder of mask PNGs named like their frames (e.g. 00000.png, "
                            "00035.png): objects may first appear on any of them (YouTube-VOS)")
    seg.add_argument("--out", type=output_dir, required=True, help="output folder")
    _model_args(seg)
    seg.add_argument("--size", type=short_side, default=None,
                     help="internal short side in pixels, ≥ 64 (default 480)")
    seg.add_argument("--min-object-cells", type=positive_float, default=None, metavar="C",
                     help="run the clip up to 1.5x larger when its smallest first-frame object "
                          "covers fewer than C stride-16 cells (the demo uses 3; default off)")
    seg.add_argument("--no-video", action="store_true", help="skip overlay.mp4")
    add_memory_args(seg)
    seg.set_defaults(func=run_segment)

    bench = one_line_errors(subparsers.add_parser(
        "bench", help="time the engine on a synthetic clip"))
    _model_args(bench)
    bench.add_argument("--size", type=frame_size, default=(480, 854),
                       help="HxW of the frames, e.g. 480x854 (default)")
    bench.add_argument("--frames", type=positive_int, default=50)
    bench.add_argument("--objects", type=bounded_int(1, 20), default=1)
    bench.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    bench.add_argument("--reference", action="store_true",
                       help="also time two fixed reference workloads (compares CPUs)")
    add_memory_args(bench, adapt=False)
    bench.set_defaults(func=run_bench)


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=checkpoint_file, default=None,
                        help="SRNet checkpoint (default: the bundled assets/srnet_lite.pt)")
    parser.add_argument("--config", choices=["lite", "paper", "tiny"], default=None,
                        help="architecture; must match the checkpoint's when both are given")
    parser.add_argument("--device", type=device_name, default=None, metavar="{cpu,cuda}",
                        help="default: cuda when available, else cpu")
    parser.add_argument("--allow-untrained", action="store_true",
                        help="run with random weights when no checkpoint exists (output is noise)")
    parser.add_argument("--cpu-bf16", action="store_true",
                        help="bf16 autocast on the CPU: ~1.5x faster on CPUs with AMX / "
                             "AVX512-BF16 (default: fp32)")
    parser.add_argument("--backend", type=backend_name, default="torch",
                        metavar="{auto,torch,onnxruntime,openvino}",
                        help="engine of the convolutional stages on the CPU: torch (default) or "
                             "a compiled runtime (graphs exported once per frame size, cached in "
                             "~/.cache/srnet/onnx); auto = the fastest installed as measured "
                             "(torch today); CUDA always runs torch")


def build_predictor(args: argparse.Namespace, inference: InferenceConfig,
                    need_weights: bool = True) -> Predictor:
    """The checkpoint given, else the bundled one; random weights only when explicitly allowed."""
    path = args.checkpoint or (DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None)
    if args.checkpoint is None and args.config not in (None, "lite"):
        path = None  # the bundled checkpoint is lite; another architecture means untrained
    if path is not None:
        model, meta = load_model(path, expect_config=args.config)
        log.info("loaded %s (%s)", path, meta.get("summary", model.cfg.name))
        return Predictor(model, inference, args.device, args.backend)
    if need_weights and not args.allow_untrained:
        raise CheckpointError(
            f"no trained checkpoint for config {args.config or 'lite'!r} (looked for "
            f"{DEFAULT_CHECKPOINT}); pass --checkpoint PATH, or --allow-untrained to run with "
            "UNTRAINED random weights (the masks will be noise)")
    if need_weights:
        log.warning("running with UNTRAINED random weights: the masks are noise")
    # Random weights are new on every run: exporting them would fill the cache for nothing.
    backend = "torch" if args.backend == "auto" else args.backend
    return Predictor(SRNet(ModelConfig.preset(args.config or "lite")), inference, args.device,
                     backend)


def run_segment(args: argparse.Namespace) -> int:
    """`segment`: the predictor from the arguments, then the clip (srnet.cli_segment)."""
    from srnet.cli_segment import segment_clip

    try:
        predictor = build_predictor(args, InferenceConfig(
            short_side=args.size or 480, cpu_bf16=args.cpu_bf16,
            min_object_cells=args.min_object_cells, **memory_kwargs(args)))
    except CheckpointError as exc:
        return fail("--checkpoint", first_line(exc), "segment")
    except BackendError as exc:
        return fail("--backend", first_line(exc), "segment")
    return segment_clip(args, predictor)


def run_bench(args: argparse.Namespace) -> int:
    from srnet.bench import reference_lines, run_benchmark

    height, width = args.size
    try:
        side = max(MIN_SHORT_SIDE, min(height, width))  # smaller frames run enlarged
        predictor = build_predictor(args, InferenceConfig(short_side=side,
                                                          cpu_bf16=args.cpu_bf16,
                                                          **memory_kwargs(args)),
                                    need_weights=False)
    except CheckpointError as exc:
        return fail("--checkpoint", first_line(exc), "bench")
    except BackendError as exc:
        return fail("--backend", first_line(exc), "bench")
    report = run_benchmark(predictor, (height, width), args.frames, args.objects, args.threads)
    if args.reference:  # before the final `FPS x` line, which scripts read last
        report[-1:-1] = reference_lines(args.threads)
    for line in report:
        print(line)
    return 0


def synthetic_clip(size: tuple[int, int], num_frames: int, num_objects: int, seed: int = 0
                   ) -> tuple[list[np.ndarray], np.ndarray]:
    """Textured frames with moving discs, and the first frame's index mask (for benchmarks)."""
    import cv2

    rng = np.random.default_rng(seed)
    height, width = size
    texture = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    frames, first = [], np.zeros(size, np.uint8)
    for t in range(num_frames):
        frame = texture.copy()
        for obj in range(num_objects):
            centre = (int(width * (0.2 + 0.6 * ((obj + 1) / (num_objects + 1)))) + 2 * t,
                      int(height * 0.5))
            cv2.circle(frame, centre, max(height // 8, 4), (60 + 60 * obj, 200, 90), -1)
            if t == 0:
                cv2.circle(first, centre, max(height // 8, 4), obj + 1, -1)
        frames.append(frame)
    return frames, first
