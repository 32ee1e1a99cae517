"""`/segment` shares the app's one torch thread with every user's clicks and views: it runs
frame by frame there (a generator), so their work runs between its frames. As one call it
held the thread for the whole clip: a click waited 3.1 s behind a 24-frame call, and
minutes behind one with online adaptation."""

from __future__ import annotations

import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch

from demo import handlers_api as api
from demo import torch_thread
from demo.config import DemoConfig
from demo.handlers import DemoContext
from srnet import InferenceConfig, ModelConfig, Predictor, SRNet

EXAMPLE = DemoConfig().examples_dir / "bear"


def test_other_torch_work_runs_between_the_frames_of_a_segment_call(tmp_path, monkeypatch):
    torch.manual_seed(0)
    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    ctx = DemoContext(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                            temp_root=tmp_path))
    frames_done: list[int] = []
    two_done = threading.Event()
    real_pass = api.run_pass

    def counted_pass(*args, **kwargs):
        for out in real_pass(*args, **kwargs):
            frames_done.append(out.frame_idx)
            if len(frames_done) == 2:
                two_done.set()
                time.sleep(0.3)  # still on the torch thread: the other job queues meanwhile
            yield out

    monkeypatch.setattr(api, "run_pass", counted_pass)
    endpoint, result = api.segment_endpoint(ctx), {}
    caller = threading.Thread(target=lambda: result.update(zip=endpoint(
        str(EXAMPLE / "clip.mp4"), str(EXAMPLE / "first_mask.png"), 2)))  # 2 adaptation steps
    caller.start()
    assert two_done.wait(300)
    seen = torch_thread.call(lambda: len(frames_done))  # e.g. a user's click
    caller.join(300)
    assert seen < 8 and len(frames_done) == 8, seen
    with zipfile.ZipFile(result["zip"]) as archive:
        assert len(archive.namelist()) == 8
    assert Path(result["zip"]).stat().st_size > 0


def test_loads_and_exports_do_not_take_the_slots_of_clicks(tmp_path):
    """Gradio runs at most `concurrency_limit` events of one group at once: with loads and
    exports in the clicks' group, four users loading 200 MB videos stalled everyone's clicks."""
    from demo import build_demo

    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    demo = build_demo(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                            temp_root=tmp_path))
    groups = {fn.name: fn.concurrency_id for fn in demo.fns.values()}
    slow = {groups[name] for name in ("load_upload", "load_example", "reload_clip",
                                      "export_all")}
    assert groups["on_click"] not in slow and groups["on_click"] != groups["propagate"]
    demo.close()


def test_every_streamed_handler_of_the_demo_ends_without_outputs(tmp_path) -> None:
    """The page's streamed handlers (the passes, the ablation) are wrapped; a new one that is
    not would bring the overwrite back. (`/segment` is not a stream at Gradio's level: an API
    client's result is its last output.)"""
    import inspect

    from demo import build_demo

    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    blocks = build_demo(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                              temp_root=tmp_path))
    streams = {fn.name: getattr(fn.fn, "ends_without_outputs", False)
               for fn in blocks.fns.values() if inspect.isgeneratorfunction(fn.fn)}
    assert {"propagate", "run_ablation"} <= set(streams) and all(streams.values()), streams


def test_under_zerogpu_a_pass_is_followed_by_a_redraw_of_the_tabs_frame(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The redraw after a forked pass takes only the state: given the Frame slider's value
    when the pass ended, a frame change queued behind it lost to the older frame."""
    from demo import build_demo, zerogpu

    monkeypatch.setenv(zerogpu.FAKE_ENV, "1")
    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    blocks = build_demo(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                              temp_root=tmp_path))
    redraws = [fn for fn in blocks.fns.values() if fn.name == "redraw"]
    assert len(redraws) == 3 and all(len(fn.inputs) == 1 for fn in redraws)  # 3 directions
