"""Entry point of the SRNet Gradio demo (the Space's app_file): settings → DemoConfig, the
predictor loaded once under `gr.NO_RELOAD`, `demo` at module level, launch under __main__."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import gradio as gr

from demo import DemoConfig, build_demo, measure_fps, torch_thread
from srnet import (
    DEFAULT_CHECKPOINT,
    CheckpointError,
    InferenceConfig,
    ModelConfig,
    Predictor,
    SRNet,
    load_predictor,
)

parser = argparse.ArgumentParser(description="SRNet video object segmentation demo")
parser.add_argument("--checkpoint", default=os.environ.get("SRNET_CHECKPOINT", DEFAULT_CHECKPOINT))
parser.add_argument("--random-weights", action="store_true", help="debug: untrained lite network")
parser.add_argument("--device", default=os.environ.get("SRNET_DEVICE"), help="cpu | cuda")
parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
parser.add_argument("--cpu-bf16", action="store_true",
                    default=os.environ.get("SRNET_CPU_BF16", "") not in ("", "0"),
                    help="bf16 autocast on the CPU (~1.5x faster with AMX / AVX512-BF16)")
args, _ = parser.parse_known_args()


def load() -> tuple[Predictor, DemoConfig]:
    """The predictor (or random weights, said loudly) and the config with a measured speed hint."""
    note, predictor = "", None
    try:
        if not args.random_weights:
            predictor, meta = load_predictor(args.checkpoint, device=args.device,
                                             config=InferenceConfig(cpu_bf16=args.cpu_bf16))
            note = f"Checkpoint {Path(args.checkpoint).name}: {meta.get('summary', 'no summary')}."
    except CheckpointError as exc:
        logging.getLogger("app").error("%s: falling back to random weights", exc)
        note = f"**No usable checkpoint** ({exc}): running with UNTRAINED random weights."
    untrained = predictor is None
    predictor = predictor or Predictor(SRNet(ModelConfig.lite()),
                                       InferenceConfig(cpu_bf16=args.cpu_bf16), args.device)
    size = DemoConfig().short_side(predictor.device.type)
    return predictor, DemoConfig(random_weights=untrained, checkpoint_note=note,
                                 fps_hint=measure_fps(predictor, size))


if gr.NO_RELOAD:  # `gradio app.py` reload mode keeps the loaded weights
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    predictor, cfg = torch_thread.call(load)  # all torch work on one thread (see that module)
demo = build_demo(predictor, cfg)

if __name__ == "__main__":
    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=1).launch(
        server_name=args.host, server_port=args.port, allowed_paths=[str(cfg.examples_dir)],
        max_file_size=cfg.max_upload_bytes)
