"""Entry point of the SRNet Gradio demo (the Space's app_file): settings → DemoConfig, the
predictor loaded once under `gr.NO_RELOAD`, `demo` at module level, launch under __main__.

On a ZeroGPU Space the model is loaded here at start with `.to("cuda")` (spaces allows that at
module level, on the main thread only: `zerogpu.load_at_start`) and the network handlers run
inside `spaces.GPU`; `SRNET_FAKE_ZEROGPU=1` runs the same way on a CPU machine with a forked
stand-in (demo/zerogpu.py)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
from pathlib import Path

import gradio as gr

from demo import CSS, DemoConfig, build_demo, janitor, measure_fps, zerogpu
from srnet import (
    DEFAULT_CHECKPOINT,
    CheckpointError,
    InferenceConfig,
    ModelConfig,
    Predictor,
    SRNet,
    load_predictor,
    resolve_device,
)

parser = argparse.ArgumentParser(description="SRNet video object segmentation demo")
parser.add_argument("--checkpoint",
                    default=os.environ.get("SRNET_CHECKPOINT") or DEFAULT_CHECKPOINT,
                    help="trained SRNet checkpoint (env SRNET_CHECKPOINT, empty = unset; default "
                         "the bundled assets/srnet_lite.pt). A missing or unusable file stops "
                         "the app.")
parser.add_argument("--random-weights", action="store_true",
                    help="debug: run an UNTRAINED lite network on purpose (no checkpoint read)")
parser.add_argument("--device", default=os.environ.get("SRNET_DEVICE") or None,
                    help="cpu | cuda | cuda:N (default: CUDA when present, else the CPU)")
parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
parser.add_argument("--cpu-bf16", action="store_true",
                    default=os.environ.get("SRNET_CPU_BF16", "") not in ("", "0"),
                    help="bf16 autocast on the CPU (~1.5x faster with AMX / AVX512-BF16)")
args, _ = parser.parse_known_args()


def load() -> tuple[Predictor, DemoConfig]:
    """The trained predictor (random weights only with --random-weights) and the config with a
    measured speed hint. An unusable checkpoint raises CheckpointError: the app does not start
    on untrained weights by accident."""
    inference = InferenceConfig(cpu_bf16=args.cpu_bf16)
    if args.random_weights:
        predictor = Predictor(SRNet(ModelConfig.lite()), inference, args.device)
        note = "Started with `--random-weights` (no checkpoint read)."
    else:
        predictor, meta = load_predictor(args.checkpoint, device=args.device, config=inference)
        note = f"Checkpoint {Path(args.checkpoint).name}: {meta.get('summary', 'no summary')}."
    size = DemoConfig().short_side(predictor.device.type)
    # On ZeroGPU the GPU exists only inside @spaces.GPU calls: no start-up measurement there
    # (the hint then comes from the first propagation).
    fps = None if zerogpu.mode() == "spaces" else measure_fps(predictor, size)
    return predictor, DemoConfig(random_weights=args.random_weights, checkpoint_note=note,
                                 fps_hint=fps)


def checkpoint_error(exc: CheckpointError) -> str:
    """The one line the app stops with: what is wrong with which file, and the two fixes."""
    reason = " ".join(str(exc).split()).split(". ")[0][:300]  # torch's notes run for paragraphs
    return (f"app.py: error: no usable checkpoint ({reason}); pass --checkpoint PATH or "
            f"SRNET_CHECKPOINT=PATH (a trained SRNet checkpoint), or --random-weights to run "
            f"UNTRAINED on purpose")


if gr.NO_RELOAD:  # `gradio app.py` reload mode keeps the loaded weights
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        resolve_device(args.device)  # --device cuda without a GPU: one line, not a traceback
    except (ValueError, RuntimeError) as exc:
        print(f"app.py: error: --device {args.device}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        # all torch work on one thread (demo/torch_thread.py); on ZeroGPU the main thread
        predictor, cfg = zerogpu.load_at_start(load)
    except CheckpointError as exc:
        print(checkpoint_error(exc), file=sys.stderr)
        raise SystemExit(2) from None
demo = build_demo(predictor, cfg)

if __name__ == "__main__":
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 PID` prints every thread's stack to stderr:
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # how a stuck handler is found
    janitor.start(demo, cfg.temp_root)  # idle API sessions, orphan folders, empty cache folders
    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=1).launch(
        server_name=args.host, server_port=args.port, allowed_paths=[str(cfg.examples_dir)],
        max_file_size=cfg.max_upload_bytes, css=CSS)
