"""Lost-object detection (demo.lost_objects), its plot and the advice it changes, on hand-made
masks: confidence cannot see an object whose mask shrank to nothing, the size ratio can."""

from __future__ import annotations

import numpy as np

from demo import lost_objects, plots
from demo.handlers_inspect import confidence_view
from demo.state import DemoState

SIZE = (20, 20)


def _square(area_side: int, corner: tuple[int, int] = (0, 0)) -> np.ndarray:
    mask = np.zeros(SIZE, bool)
    y, x = corner
    mask[y:y + area_side, x:x + area_side] = True
    return mask


def _state(tmp_path, num_frames: int = 6) -> DemoState:
    frames = [np.zeros((*SIZE, 3), np.uint8)] * num_frames
    return DemoState(tmp_path, frames, 24.0, None, None, names={1: "rider", 2: "horse"})


def _result(state: DemoState, frame_idx: int, sides: dict[int, int], tracked=(1, 2)) -> None:
    """Frame `frame_idx`'s id mask: object k a square of side sides[k] at its own corner."""
    mask = np.zeros(SIZE, np.uint8)
    for obj_id, side in sides.items():
        mask[_square(side, (0, 10 * (obj_id - 1)))] = obj_id
    state.masks[frame_idx] = mask
    state.confidence[frame_idx] = 0.99  # confidently wrong: what the size check is for
    state.tracked[frame_idx] = tuple(tracked)


def test_an_object_that_shrinks_under_a_fifth_is_lost_from_that_frame(tmp_path) -> None:
    state = _state(tmp_path)
    state.set_object_mask(0, 1, _square(10))  # 100 px
    state.set_object_mask(0, 2, _square(6, (0, 10)))  # 36 px
    for frame_idx, rider in enumerate([10, 9, 8, 4, 0, 9]):  # 16 px = 0.16 at frame 3
        _result(state, frame_idx, {1: rider, 2: 6})
    ratios = lost_objects.size_ratios(state)
    np.testing.assert_allclose(ratios[1], [1.0, 0.81, 0.64, 0.16, 0.0, 0.81])
    np.testing.assert_allclose(ratios[2], 1.0)
    assert lost_objects.first_lost_frames(state) == {1: 3}
    message = lost_objects.lost_message(state)
    assert "rider from frame 3 to 4 (found again on frame 5)" in message
    assert "horse" not in message
    plot, advice = confidence_view(state, 2)
    assert advice == message  # it wins over "lowest confidence", which is blind to it
    assert plot.shape == (440, 900, 3)  # confidence above, sizes below


def test_nearest_annotation_sets_the_size_and_annotated_frames_never_count(tmp_path) -> None:
    state = _state(tmp_path)
    state.names = {1: "rider"}
    state.set_object_mask(0, 1, _square(10))  # 100 px
    state.set_object_mask(5, 1, _square(4))  # 16 px: the object got small, the user said so
    for frame_idx, side in enumerate([10, 7, 5, 3, 3, 4]):
        _result(state, frame_idx, {1: side}, tracked=(1,))
    # frames 0-2 compare with frame 0's 100 px, 3-5 with frame 5's 16 px
    np.testing.assert_allclose(lost_objects.size_ratios(state)[1],
                               [1.0, 0.49, 0.25, 9 / 16, 9 / 16, 1.0])
    assert lost_objects.first_lost_frames(state) == {}
    state.masks[5] = np.zeros(SIZE, np.uint8)  # empty on its own annotated frame: not "lost"
    assert lost_objects.first_lost_frames(state) == {}


def test_results_from_before_an_object_was_added_do_not_count_as_lost(tmp_path) -> None:
    state = _state(tmp_path)
    state.set_object_mask(0, 1, _square(10))
    state.set_object_mask(4, 2, _square(6, (0, 10)))  # horse added on frame 4
    for frame_idx in range(4):  # an earlier pass: it did not track the horse
        _result(state, frame_idx, {1: 10}, tracked=(1,))
    for frame_idx in (4, 5):
        _result(state, frame_idx, {1: 10, 2: 6})
    ratios = lost_objects.size_ratios(state)
    assert np.isnan(ratios[2][:4]).all() and (ratios[2][4:] == 1).all()
    assert lost_objects.first_lost_frames(state) == {}
    _, advice = confidence_view(state, 0)
    assert "lowest confidence" in advice and "least sure there" in advice


def test_size_plot_draws_each_object_in_its_colour_and_says_when_empty() -> None:
    colors = {1: (200, 0, 0), 2: (0, 160, 0)}
    ratios = {1: np.array([1.0, 0.5, 0.1, np.nan, 0.9]), 2: np.array([1.0, 1.1, 1.2, 1.0, 1.0])}
    image = plots.object_size_plot(ratios, colors, {1: "rider", 2: "horse"}, 0.2, highlight=1)
    assert image.shape == (220, 900, 3) and image.dtype == np.uint8
    for color in colors.values():
        assert (image == color).all(-1).sum() > 50
    only_missing = plots.object_size_plot({1: np.full(5, np.nan)}, colors, {}, 0.2)
    assert (only_missing == colors[1]).all(-1).sum() < 50  # a name in the legend, no line
    empty = plots.object_size_plot({}, colors, {}, 0.2)
    assert not (empty == colors[1]).all(-1).any()


def test_a_size_past_the_top_of_the_scale_is_named_not_drawn_as_steady() -> None:
    """The car of `car-turn` grows to 5x its annotated size: the line is capped at 3x, so the
    plot says how far it went and where, instead of showing a flat 3x."""
    growing = np.array([1.0, 2.0, 3.5, 5.2, 4.8])
    ratios = {1: growing, 2: np.array([1.0, 1.2, 3.4, np.nan, 1.0])}
    note = plots.off_scale_note(ratios, {1: "car"}, 3.0)
    assert note == "off the scale: car up to 5.2x at frame 3 (+1 more)"
    only_two = plots.off_scale_note({2: ratios[2]}, {}, 3.0)
    assert only_two == "off the scale: object 2 up to 3.4x at frame 2"
    assert plots.off_scale_note({1: np.array([1.0, 2.9]), 2: np.full(2, np.nan)}, {}, 3.0) == ""
    colors = {1: (200, 0, 0), 2: (0, 160, 0)}
    capped = plots.object_size_plot({1: growing}, colors, {1: "car"}, 0.2)
    below = plots.object_size_plot({1: np.minimum(growing, 3.0)}, colors, {1: "car"}, 0.2)
    note_box = (slice(30, 52), slice(500, 888))  # right of the plot, under its top line
    assert (capped[note_box] != below[note_box]).any()  # the note is drawn only when capped


def test_a_backward_pass_names_the_frame_where_it_lost_the_object(tmp_path) -> None:
    """Annotated on the last frame and followed backward: frame 4, next to the annotation, is
    where the object was lost, not frame 0, the lowest lost frame number."""
    state = _state(tmp_path, num_frames=7)
    state.names = {1: "rider"}
    state.set_object_mask(6, 1, _square(10))
    for frame_idx, side in enumerate([0, 0, 0, 1, 2, 10, 10]):
        _result(state, frame_idx, {1: side}, tracked=(1,))
    assert lost_objects.first_lost_frames(state) == {1: 4}
    state.set_object_mask(0, 1, _square(10))  # annotated at both ends: 1 and 4 are as near
    assert lost_objects.first_lost_frames(state) == {1: 1}


def test_a_removed_and_re_added_object_is_not_lost_before_a_pass(tmp_path) -> None:
    """Add reuses a removed object's id; the old results never tracked the new object."""
    state = _state(tmp_path)
    state.set_object_mask(0, 1, _square(10))
    state.set_object_mask(0, 2, _square(6, (0, 10)))
    for frame_idx in range(6):
        _result(state, frame_idx, {1: 10, 2: 6})
    state.forget_object(2)
    state.names[2] = "object 2"  # what Add does
    state.set_object_mask(1, 2, _square(6, (0, 10)))
    assert lost_objects.first_lost_frames(state) == {}
    assert all(2 not in ids for ids in state.tracked.values())


def test_a_lost_object_is_named_when_every_frame_is_annotated_for_another(tmp_path) -> None:
    state = _state(tmp_path, num_frames=3)
    for frame_idx in range(3):  # the horse is annotated everywhere, the rider only on 0
        state.set_object_mask(frame_idx, 2, _square(6, (0, 10)))
        _result(state, frame_idx, {1: [10, 1, 10][frame_idx], 2: 6})
    state.set_object_mask(0, 1, _square(10))
    _, advice = confidence_view(state, 0)
    assert "rider on frame 1 only (found again on frame 2)" in advice


def test_the_size_plot_dots_the_frame_the_advice_names() -> None:
    """After a backward pass the advice names the lost frame nearest the annotation; the dot
    sits there too, not on the earliest frame under the line."""
    ratio = np.array([0.0, 0.0, 0.0, 0.05, 0.1, 1.0, 1.0])
    colors = {1: (200, 0, 0)}
    earliest = plots.object_size_plot({1: ratio}, colors, {1: "rider"}, 0.2)
    named = plots.object_size_plot({1: ratio}, colors, {1: "rider"}, 0.2, lost_at={1: 4})
    none = plots.object_size_plot({1: ratio}, colors, {1: "rider"}, 0.2, lost_at={})
    moved = np.any(earliest != named, axis=-1)  # [H, W] pixels the dot left or reached
    columns = np.flatnonzero(moved.any(axis=0))
    assert columns.size and columns.min() < earliest.shape[1] / 3 < columns.max()
    assert np.any(none != earliest) and np.any(none != named)


def test_the_message_says_how_long_an_object_stays_lost_and_if_it_comes_back(tmp_path) -> None:
    """A one-frame dip (seen in the browser on paragliding: the pilot at frame 23 only) and an
    object lost for good read differently; a backward pass's run goes back from the frame the
    advice names, and frames without a result yet are not called 'not found'."""
    state = _state(tmp_path, num_frames=8)
    state.set_object_mask(4, 1, _square(10))  # the rider annotated on frame 4 (100 px)
    state.set_object_mask(4, 2, _square(6, (0, 10)))  # the horse too (36 px)
    riders = [0, 0, 1, 10, 10, 10, 1, 10]  # lost on 0-2 (backward, for good) and on 6 only
    for frame_idx, rider in enumerate(riders):
        _result(state, frame_idx, {1: rider, 2: 6})
    assert lost_objects.first_lost_frames(state) == {1: 2}  # nearest frame 4: 2 beats 6 (tie)
    message = lost_objects.lost_message(state)
    assert "rider from frame 2 back to 0 (not found again before the clip's start)" in message
    ratios = lost_objects.size_ratios(state)
    assert lost_objects.lost_span(state, 1, 6, ratios[1]) == (6, 7)
    horses = [6, 6, 6, 6, 6, 6, 1, 1]  # lost from 6 to the clip's end
    for frame_idx, horse in enumerate(horses):
        _result(state, frame_idx, {1: 10, 2: horse})
    message = lost_objects.lost_message(state)
    assert "horse from frame 6 to 7 (not found again before the clip's end)" in message
    assert "rider" not in message
    del state.masks[7]  # frame 7 not propagated yet
    message = lost_objects.lost_message(state)
    assert "horse on frame 6 (no result after it yet)" in message
