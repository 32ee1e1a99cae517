"""demo.render: output contract (uint8 [H, W, 3], inputs untouched) and what each view encodes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from demo import plots, render
from srnet import davis_palette


@pytest.fixture()
def frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)


def _hue(rgb: tuple[int, int, int] | np.ndarray) -> int:
    pixel = np.asarray(rgb, np.uint8).reshape(1, 1, 3)
    return int(cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV)[0, 0, 0])


def test_every_view_is_uint8_rgb_and_leaves_inputs_alone(frame: np.ndarray) -> None:
    original = frame.copy()
    mask = np.zeros((30, 40), np.uint8)
    mask[5:15, 5:20] = 2
    flow = np.ones((6, 8, 2), np.float32)
    views = [
        render.overlay_mask(frame, mask),
        render.draw_clicks(frame, [(10, 10, True), (50, 40, False)]),
        render.heatmap(np.random.rand(6, 8), size=(60, 80)),
        render.blend_heatmap(frame, np.random.rand(6, 8), alpha=0.4),
        render.flow_to_color(flow),
        render.color_wheel(64),
        render.side_by_side([frame, mask > 0, np.random.rand(10, 10)], ["a", "b", "c"], 50),
        plots.confidence_plot([0.9, 0.5, 0.7], highlight=1, size=(300, 120)),
        plots.memory_timeline(20, {"permanent": [0], "local": [18]}, current=5, width=300),
    ]
    for view in views:
        assert view.dtype == np.uint8 and view.ndim == 3 and view.shape[2] == 3
    assert views[0].shape == frame.shape and views[2].shape == (60, 80, 3)
    assert views[5].shape == (64, 64, 3)
    assert np.array_equal(frame, original)


def test_overlay_colours_match_the_palette(frame: np.ndarray) -> None:
    mask = np.zeros((60, 80), np.uint8)
    mask[10:30, 10:30], mask[35:55, 40:70] = 1, 3
    solid = render.overlay_mask(frame, mask, alpha=1.0, contour=False)
    palette = davis_palette()
    assert np.array_equal(solid[20, 20], palette[1]) and np.array_equal(solid[45, 50], palette[3])
    assert np.array_equal(solid[0, 0], frame[0, 0])
    half = render.overlay_mask(frame, mask, alpha=0.5, contour=False)
    expected = np.rint(frame[20, 20] * 0.5 + palette[1] * 0.5)
    assert np.abs(half[20, 20].astype(int) - expected).max() <= 1
    custom = np.zeros((256, 3), np.uint8)
    custom[1] = (0, 0, 255)
    small = render.overlay_mask(frame, mask[::2, ::2], alpha=1.0, palette=custom, contour=False)
    assert tuple(small[20, 20]) == (0, 0, 255)  # a half-size mask is stretched to the frame


def test_contour_is_drawn_on_the_object_edge(frame: np.ndarray) -> None:
    mask = np.zeros((60, 80), np.uint8)
    mask[10:40, 10:40] = 2
    out = render.overlay_mask(frame, mask, alpha=0.0, contour=True)
    assert np.array_equal(out[10, 25], davis_palette()[2])  # the top edge
    assert np.array_equal(out[25, 25], frame[25, 25])  # alpha 0: interior unchanged


def test_flow_colours_follow_the_wheel() -> None:
    right = np.zeros((4, 4, 2), np.float32)
    right[..., 0] = 3.0  # (dx, dy) = (3, 0)
    color = render.flow_to_color(right)
    wheel = render.color_wheel(129)
    assert _hue(color[0, 0]) == _hue(wheel[64, 124])  # right side of the wheel
    assert tuple(color[0, 0]) == (255, 0, 0)  # right = red, full brightness at the max
    down = np.zeros((1, 1, 2), np.float32)
    down[..., 1] = 1.0
    assert _hue(render.flow_to_color(down)[0, 0]) == _hue(wheel[124, 64])
    assert tuple(render.flow_to_color(np.zeros((2, 2, 2)))[0, 0]) == (0, 0, 0)  # zero → black
    half = render.flow_to_color(right, max_magnitude=6.0)
    assert 120 <= half[0, 0, 0] <= 135  # brightness ∝ length / max_magnitude
    assert tuple(wheel[0, 0]) == (255, 255, 255)  # outside the disc


def test_flow_directions_have_their_documented_colours() -> None:
    """Each direction against its colour as the docstring names it, computed with colorsys
    (hue = the angle clockwise from +x on screen): a flipped axis would swap down and up,
    and the wheel, built by the same function, would still agree."""
    import colorsys

    for (dx, dy), degrees, name in (((1, 0), 0, "red"), ((0, 1), 90, "yellow-green"),
                                    ((-1, 0), 180, "cyan"), ((0, -1), 270, "violet")):
        flow = np.array([[[dx, dy]]], np.float32)
        want = np.array(colorsys.hsv_to_rgb(degrees / 360, 1.0, 1.0)) * 255
        got = render.flow_to_color(flow)[0, 0].astype(float)
        assert np.abs(got - want).max() <= 2, (name, got, want)


def test_clicks_are_coloured_by_label(frame: np.ndarray) -> None:
    out = render.draw_clicks(frame, [(20, 20, True), (60, 40, False)], radius=8)
    assert tuple(out[20, 20]) == render.POSITIVE_RGB  # the dot at the exact point
    assert tuple(out[40, 60]) == render.NEGATIVE_RGB
    assert tuple(out[20, 28]) == render.POSITIVE_RGB  # the ring
    # hollow: between the dot and the ring the frame shows through
    assert np.array_equal(out[20, 24], render.to_rgb_u8(frame)[20, 24])
    grey = render.draw_clicks(np.full((40, 40, 3), 100, np.uint8), [(20, 20, True)], radius=8)
    assert grey[20, 31].min() > 150 and grey[20, 25].min() > 150  # white both sides of it


def test_heatmap_range_and_clipping() -> None:
    values = np.array([[0.0, 1.0]], np.float32)
    jet = render.heatmap(values)
    assert jet[0, 0, 2] > jet[0, 0, 0] and jet[0, 1, 0] > jet[0, 1, 2]  # low blue, high red
    clipped = render.heatmap(values, vmin=0.0, vmax=0.5)
    assert np.array_equal(clipped[0, 1], render.heatmap(np.array([[1.0]]), vmin=0, vmax=1)[0, 0])
    negative = render.heatmap(np.array([[-2.0, 0.0]]), vmin=-2.0, vmax=0.0)
    assert np.array_equal(negative, jet)  # an explicit vmax of 0 is honoured
    nan = render.heatmap(np.array([[np.nan, 1.0]]), vmin=0.0, vmax=1.0)
    assert np.array_equal(nan[0, 0], jet[0, 0])


def test_side_by_side_layout(frame: np.ndarray) -> None:
    landscape = render.side_by_side([frame, frame[:, :60]], ["full", "square"], height=120,
                                    gap=4)
    bar = max(16, 120 // 10)  # one text line
    assert landscape.shape == (120 + bar, 160 + 4 + 120, 3)
    # A portrait panel (60x40) raises the row to 135 px so that it stays 3/4 of 120 wide.
    portrait = render.side_by_side([frame, frame[:, :40]], ["full", "half"], height=120, gap=4)
    assert portrait.shape == (135 + bar, 180 + 4 + 90, 3)
    with pytest.raises(ValueError):
        render.side_by_side([frame], ["a", "b"])


def test_a_long_caption_wraps_to_the_panel_instead_of_losing_its_numbers(frame) -> None:
    """A phone clip's narrow panels used to cut 'frame 10: <1% of the read weight' to
    'frame 10: <1% .': the caption now wraps, and every panel of the row gets the same bar."""
    label = "before: differs 24 (object 20) after warping: 28 (object 37)"
    lines = render._wrap(label, 100, 0.4)
    assert len(lines) > 1 and " ".join(lines) == label  # every word kept, in order
    assert all(render._text_width(line, 0.4) <= 100 for line in lines)
    panel = render.side_by_side([frame, frame], [label, "short"], height=80)
    assert panel.shape[0] == 80 + 16 * len(render._wrap(label, 107 - 4, 0.4))
    assert render._wrap("x" * 60, 50, 0.4)[0].endswith(".")  # a word too wide alone


def test_confidence_plot_marks_the_lowest_frame() -> None:
    values = [0.9, 0.85, 0.2, 0.8, 0.95]
    plot = plots.confidence_plot(values, highlight=4, size=(300, 160))
    x_of_min = round(62 + (300 - 12 - 62) * 2 / 4)
    y_of_min = round(118 - (118 - 30) * (0.2 - 0.1) / 0.9)  # axis 0.1 … 1
    assert tuple(plot[y_of_min, x_of_min]) == render.NEGATIVE_RGB  # the dot on the lowest
    assert tuple(plot[y_of_min, 62 + 5]) != render.NEGATIVE_RGB
    assert plots.confidence_plot([], None).shape == (220, 900, 3)


def test_axes_are_labelled() -> None:
    """Both plots carry text under the axis (frame numbers) and the confidence plot a y axis
    title: dark pixels left of the plot area and below it."""
    plot = plots.confidence_plot([0.5] * 30, size=(600, 200))
    dark = plot.min(axis=2) < 100
    assert dark[:, :20].sum() > 50  # rotated "confidence"
    assert dark[200 - 40:, 62:].sum() > 100  # tick numbers and "frame"
    assert plots.frame_ticks(30) == [0, 5, 10, 15, 20, 25, 29]
    assert plots.frame_ticks(2) == [0, 1]


def test_value_axes_tick_round_numbers() -> None:
    """The confidence axis read 0.70, 0.77, 0.85, 0.93, 1.00 and the size axis 0.7, 1.3 (a
    linspace): ticks are now round steps that end on the axis' own ends where those are round."""
    assert plots.value_ticks(0.7, 1.0).tolist() == [0.7, 0.8, 0.9, 1.0]
    assert plots.value_ticks(0.8, 1.0).tolist() == [0.8, 0.85, 0.9, 0.95, 1.0]
    assert plots.value_ticks(0.0, 1.0).tolist() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert plots.value_ticks(0.0, 2.0, 4).tolist() == [0.0, 1.0, 2.0]
    assert plots.value_ticks(0.0, 2.5, 4).tolist() == [0.0, 1.0, 2.0]
    assert plots.value_ticks(0.0, 1.5, 4).tolist() == [0.0, 0.5, 1.0, 1.5]
    assert plots.value_ticks(0.63, 1.0).tolist() == [0.7, 0.8, 0.9, 1.0]
    assert f"{plots.value_ticks(0.0, 3.0, 4)[0]:.1f}" == "0.0"  # it printed "-0.0"


def test_memory_timeline_rows() -> None:
    strip = plots.memory_timeline(10, {"permanent": [0], "local": [9]}, current=5, width=300,
                                  row_height=20)
    assert strip.shape == (2 * 20 + 44, 300, 3)
    cell = (300 - 12 - 96) / 10
    assert tuple(strip[10, int(96 + 0.5 * cell)]) == plots.MEMORY_RGB["permanent"]
    assert tuple(strip[30, int(96 + 9.5 * cell)]) == plots.MEMORY_RGB["local"]
    assert tuple(strip[10, int(96 + 5.5 * cell)]) == (0, 0, 0)  # current-frame marker
    assert strip[2 * 20 + 8:, 96:].min() < 100  # the numbered frame axis


def test_ptm_roles_are_read_off_the_numbers() -> None:
    """The PTM caption names each layer's role from this frame's numbers, not a fixed claim."""
    from demo.views_ptm_fam import ptm_roles

    text = ptm_roles([0.58, -0.81, 0.1], [0.0, 1.0, 0.6])
    assert "from background here: 1;" in text
    assert "swapped: 2;" in text and "mixed: 3." in text
    assert text.endswith("layer(s) 2, 3.")
    assert ptm_roles([0.9, 0.9], [0.1, 0.2]).endswith("layer(s) none.")


def test_the_painter_fits_a_portrait_frame_in_the_window() -> None:
    """A phone clip's 9:16 frame at the column's full width is taller than the screen, and a
    stroke cannot be drawn on what is scrolled away: the box is capped at 75 % of the window
    height (its width follows the frame's aspect); a landscape frame keeps the full width."""
    from demo.painter import painter_html

    portrait = painter_html(np.zeros((854, 480, 3), np.uint8), "k")
    assert 'style="width: min(100%, calc(75vh * 0.5621))"' in portrait
    landscape = painter_html(np.zeros((480, 854, 3), np.uint8), "k")
    assert "calc(75vh * 1.7792)" in landscape  # wider than any column: 100 % wins


def test_the_lowest_frame_label_sits_under_its_dot_clear_of_the_curve() -> None:
    """The label went 8 px above the dot, where the curve runs; under the minimum there is
    never any curve."""
    values = list(0.95 + 0.01 * np.sin(np.arange(60) / 3))
    values[56] = 0.92
    plot = plots.confidence_plot(values, highlight=40)
    red = np.all(plot.astype(int) - render.NEGATIVE_RGB == 0, axis=-1)  # [H, W] dot + text
    rows, cols = np.nonzero(red)
    dot_row = int(np.median(rows[np.abs(cols - cols.max()) < 6]))  # the dot is rightmost
    text_rows = rows[cols < cols.max() - 12]
    assert text_rows.size > 20 and text_rows.min() > dot_row


@pytest.mark.parametrize("num_frames", [1, 2, 8, 90])
def test_a_click_on_a_plot_maps_back_to_the_frame_drawn_there(num_frames: int) -> None:
    """Read off the drawings, not the constants: the confidence plot's grey current-frame
    line and the timeline's blocks sit on the columns that `*_frame_at` maps to that frame."""
    for frame_idx in sorted({0, num_frames // 2, num_frames - 1}):
        plot = plots.confidence_plot(np.full(num_frames, 0.9), highlight=frame_idx)
        grey_rows = (plot[40:150] == (150, 150, 150)).all(axis=2).sum(axis=0)  # [W]
        grey = np.flatnonzero(grey_rows > 60)  # a vertical line, not tick labels
        assert grey.size and all(plots.plot_frame_at(x, num_frames) == frame_idx for x in grey)
        strip = plots.memory_timeline(num_frames, {"working": [frame_idx]}, current=-1)
        block = np.flatnonzero((strip[10] == plots.MEMORY_RGB["working"]).all(axis=1))
        assert block.size
        assert all(plots.timeline_frame_at(x, num_frames) == frame_idx for x in block)
    assert plots.plot_frame_at(20, num_frames) is None  # on the y-axis labels
    assert plots.timeline_frame_at(40, num_frames) is None  # on the row names
    assert plots.timeline_frame_at(895, num_frames) is None  # past the axis


def test_strokes_a_client_sends_are_checked_with_a_message() -> None:
    """The page's painter never sends these, an API client may: a NaN or null size, points as
    a dict, or JSON nested 100,000 deep ended in Gradio's generic "upstream error"."""
    import json

    from demo.painter import parse_strokes

    good = {"mode": "brush", "size": 5, "points": [[1, 2], [3, 4]]}
    assert parse_strokes(json.dumps([good]))[0]["size"] == 5.0
    cases = {"not a number": [{**good, "size": float("nan")}],
             "could not be read": [{**good, "size": None}]}
    for message, strokes in cases.items():
        with pytest.raises(ValueError, match=message):
            parse_strokes(json.dumps(strokes))
    with pytest.raises(ValueError, match="points or size could not be read"):
        parse_strokes(json.dumps([{**good, "points": {"x": 1}}]))
    with pytest.raises(ValueError, match="strokes could not be read"):
        parse_strokes("[" * 100_000 + "]" * 100_000)
