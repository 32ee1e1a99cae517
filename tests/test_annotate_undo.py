"""Undo across objects (session 32's review): undoing every click leaves no annotation behind,
whatever order the objects' clicks are undone in."""

from __future__ import annotations

import time
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
    state, _ = _taken_by_second_object(ctx, tmp_path)
    annotate.select_object(state, 1)
    annotate.undo_click(state, clicks.CLASSIC)
    annotate.select_object(state, 2)
    annotate.undo_click(state, clicks.CLASSIC)
    assert not state.obj_masks, {k: int(v.sum()) for k, v in state.obj_masks.items()}
    assert not state.annotated_frames()


def test_a_painting_is_undone_back_to_the_clicks_it_replaced(ctx: DemoContext,
                                                             tmp_path: Path) -> None:
    """A slip of the eraser wiped the clicked mask, and Undo said there was no click to undo:
    the clicks were gone with it."""
    import json

    state, truth = uploaded_clip_state(ctx, tmp_path, num_frames=4, size=(64, 96),
                                       num_objects=1)
    ys, xs = np.nonzero(truth[0] == 1)
    annotate.on_click(state, "add (positive)", _click(float(np.median(xs)), float(np.median(ys))),
                      clicks.CLASSIC)
    clicked = state.obj_masks[(0, 1)].copy()
    wipe = [{"mode": "eraser", "size": 80, "points": [[0, 32], [95, 32]]}]
    status = annotate.apply_paint(state, json.dumps(wipe))[-1]
    assert "absent" not in status  # nothing else shows it: no annotation, not "absent"
    assert (0, 1) not in state.obj_masks and not state.clicks.get((0, 1))
    assert "Painting undone" in annotate.undo_click(state, clicks.CLASSIC)[-1]
    assert np.array_equal(state.obj_masks[(0, 1)], clicked) and len(state.clicks[(0, 1)]) == 1
    assert "Last click removed" in annotate.undo_click(state, clicks.CLASSIC)[-1]
    assert (0, 1) not in state.obj_masks  # and back to before the click
    assert annotate.undo_click(state, clicks.CLASSIC)[-1].startswith("⚠️")  # nothing left


def test_one_tabs_edits_run_one_after_another(tmp_path: Path) -> None:
    """Two quick clicks are two events that Gradio may run at once; interleaved, both clicks
    recorded the same undo state. Another tab's edit is not held up."""
    import threading
    import time

    from demo.handlers import edits_wait_for_passes
    from demo.state import DemoState

    spans: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}

    @edits_wait_for_passes
    def slow_edit(state: DemoState, tab: str) -> tuple:
        start = time.monotonic()
        time.sleep(0.2)
        spans[tab].append((start, time.monotonic()))
        return (state,)

    frames = [np.zeros((8, 8, 3), np.uint8)] * 2
    tab_a = DemoState.create(tmp_path / "a", frames, 24.0, None, None)
    tab_b = DemoState.create(tmp_path / "b", frames, 24.0, None, None)
    threads = [threading.Thread(target=slow_edit, args=(state, name))
               for state, name in ((tab_a, "a"), (tab_a, "a"), (tab_b, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (first, second), (other,) = sorted(spans["a"]), spans["b"]
    assert second[0] >= first[1], "one tab's two edits overlapped"
    assert other[0] < first[1] or other[0] < second[1]  # the other tab ran beside them


def test_an_edit_that_another_waits_behind_sends_no_view(tmp_path: Path) -> None:
    """Three quick clicks: the answer that reached the page last was not always the last
    click's, and the page ended showing two clicks. Now an edit that ends while another of
    the same tab waits sends only its state; the last one draws."""
    import threading

    from demo import edit_turns
    from demo.handlers import edits_wait_for_passes
    from demo.state import DemoState

    first_running, results = threading.Event(), {}
    frames = [np.zeros((8, 8, 3), np.uint8)] * 2
    tab = DemoState.create(tmp_path / "a", frames, 24.0, None, None)

    @edits_wait_for_passes
    def edit(state: DemoState, name: str) -> tuple:
        if name == "first":
            first_running.set()
            deadline = time.monotonic() + 5.0  # hold the turn until the second edit waits
            while edit_turns._open[tab.temp_dir] < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        return (state, f"view {name}", f"status {name}")

    def run(name: str) -> None:
        results[name] = edit(tab, name)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    threads[0].start()
    assert first_running.wait(5.0)
    threads[1].start()
    for thread in threads:
        thread.join()
    first, second = results["first"], results["second"]
    assert first[0] is tab and all(isinstance(item, type(gr.skip())) for item in first[1:])
    assert second == (tab, "view second", "status second")
    assert edit(tab, "alone") == (tab, "view alone", "status alone")  # nobody waits: it draws


def _taken_by_second_object(ctx: DemoContext, tmp_path: Path):
    """Object 1 clicked, then object 2 clicked on the same spot: its click took object 1's
    pixels there (recorded in its undo record)."""
    state, truth = uploaded_clip_state(ctx, tmp_path, num_frames=4, size=(64, 96),
                                       num_objects=2)
    ys, xs = np.nonzero(truth[0] == 1)
    point = _click(float(np.median(xs)), float(np.median(ys)))
    annotate.on_click(state, "add (positive)", point, clicks.CLASSIC)
    annotate.add_object(state)
    assert "Took" in annotate.on_click(state, "add (positive)", point, clicks.CLASSIC)[-1]
    return state, truth


def test_a_removed_object_gets_nothing_back_from_undo_inside_a_painting(
        ctx: DemoContext, tmp_path: Path) -> None:
    """Object 2 painted after its click (the painting keeps the click's undo record), then
    object 1 was removed: undoing the painting and the click gave the removed object its
    pixels back, and every later view of the frame failed ("1 is not in list")."""
    import json

    state, _ = _taken_by_second_object(ctx, tmp_path)
    annotate.apply_paint(state, json.dumps([{"mode": "brush", "size": 3,
                                             "points": [[2, 60], [10, 60]]}]))
    annotate.select_object(state, 1)
    annotate.remove_object(ctx, state)
    annotate.select_object(state, 2)
    assert "Painting undone" in annotate.undo_click(state, clicks.CLASSIC)[-1]
    assert "Last click removed" in annotate.undo_click(state, clicks.CLASSIC)[-1]
    assert not any(obj_id == 1 for _, obj_id in state.obj_masks)
    annotation = state.annotation(0)  # raised ValueError before
    assert annotation is None or not annotation.any()
    annotate.show_frame(state, 0)


def test_an_imported_mask_is_not_added_to_by_another_objects_undo(
        ctx: DemoContext, tmp_path: Path) -> None:
    """A black-and-white import is object 1's annotation: undoing object 2's earlier click
    gave object 1 the pixels that click had taken, outside the imported mask."""
    from PIL import Image

    from demo import handlers_import

    state, truth = _taken_by_second_object(ctx, tmp_path)
    imported = np.zeros(truth[0].shape, np.uint8)
    imported[:8, :8] = 255  # far from where object 2's click took pixels
    Image.fromarray(imported).save(tmp_path / "one.png")
    annotate.select_object(state, 1)
    handlers_import.import_mask(state, str(tmp_path / "one.png"))
    annotate.select_object(state, 2)
    annotate.undo_click(state, clicks.CLASSIC)
    assert np.array_equal(state.obj_masks[(0, 1)], imported > 0)


def test_a_stroke_over_another_objects_propagated_pixels_says_it_took_them(
        ctx: DemoContext, tmp_path: Path) -> None:
    """On a frame only the pass had segmented, a brush stroke of object 2 over object 1 took
    its pixels on screen, but the status named only what it took from annotations."""
    import json

    state, truth = uploaded_clip_state(ctx, tmp_path, num_frames=4, size=(64, 96),
                                       num_objects=2)
    state.masks[0] = truth[0].astype(np.uint8)  # as a pass left it
    annotate.add_object(state)
    ys, xs = np.nonzero(truth[0] == 1)
    row = int(np.median(ys))
    stroke = [{"mode": "brush", "size": 1, "points": [[int(xs.min()), row],
                                                      [int(xs.max()), row]]}]
    status = annotate.apply_paint(state, json.dumps(stroke))[-1]
    covered = int(((state.shown_mask(0) == 2) & (truth[0] == 1)).sum())
    assert covered > 0 and f"took {covered} px from object 1" in status, status


def test_clear_gives_back_what_clicks_replaced_by_a_painting_had_taken(
        ctx: DemoContext, tmp_path: Path) -> None:
    """Object 2's click took object 1's pixels, then object 2 painted (the painting keeps that
    click's record): Clear gave back only the painting's own take."""
    import json

    state, _ = _taken_by_second_object(ctx, tmp_path)
    first = state.click_history[(0, 1)][-1].before  # object 1 before its own click: nothing
    assert first is None
    whole = state.obj_masks[(0, 1)] | state.click_history[(0, 2)][0].taken[1]
    annotate.apply_paint(state, json.dumps([{"mode": "brush", "size": 3,
                                             "points": [[2, 60], [10, 60]]}]))
    annotate.clear_clicks(state)  # object 2's annotation on frame 0
    assert np.array_equal(state.obj_masks[(0, 1)], whole)


def test_an_older_frame_view_that_ends_last_does_not_replace_the_newer(
        ctx: DemoContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two frame changes of one tab can render at once; the one asked for first ended last
    and its view replaced the newer one (the caption went back to the earlier frame)."""
    state, _ = uploaded_clip_state(ctx, tmp_path, num_frames=4, size=(64, 96))
    real, newer, started = annotate.annotate_outputs, [], []

    def slow(state_arg):  # while frame 0 renders, a change to frame 2 starts and ends
        if not started:
            started.append(True)
            newer.append(annotate.show_frame(state_arg, 2))
        return real(state_arg)

    monkeypatch.setattr(annotate, "annotate_outputs", slow)
    older = annotate.show_frame(state, 0)
    assert "Frame 2 /" in newer[0][2] and state.frame_idx == 2
    assert all(isinstance(part, type(gr.skip())) for part in older)  # changes nothing
    assert "Frame 1 /" in annotate.show_frame(state, 1)[2]  # a lone change renders


def test_a_frame_change_while_the_click_model_runs_leaves_the_click_on_its_frame(
        ctx: DemoContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Frame slider's handler runs beside a click's (no edit lock: it only shows): a move
    to frame 2 while the click model worked put half the click's bookkeeping on frame 2."""
    state, truth = uploaded_clip_state(ctx, tmp_path, num_frames=4, size=(64, 96),
                                       num_objects=1)
    real_apply = clicks.apply_click

    def slider_moves(frame, points, prior, method):
        annotate.show_frame(state, 2)  # the user moved on while this click ran
        return real_apply(frame, points, prior, method)

    monkeypatch.setattr(clicks, "apply_click", slider_moves)
    ys, xs = np.nonzero(truth[0] == 1)
    status = annotate.on_click(state, "add (positive)",
                               _click(float(np.median(xs)), float(np.median(ys))),
                               clicks.CLASSIC)[-1]
    assert "on frame 0: 1 click(s)" in status and state.frame_idx == 2
    assert state.obj_masks[(0, 1)].any() and (2, 1) not in state.obj_masks
    monkeypatch.setattr(clicks, "apply_click", real_apply)
    annotate.show_frame(state, 0)
    assert "Last click removed" in annotate.undo_click(state, clicks.CLASSIC)[-1]
    assert (0, 1) not in state.obj_masks


def _second_edit_of_the_first_object(ctx: DemoContext, tmp_path: Path, paint: bool):
    """`_taken_by_second_object`, then object 1 edited once more: a click on another of its
    pixels, or a brush dot far from both. Returns the state and object 1's mask after its
    first click (what undoing both later edits must give back)."""
    import json

    state, truth = _taken_by_second_object(ctx, tmp_path)
    first = state.obj_masks[(0, 1)] | state.click_history[(0, 2)][0].taken[1]
    annotate.select_object(state, 1)
    if paint:
        annotate.apply_paint(state, json.dumps([{"mode": "brush", "size": 3,
                                                 "points": [[1, 1]]}]))
    else:
        ys, xs = np.nonzero((truth[0] == 1) & ~state.obj_masks[(0, 1)])
        annotate.on_click(state, "add (positive)", _click(float(xs[0]), float(ys[0])),
                          clicks.CLASSIC)
    return state, first


@pytest.mark.parametrize("paint", [False, True])
def test_undo_last_first_across_objects_gives_back_what_was_taken(
        ctx: DemoContext, tmp_path: Path, paint: bool) -> None:
    """Object 1's second edit was undone, then object 2's click: the pixels that click had
    taken from object 1 went to nobody (undoing the edit dropped them from its record)."""
    state, first = _second_edit_of_the_first_object(ctx, tmp_path, paint)
    if not paint:  # a painting stays; a click goes (undo order: newest first)
        annotate.undo_click(state, clicks.CLASSIC)
    annotate.select_object(state, 2)
    annotate.undo_click(state, clicks.CLASSIC)
    mask = state.obj_masks[(0, 1)]
    assert not (first & ~mask).any()  # a brush dot may stay: it was not undone
    assert paint or np.array_equal(mask, first)


def test_undo_of_the_taker_first_then_the_owners_later_click(ctx: DemoContext,
                                                             tmp_path: Path) -> None:
    """Object 2's click undone first gave object 1 its pixels back; undoing object 1's later
    click then restored the mask recorded before that, without them: a hole."""
    state, first = _second_edit_of_the_first_object(ctx, tmp_path, paint=False)
    annotate.select_object(state, 2)
    annotate.undo_click(state, clicks.CLASSIC)
    annotate.select_object(state, 1)
    annotate.undo_click(state, clicks.CLASSIC)
    assert np.array_equal(state.obj_masks[(0, 1)], first)
