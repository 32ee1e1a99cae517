""""Reload with these settings" re-reads the tab's own clip (its upload or example) with a new
trim or working size and keeps the user's work: objects, annotations, clicks, undo history and
memory settings move to the frames that show the same source frames; an annotation whose frame
the new selection drops is named in the status. A failed reload changes nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch

from demo import export
from demo import handlers_annotate as annotate
from demo import handlers_load as loading
from demo.config import DemoConfig
from demo.handlers import DemoContext
from demo.ownership import ClickUndo
from demo.state import ClipSource, DemoState, cleanup_state
from demo.video_io import write_mp4
from tests.conftest import lite_demo_context, make_clip

EXAMPLE = "bear"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> DemoContext:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield lite_demo_context(tmp_path_factory.mktemp("sessions"), size_choices=(64, 128),
                            examples_dir=DemoConfig().examples_dir)
    torch.set_num_threads(threads)


@pytest.fixture()
def upload(tmp_path: Path) -> Path:
    frames, _ = make_clip(12, (96, 160), num_objects=1)
    path = tmp_path / "walk.mp4"
    write_mp4(path, frames, 24)
    return path


def _state(out: tuple) -> DemoState:
    assert isinstance(out[0], DemoState), out[-1]
    return out[0]


def _annotate(state: DemoState, frame_idx: int, obj_id: int, box: tuple[int, int, int, int],
              clicks: list[tuple[float, float, bool]] | None = None) -> None:
    mask = np.zeros(state.size, bool)
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = True
    state.names.setdefault(obj_id, f"object {obj_id}")
    state.set_object_mask(frame_idx, obj_id, mask)
    if clicks:
        state.clicks[(frame_idx, obj_id)] = list(clicks)
        state.click_history[(frame_idx, obj_id)] = [ClickUndo(None) for _ in clicks]


def test_frame_of_follows_start_and_step() -> None:
    source = ClipSource("upload", "x.mp4", start=4, step=3)
    assert [source.frame_of(s, 5) for s in (4, 7, 16)] == [0, 1, 4]
    # before the start, off the step, past the end
    assert [source.frame_of(s, 5) for s in (3, 5, 19)] == [None, None, None]


def test_reload_at_another_size_keeps_objects_clicks_and_memory_settings(
        ctx: DemoContext, upload: Path) -> None:
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    assert min(old.size) == 96
    _annotate(old, 0, 1, (20, 60, 30, 90), clicks=[(60.0, 40.0, True), (35.0, 25.0, False)])
    _annotate(old, 5, 2, (10, 30, 100, 150))
    old.names[2] = "dog"
    old.inference_config = dataclasses.replace(old.inference_config, mem_every=2, top_k=7,
                                               mirror_average=True)
    ctx.speed.update(fps=10.0, source="measured", pixels=64 * 106)
    expected = {key: export.resize_index_mask(m.astype(np.uint8), (64, 106))
                for key, m in old.obj_masks.items()}
    out = loading.reload_clip(ctx, 0, 0, 1, old, 64)
    new, status = _state(out), out[-1]
    assert new is not old and new.size == (64, 106)  # 96x160 at short side 64, even width
    assert new.names == {1: "object 1", 2: "dog"} and new.annotated_frames() == [0, 5]
    assert all(np.array_equal(new.obj_masks[key], expected[key] > 0) for key in expected)
    scale = 106 / 160, 64 / 96
    assert new.clicks[(0, 1)] == [(60.0 * scale[0], 40.0 * scale[1], True),
                                  (35.0 * scale[0], 25.0 * scale[1], False)]
    assert len(new.click_history[(0, 1)]) == 2
    assert (new.inference_config.mem_every, new.inference_config.top_k) == (2, 7)
    assert out[7:9] == (2, 7) and out[11] is True  # the panel shows the carried settings
    assert new.session.mirror is not None  # mirror averaging came along, and the hint says so
    # two objects (10 fps for one / 1.4) and mirror averaging (halved)
    assert "(3.6 frames per second for 2 objects, measured, halved for mirror averaging" in status
    assert new.session.config.short_side == 64 and not new.session.has_memory
    assert not new.masks and "came along, on frame(s) 0, 5" in status
    assert not old.temp_dir.exists()  # the replaced state's files are gone


def test_reload_moves_annotations_through_the_trim_and_names_the_left_out(
        ctx: DemoContext, upload: Path) -> None:
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    for frame_idx in (0, 2, 3):
        _annotate(old, frame_idx, 1, (10, 40, 10, 40 + frame_idx))
    every_other = _state(out := loading.reload_clip(ctx, 0, 0, 2, old, None))
    assert every_other.annotated_frames() == [0, 1]  # source frames 0 and 2
    assert every_other.obj_masks[(1, 1)].sum() == 30 * 32  # frame 2's mask, not frame 0's
    assert "on frame(s) 0, 1 (was 2)" in out[-1]
    assert "Left out: the annotation on frame(s) 3 (source frame(s) 3)" in out[-1]
    shifted = _state(out := loading.reload_clip(ctx, 2, 0, 1, every_other, None))
    assert shifted.annotated_frames() == [0]  # source frame 2 is now frame 0
    assert shifted.obj_masks[(0, 1)].sum() == 30 * 32
    assert "Left out: the annotation on frame(s) 0 (source frame(s) 0)" in out[-1]


def test_reload_reads_the_tabs_example_not_the_upload_box(ctx: DemoContext) -> None:
    """An example has nothing in the upload box: Reload used to answer "No file received"."""
    if EXAMPLE not in ctx.cfg.example_names():
        pytest.skip("bundled example missing")
    old = _state(loading.load_example(ctx, EXAMPLE, 0, 0, 1, None))
    ready = old.obj_masks[(0, 1)].copy()
    new = _state(loading.reload_clip(ctx, 0, 0, 1, old, 128))
    assert (new.source.kind, new.source.ref, new.source.start, new.source.step) == (
        "example", EXAMPLE, 0, 1) and min(new.size) == 128
    assert new.annotated_frames() == [0] and new.names == old.names
    assert abs(new.obj_masks[(0, 1)].mean() - ready.mean()) < 0.01  # the same mask, resized


def test_failed_reload_keeps_everything(ctx: DemoContext, upload: Path) -> None:
    assert "Load a clip or an example first" in loading.reload_clip(ctx, 0, 0, 1, None)[-1]
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    _annotate(old, 1, 1, (10, 40, 10, 40))
    loaded = loading.load_upload(ctx, str(upload), 0, 0, 1, None)  # a load's outputs
    cleanup_state(loaded[0])
    upload.unlink()  # e.g. the server's upload cache was cleaned
    out = loading.reload_clip(ctx, 0, 0, 1, old, 64)
    assert out[0] is old and len(out) == len(loaded)  # the same outputs, all but status kept
    assert all(isinstance(v, type(gr.skip())) for v in out[1:-1])
    assert out[-1].startswith("⚠️ Could not reload the clip") and "/" not in out[-1]
    assert old.annotated_frames() == [1] and old.temp_dir.is_dir()
    out = loading.reload_clip(ctx, 5, 2, 1, old, 64)  # last frame before the first
    assert out[0] is old and "before the first" in out[-1]
    assert annotate.show_frame(old, 1)[0] is old  # still usable


def test_a_load_empties_the_views_of_the_replaced_clip(ctx: DemoContext, upload: Path) -> None:
    """The progress line, preview, result video and exports shown belong to the old clip: a
    load that succeeded (a state without results) empties them; a failed one, which keeps the
    old state and its results, keeps them."""
    fresh = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    cleared = loading.clear_stale_views(fresh)
    assert len(cleared) == loading.STALE_VIEWS and all(v in ("", None) for v in cleared)
    fresh.masks[0] = np.zeros(fresh.size, np.uint8)
    kept = loading.clear_stale_views(fresh)
    assert len(kept) == loading.STALE_VIEWS and all(isinstance(v, dict) for v in kept)
    fresh.inspect_open = True  # the Look inside tab stays open across a load
    assert _state(loading.reload_clip(ctx, 0, 0, 1, fresh, 64)).inspect_open


def test_absurd_trim_numbers_read_as_past_the_end_not_as_a_crash(ctx: DemoContext,
                                                                   upload: Path) -> None:
    """A typo such as 1e19 in a trim box made Python's islice raise (no index past
    sys.maxsize), and NaN / inf failed in int(): a bare "Error" instead of a message."""
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    for start, end, step in [(1e19, 0, 1), (float("inf"), 0, 1), (0, 0, 1e30)]:
        out = loading.load_upload(ctx, str(upload), start, end, step, old)
        assert out[0] is old and "Could not load the clip" in out[-1], out[-1]
    loaded = _state(loading.load_upload(ctx, str(upload), float("nan"), 1e30, 1, old))
    assert loaded.num_frames == ctx.max_frames  # blank start, "through the end"
    cleanup_state(loaded)


def test_names_and_settings_come_along_before_anything_is_annotated(ctx: DemoContext,
                                                                    upload: Path) -> None:
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    old.names = {1: "dog", 2: "cat"}
    old.selected = 2
    old.inference_config = dataclasses.replace(old.inference_config, mem_every=2,
                                               mirror_average=True)
    out = loading.reload_clip(ctx, 0, 0, 2, old, None)
    new = _state(out)
    assert new.names == {1: "dog", 2: "cat"} and new.selected == 2
    assert new.inference_config.mem_every == 2 and new.session.mirror is not None
    assert "nothing was annotated yet" in out[-1] and "None of your" not in out[-1]


def test_an_undone_click_is_no_annotation_and_a_vanished_one_is_named(ctx: DemoContext,
                                                                      upload: Path) -> None:
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    old.names[2] = "speck"
    old.clicks[(3, 1)] = []  # what Undo leaves after the last click
    speck = np.zeros(old.size, bool)
    speck[40, 40] = True  # one pixel at 96 px: nothing at 64 px
    old.set_object_mask(2, 2, speck)
    _annotate(old, 4, 1, (20, 60, 30, 90))
    out = loading.reload_clip(ctx, 0, 0, 2, old, 64)
    new = _state(out)
    assert "frame(s) 3" not in out[-1]  # no phantom annotation on frame 3
    assert set(new.obj_masks) == {(2, 1)} and not new.clicks
    assert "speck's annotation on frame 1 is too small" in out[-1]


def test_paint_undo_comes_along_with_its_replaced_clicks(ctx: DemoContext, upload: Path) -> None:
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    _annotate(old, 2, 1, (20, 60, 30, 90))
    clicked = old.obj_masks[(2, 1)].copy()
    old.paint_undo[(2, 1)] = [ClickUndo(clicked, {}, [(60.0, 40.0, True)], [ClickUndo(None)])]
    new = _state(loading.reload_clip(ctx, 0, 0, 1, old, 64))
    record = new.paint_undo[(2, 1)][0]
    assert record.before.shape == (64, 106) and record.before.sum() > 0
    assert record.clicks == [(60.0 * (106 / 160), 40.0 * (64 / 96), True)]
    assert len(record.history) == 1 and record.history[0].before is None


def test_an_object_marked_absent_stays_absent_after_reload(ctx: DemoContext,
                                                           upload: Path) -> None:
    """Reload kept only annotations with pixels, so an erased object came back from the
    next pass on the frame the user had marked it absent."""
    old = _state(loading.load_upload(ctx, str(upload), 0, 0, 1, None))
    _annotate(old, 0, 1, (20, 60, 30, 90))
    old.set_object_mask(3, 1, np.zeros(old.size, bool), absent=True)
    new = _state(loading.reload_clip(ctx, 0, 0, 1, old, 64))
    assert new.annotated_frames() == [0, 3] and new.absent_ids(3) == (1,)
    assert new.pass_annotations()[1] == {3: (1,)}
