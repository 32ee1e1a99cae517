"""The Memory view's words match its numbers: where a pixel's top-k read weight goes, and the
points that the softmax leaves with no weight (no panel is drawn for them, so the text says so)."""

from __future__ import annotations

import numpy as np
import pytest

from demo.views_memory import MAX_PANELS, memory_views, panel_order
from srnet import MemoryRead, StepOutput, StepVisuals


def _output(weights: list[float]) -> StepOutput:
    """Frame 2 of a 32x32 clip (2x2 cells of 16 px); memory = frames 0 and 1 (slots 0, 1);
    cell (0, 0) reads tokens 0, 1 (slot 0) and 4, 5 (slot 1) with `weights`."""
    indices = np.tile(np.array([0, 1, 4, 5], np.int64), (4, 1))  # [h*w, k]
    read = MemoryRead((1,), (0, 1), indices, np.tile(np.array(weights, np.float32), (4, 1)))
    visuals = StepVisuals(cell_size=(16.0, 16.0), reads=(read,), local_frame=None,
                          fam_flow=None, dcn_offset=None, dcn_modulation=None, aux_masks=None,
                          proto_attention=None, fg_assignment=None)
    return StepOutput(2, (1,), np.zeros((2, 32, 32), np.float32), np.zeros((32, 32), np.uint8),
                      1.0, False, visuals=visuals, padded_grid=(2, 2))


def test_text_names_the_heaviest_frame_and_the_points_without_weight() -> None:
    frames = [np.full((32, 32, 3), 100 + 40 * i, np.uint8) for i in range(3)]
    _, reads, text = memory_views(frames, _output([0.7, 0.3, 0.0, 0.0]), 3, 4)
    assert "reads its 4 most similar memory points; frame 0 carries 100% of their weight" in text
    assert "2 of the 4 points get under 0.5% of the weight each" in text
    _, _, spread = memory_views(frames, _output([0.4, 0.2, 0.3, 0.1]), 3, 4)
    assert "frame 0 carries 60% of their weight" in spread and "under 0.5%" not in spread
    assert reads.ndim == 3


def test_a_nearly_one_hot_read_draws_only_what_carries_weight() -> None:
    """The trained read puts ~all weight on one point (1.0, then 1e-19 and less): the tiny
    rest got a "<1%" panel and circles, read as a real contribution (session 38's review)."""
    frames = [np.full((32, 32, 3), 100 + 40 * i, np.uint8) for i in range(3)]
    _, one_hot, text = memory_views(frames, _output([1.0, 1e-19, 1e-22, 1e-40]), 3, 4)
    assert "3 of the 4 points get under 0.5% of the weight each" in text
    _, alone, _ = memory_views(frames, _output([1.0, 0.0, 0.0, 0.0]), 3, 4)
    assert np.array_equal(one_hot, alone)  # no panel or circle for frame 1's 1e-22 reads
    _, both, _ = memory_views(frames, _output([0.6, 0.0, 0.4, 0.0]), 3, 4)
    assert both.shape[1] > alone.shape[1]  # a real read of frame 1 gets its panel


def test_panels_run_from_the_heaviest_read_and_leave_out_the_weightless() -> None:
    frames = (0, 35, 5, 20, 10, 40)
    shares = np.array([0.0, 0.002, 0.001, 0.6, 0.004, 0.393])
    assert [frames[t] for t in panel_order(shares, frames)] == [20, 40]  # the rest < 0.5 %
    many = panel_order(np.full(MAX_PANELS + 3, 0.1), tuple(range(MAX_PANELS + 3, 0, -1)))
    assert len(many) == MAX_PANELS and many[0] == MAX_PANELS + 2  # ties: frame 1 first


def test_the_sentence_says_how_much_read_weight_lands_on_each_object() -> None:
    """Reads land on slot 0's cells (0, 0) and (0, 1) with 0.7 and 0.3: with object 1 held on
    the left cell of frame 0, 70% of the weight lands on it; a cell half covered by the object
    splits its weight; without masks the sentence says nothing about labels."""
    from demo.views_memory import label_shares

    frames = [np.full((32, 32, 3), 100 + 40 * i, np.uint8) for i in range(3)]
    held = np.zeros((32, 32), np.uint8)
    held[:, :16] = 1  # cell (0, 0) of frame 0 is object 1
    masks = {0: held, 1: np.zeros((32, 32), np.uint8)}
    _, reads, text = memory_views(frames, _output([0.7, 0.3, 0.0, 0.0]), 3, 4, masks.get,
                                      {1: "rider"})
    assert "70% on rider, 30% on background" in text
    _, plain_reads, plain = memory_views(frames, _output([0.7, 0.3, 0.0, 0.0]), 3, 4)
    assert "rider" not in plain and "background" not in plain
    assert not np.array_equal(reads, plain_reads)  # the held object is outlined
    points = [(0, 0, 0, 0.7), (0, 0, 1, 0.3)]
    half = np.zeros((32, 32), np.uint8)
    half[:, :8] = 2  # half of cell (0, 0)
    shares = label_shares(points, [half, None], (16.0, 16.0))
    assert shares == pytest.approx({0: 0.65, 2: 0.35})
    assert label_shares(points, [None, None], (16.0, 16.0)) == {}  # nothing known


def test_each_object_shows_its_own_memory_read_when_the_groups_differ() -> None:
    """Object 1 marked on frame 0, object 2 first on frame 1: they read separate memories.
    The view showed the first group's reads for every object (object 2 "read" frame 0,
    which holds no object 2)."""
    import dataclasses

    frames = [np.full((32, 32, 3), 100 + 40 * i, np.uint8) for i in range(3)]
    out = _output([0.7, 0.3, 0.0, 0.0])  # object 1's group: frames 0 and 1, frame 0 heaviest
    second = MemoryRead((2,), (1,), np.tile(np.array([0, 1, 2, 3], np.int64), (4, 1)),
                        np.tile(np.array([0.25] * 4, np.float32), (4, 1)))
    visuals = dataclasses.replace(out.visuals, reads=(out.visuals.reads[0], second))
    out = dataclasses.replace(out, obj_ids=(1, 2), visuals=visuals)
    _, _, first_text = memory_views(frames, out, 3, 4, names={1: "rider", 2: "horse"}, obj_id=1)
    _, _, text = memory_views(frames, out, 3, 4, names={1: "rider", 2: "horse"}, obj_id=2)
    assert "frame 0 carries 100%" in first_text and "reads of rider" in first_text
    assert "frame 1 carries 100% of their weight" in text
    assert "These are the reads of horse" in text and "(here frames 1)" in text


def test_outlines_and_shares_follow_what_memory_encoded_not_the_current_annotation() -> None:
    """Frame 0 was re-annotated after the pass (the demo's mask now puts the rider on the
    right cell) while memory still holds the rider on the left cell: the sentence and the
    outline follow memory's record (`MemoryRead.memory_masks`, quarter resolution)."""
    import dataclasses

    frames = [np.full((32, 32, 3), 100 + 40 * i, np.uint8) for i in range(3)]
    encoded = np.zeros((8, 8), np.uint8)
    encoded[:, :4] = 1  # the rider on cell (0, 0), as memory encoded it
    current = np.zeros((32, 32), np.uint8)
    current[:, 16:] = 1  # the annotation of the moment: the rider on cell (0, 1)
    out = _output([0.7, 0.3, 0.0, 0.0])
    read = dataclasses.replace(out.visuals.reads[0], memory_masks=(encoded, None))
    out = dataclasses.replace(out, visuals=dataclasses.replace(out.visuals, reads=(read,)))
    masks = {0: current, 1: np.zeros((32, 32), np.uint8)}
    _, reads, text = memory_views(frames, out, 3, 4, masks.get, {1: "rider"})
    assert "70% on rider, 30% on background" in text  # the current mask would say 30% / 70%
    _, old_reads, _ = memory_views(frames, _output([0.7, 0.3, 0.0, 0.0]), 3, 4,
                                   {0: np.kron(encoded, np.ones((4, 4), np.uint8)),
                                    1: masks[1]}.get, {1: "rider"})
    assert np.array_equal(reads, old_reads)  # the same outline as the encoded mask drawn
