"""Undo across objects (session 32's review): undoing every click leaves no annotation behind,
whatever order the objects' clicks are undone in."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from demo import clicks
from demo import handlers_annotate as annotate
from demo.handlers import DemoContext
from tests.conftest import lite_demo_context, uploaded_clip_state


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> DemoContext:
    return lite_demo_context(tmp_path_factory.mktemp("sessions"))


def _click(x: float, y: float) -> gr.SelectData:
    return gr.SelectData(None, {"index": [x, y], "value": None})


def test_undoing_every_click_leaves_no_annotation(ctx: DemoContext, tmp_path: Path) -> None:
    """Object 2's click took object 1's pixels; object 1's click was undone first. Undoing
    object 2's click then gave object 1 its pixels back: an annotation without clicks."""
    state, truth = uploaded_clip_state(ctx, tmp_path, num_frames=4, size=(64, 96),
                                       num_objects=2)
    ys, xs = np.nonzero(truth[0] == 1)
    point = _click(float(np.median(xs)), float(np.median(ys)))
    annotate.on_click(state, "add (positive)", point, clicks.CLASSIC)
    annotate.add_object(state)
    assert "Took" in annotate.on_click(state, "add (positive)", point, clicks.CLASSIC)[-1]
    annotate.select_object(state, 1)
    annotate.undo_click(state, clicks.CLASSIC)
    annotate.select_object(state, 2)
    annotate.undo_click(state, clicks.CLASSIC)
    assert not state.obj_masks, {k: int(v.sum()) for k, v in state.obj_masks.items()}
    assert not state.annotated_frames()
