"""Look inside's object list: with two objects, picking the second shows its internals (the
views differ from the first's), selects it, and Annotate's list follows when shown again."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from demo import handlers_annotate as annotate
from demo import handlers_inspect as inspecting
from demo import handlers_load as loading
from demo import handlers_propagate as propagation
from demo.state import DemoState
from demo.video_io import write_mp4
from tests.conftest import lite_demo_context, make_clip


@pytest.fixture(scope="module")
def two_objects(tmp_path_factory: pytest.TempPathFactory) -> DemoState:
    return _passed_with_two_objects(tmp_path_factory)[1]


def _passed_with_two_objects(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """(DemoContext, DemoState): a 6-frame clip with two objects, propagated."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("inspect")
    ctx = lite_demo_context(folder / "sessions", short_side=64, max_frames=6)
    frames, masks = make_clip(6, (64, 96), num_objects=2)
    write_mp4(folder / "clip.mp4", frames, 24)
    state = loading.load_upload(ctx, str(folder / "clip.mp4"), 0, 0, 1, None)[0]
    assert isinstance(state, DemoState)
    state.names[2] = "second"
    for obj_id in (1, 2):
        state.set_object_mask(0, obj_id, masks[0] == obj_id)
    last = list(propagation.propagate(ctx, state, "forward", 0))[-1]
    torch.set_num_threads(threads)
    assert last[2].startswith("Done"), last[2]
    return ctx, last[0]


def test_the_object_list_switches_the_internals(two_objects: DemoState) -> None:
    state = two_objects
    menu = inspecting.object_menu(state)
    assert menu.choices == [("1: object 1", 1), ("2: second", 2)] and menu.value == 1
    first = inspecting.inspect_frame(state, 4)
    second = inspecting.inspect_object(state, 2, 4)
    assert "Frame 4, object 1" in first[-1] and "Frame 4, second" in second[-1]
    assert not np.array_equal(first[0], second[0])  # the PTM masks view of another object
    assert state.selected == 2
    annotated = annotate.refresh(state, 4)  # Annotate's list, refreshed on its tab
    assert annotated[3].value == 2
    assert inspecting.inspect_object(state, "nonsense", 4)[-1].startswith("Frame 4, second")
    assert inspecting.inspect_object(state, 7, 4)[-1].startswith("Frame 4, second")  # unknown id
    assert inspecting.object_menu(None).choices == []


def test_picking_an_object_without_a_clip_is_a_message() -> None:
    assert inspecting.inspect_object(None, 1, 0)[-1].startswith("⚠️")


def test_the_annotate_tab_opening_before_any_clip_says_nothing(monkeypatch) -> None:
    """Gradio fires the first tab's select when the page opens: that must not warn "Load a
    clip first" to someone who has not had the chance yet (it did, in every browser test)."""
    said = []
    monkeypatch.setattr(annotate, "warn", lambda text: said.append(text) or text)
    assert all(isinstance(v, dict) for v in annotate.refresh(None, 0)) and not said


def test_the_default_memory_query_lies_on_the_object_even_when_it_is_c_shaped() -> None:
    from types import SimpleNamespace

    from demo.handlers_inspect import _object_centre

    mask = np.zeros((60, 60), np.uint8)
    mask[10:50, 10:20] = mask[10:20, 10:50] = mask[40:50, 10:50] = 3  # a "C": centre is empty
    x, y = _object_centre(SimpleNamespace(mask=mask), 3)
    assert mask[int(y), int(x)] == 3
    assert _object_centre(SimpleNamespace(mask=mask), 4) == (30.0, 30.0)  # absent: the middle


def test_a_new_object_reusing_a_removed_ones_id_never_shows_its_internals(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """After a pass, object 1 was removed and a new object took id 1: Look inside showed the
    removed object's PTM masks and memory reads under the new name."""
    ctx, state = _passed_with_two_objects(tmp_path_factory)
    state.selected = 1
    annotate.remove_object(ctx, state)
    annotate.add_object(state)  # takes the free id 1
    annotate.rename_object(state, "dog")
    assert state.selected == 1 and state.names[1] == "dog"
    status = inspecting.inspect_frame(state, 4)[-1]
    assert "Frame 4, second" in status and "dog" not in status  # the pass's other object
    assert not (state.outputs[4].mask == 1).any()
    import gradio as gr

    point = gr.SelectData(None, {"index": [48, 32], "value": None})
    memory_text = inspecting.memory_click(state, 4, point)[-1]
    assert "dog" not in memory_text  # the removed object's memory pixels are nobody's now
    assert all(1 not in read.obj_ids and not any((m == 1).any() for m in read.memory_masks
                                                 if m is not None)
               for read in state.outputs[4].visuals.reads)
    state.selected = 2
    annotate.remove_object(ctx, state)
    views = inspecting.inspect_frame(state, 4)
    assert "were removed since" in views[-1] and views[0] is None
