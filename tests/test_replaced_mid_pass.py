"""A clip loaded while a pass runs: the load releases the old state (`cleanup_state`), and the
pass still running on it must end quietly, without an error in the page and without handing
the dead state out again (which would replace the tab's new clip). Found in the browser:
loading `bear` during a 60-frame pass showed "Error" (session None in `record`)."""

from __future__ import annotations

import numpy as np
import pytest

from demo import handlers_ablation as ablation
from demo import handlers_propagate as propagation
from demo.handlers import DemoContext
from demo.state import DemoState, cleanup_state
from tests.conftest import uploaded_clip_state


@pytest.fixture(scope="module")
def ctx(lite_ctx_64: DemoContext) -> DemoContext:
    return lite_ctx_64


@pytest.fixture()
def state(ctx: DemoContext, tmp_path) -> DemoState:
    loaded, masks = uploaded_clip_state(ctx, tmp_path)
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
    assert not any(isinstance(item[2], np.ndarray) for item in items)  # no comparison image
