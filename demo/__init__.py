"""The Gradio demo of SRNet: `build_demo(predictor, cfg)` builds the app for one shared
predictor; `DemoConfig` holds its limits. Imports only the `srnet` public API.

Module map: `config` (DemoConfig) · `state` (per-tab DemoState) · `ui` (layout + wiring) ·
`handlers*` (callbacks by task) · `explain` (texts for learners) · `video_io`, `render`,
`clicks`, `export` (pure numpy/OpenCV building blocks, no gradio) · `torch_thread` (the one
thread all network work runs on) · `gradio_cache` (race-free image caching for Gradio).
"""

from demo.config import DemoConfig
from demo.speed_probe import measure_fps
from demo.ui import CSS, build_demo

__all__ = ["CSS", "DemoConfig", "build_demo", "measure_fps"]
