"""A clip loaded while a pass runs: the load releases the old state (`cleanup_state`), and the
pass still running on it must end quietly, without an error in the page and without handing
the dead state out again (which would replace the tab's new clip). Found in the browser:
loading `bear` during a 60-frame pass showed "Error" (session None in `record`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from demo import handlers_ablation as ablation
from demo import handlers_load as loading
from demo import handlers_propagate as propagation
from demo.handlers import DemoContext
from demo.state import DemoState, cleanup_state
from demo.video_io import write_mp4
from tests.conftest import lite_demo_context, make_clip


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> DemoContext:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield lite_demo_context(tmp_path_factory.mktemp("sessions"), short_side=64)
    torch.set_num_threads(threads)


@pytest.fixture()
def state(ctx: DemoContext, tmp_path) -> DemoState:
    frames, masks = make_clip(8, (64, 96), num_objects=1)
    write_mp4(tmp_path / "clip.mp4", frames, 24)
    loaded = loading.load_upload(ctx, str(tmp_path / "clip.mp4"), 0, 0, 1, None)[0]
    loaded.set_object_mask(0, 1, masks[0] > 0)
    return loaded


def _release_during_the_pass(monkeypatch, module, state: DemoState) -> None:
    """The state is released while the network computes the pass's second frame, as a load
    that finishes during a step does."""
    run_pass = module.run_pass

    def racing(*args, **kwargs):
        for count, out in enumerate(run_pass(*args, **kwargs)):
            if count == 1:
                cleanup_state(state)
            yield out

    monkeypatch.setattr(module, "run_pass", racing)


def test_a_pass_ends_quietly_when_its_clip_is_replaced(ctx: DemoContext, state: DemoState,
                                                       monkeypatch) -> None:
    _release_during_the_pass(monkeypatch, propagation, state)
    items = list(propagation.propagate(ctx, state, "forward", 0))  # no exception
    assert state.released and len(items) == 1  # the first frame, then nothing
    assert not state.masks  # nothing recorded into the released state


def test_an_ablation_ends_quietly_when_its_clip_is_replaced(ctx: DemoContext, state: DemoState,
                                                            monkeypatch) -> None:
    done = list(propagation.propagate(ctx, state, "forward", 0))[-1][0]
    assert done.masks and not done.released
    _release_during_the_pass(monkeypatch, ablation, done)
    items = list(ablation.run_ablation(ctx, done, 3))
    assert done.released and len(items) == 1
    assert not any(isinstance(item[1], np.ndarray) for item in items)  # no comparison image
