"""Shared fixtures: a seeded tiny SRNet, a predictor on it, and a small synthetic clip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from srnet import InferenceConfig, ModelConfig, Predictor, SRNet

# gradio_client's analytics would create huggingface_hub's HTTP client in this process, which
# every forked child (ffmpeg, the ZeroGPU stand-in) then frees at the fork: see demo/ui.py
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
pytest_plugins = ["tests.deadline", "pytester"]  # a deadline per test phase; see deadline.py

DAVIS_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-train"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """`item.call_failed` for fixtures' teardown (a fixture never sees the test's exception):
    the browser tests save a screenshot of a failed page."""
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def tiny_model() -> SRNet:
    torch.manual_seed(0)
    return SRNet(ModelConfig.tiny()).eval()


@pytest.fixture()
def tiny_predictor(tiny_model: SRNet) -> Predictor:
    return Predictor(tiny_model, InferenceConfig(short_side=None), "cpu")


def make_clip(num_frames: int = 8, size: tuple[int, int] = (64, 96), num_objects: int = 2,
              seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Textured frames with squares moving right 2 px/frame; returns (frames, index masks)."""
    rng = np.random.default_rng(seed)
    height, width = size
    background = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    frames, masks = [], []
    for t in range(num_frames):
        frame, mask = background.copy(), np.zeros(size, np.uint8)
        for obj in range(num_objects):
            top, left = 8 + 24 * obj, 8 + 2 * t + 30 * obj
            frame[top:top + 16, left:left + 16] = (200, 40 + 100 * obj, 40)
            mask[top:top + 16, left:left + 16] = obj + 1
        frames.append(frame)
        masks.append(mask)
    return frames, masks


@pytest.fixture()
def clip() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return make_clip()


def lite_demo_context(temp_root: Path, short_side: int = 96, max_frames: int = 8,
                      **cfg: object):
    """A DemoContext on a seeded random-weight lite predictor at `short_side` (handler tests:
    the behaviour under test does not depend on trained weights)."""
    from demo.config import DemoConfig
    from demo.handlers import DemoContext

    torch.manual_seed(0)
    predictor = Predictor(SRNet(ModelConfig.lite()), InferenceConfig(short_side=short_side),
                          "cpu")
    return DemoContext(predictor, DemoConfig(short_side_cpu=short_side,
                                             max_frames_cpu=max_frames, temp_root=temp_root,
                                             **cfg))


def uploaded_clip_state(ctx, folder: Path, num_frames: int = 8, size: tuple[int, int] = (64, 96),
                        num_objects: int = 1):
    """A synthetic clip (see `make_clip`) written as an mp4 into `folder` and loaded through the
    upload handler: (DemoState, the clip's ground-truth index masks)."""
    from demo.handlers_load import load_upload
    from demo.state import DemoState
    from demo.video_io import write_mp4

    frames, masks = make_clip(num_frames, size, num_objects=num_objects)
    write_mp4(folder / "clip.mp4", frames, 24)
    out = load_upload(ctx, str(folder / "clip.mp4"), 0, 0, 1, None)
    assert isinstance(out[0], DemoState), out[-1]
    return out[0], masks


@pytest.fixture(scope="module")
def lite_ctx_64(tmp_path_factory: pytest.TempPathFactory):
    """`lite_demo_context` at short side 64 on one torch thread (two threads on a shared 2-core
    box spin in OpenMP barriers), for the handler tests that propagate."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield lite_demo_context(tmp_path_factory.mktemp("sessions"), short_side=64)
    torch.set_num_threads(threads)


def davis_folder(root: Path, seqs=("alpha", "beta"), num_frames=5) -> Path:
    """A DAVIS-layout folder of synthetic one-object clips (eval CLI tests)."""
    for seed, seq in enumerate(seqs):
        frames, masks = make_clip(num_frames, size=(64, 96), num_objects=1, seed=seed)
        (root / "JPEGImages/480p" / seq).mkdir(parents=True)
        (root / "Annotations/480p" / seq).mkdir(parents=True)
        for i, (frame, mask) in enumerate(zip(frames, masks)):
            PILImage.fromarray(frame).save(root / "JPEGImages/480p" / seq / f"{i:05d}.jpg")
            PILImage.fromarray((mask > 0).astype(np.uint8) * 255).save(
                root / "Annotations/480p" / seq / f"{i:05d}.png")
    return root
