"""A pass that starts on an annotated frame encodes that frame once, and gives the same masks
as annotating with `step` and then propagating (which encodes it twice)."""

from __future__ import annotations

import numpy as np
import pytest

from demo.passes import run_pass
from srnet import InferenceConfig, Predictor
from tests.conftest import make_clip


def _counting(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the frames the predictor's network encodes (the torch backend runs the model)."""
    calls: list[int] = []
    encode = predictor.stages.encode_frame

    def counted(image):
        calls.append(1)
        return encode(image)

    monkeypatch.setattr(predictor.stages, "encode_frame", counted)
    return calls


@pytest.mark.parametrize("mirror", [False, True])
def test_propagate_with_mask_matches_step_then_propagate(tiny_model, clip, mirror,
                                                         monkeypatch):
    frames, masks = clip
    config = InferenceConfig(short_side=None, mirror_average=mirror)
    predictor = Predictor(tiny_model, config, "cpu")
    calls = _counting(predictor, monkeypatch)
    twice = predictor.new_session()
    predictor.step(twice, 0, frames[0], masks[0])
    reference = [out.mask for out in predictor.propagate(twice, frames, 0)]
    encodes_before = len(calls)
    once = predictor.new_session()
    got = [out.mask for out in predictor.propagate(once, frames, 0, mask=masks[0])]
    copies = 2 if mirror else 1  # the mirror twin encodes the flipped frame too
    assert encodes_before == (len(frames) + 1) * copies
    assert len(calls) - encodes_before == len(frames) * copies
    assert len(got) == len(reference) == len(frames)
    for a, b in zip(got, reference):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(got[0], masks[0])
    assert once.memory.frame_indices == twice.memory.frame_indices
    if mirror:  # the twin got the (flipped) annotation as well
        np.testing.assert_array_equal(once.mirror.annotations[0], masks[0][:, ::-1])


def test_propagate_checks_the_mask_before_the_pass(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    with pytest.raises(ValueError):
        tiny_predictor.propagate(session, frames, 0, mask=masks[0][:10])
    assert not session.annotations


def test_demo_pass_encodes_each_frame_once(tiny_predictor, clip, monkeypatch):
    frames, masks = clip
    calls = _counting(tiny_predictor, monkeypatch)
    session = tiny_predictor.new_session()
    annotations = {0: masks[0], 4: masks[4]}  # a correction midway starts a second segment
    outs = list(run_pass(tiny_predictor, session, frames, annotations, 0, len(frames) - 1))
    assert [o.frame_idx for o in outs] == list(range(len(frames)))
    assert len(calls) == len(frames)
    np.testing.assert_array_equal(outs[4].mask, masks[4])
    calls.clear()  # a re-run with unchanged annotations re-uses them, still once per frame
    outs = list(run_pass(tiny_predictor, session, frames, annotations, 4, len(frames) - 1))
    assert len(calls) == len(frames) - 4


@pytest.mark.parametrize("mirror", [False, True])
def test_a_partial_correction_gives_what_step_then_propagate_gave(tiny_model, mirror):
    """A mask holding only some of the objects (a correction of one object midway): the
    others are read from memory on that frame, with the previous frame as local memory, as
    `step` did; registering alone read them without it and moved up to 74 pixels a frame."""
    frames, masks = make_clip(8, num_objects=2)
    only_first = np.where(masks[4] == 1, 1, 0).astype(np.uint8)
    predictor = Predictor(tiny_model, InferenceConfig(short_side=None, mirror_average=mirror),
                          "cpu")
    results = []
    for combined in (False, True):
        session = predictor.new_session()
        list(predictor.propagate(session, frames, 0, 3, mask=masks[0]))
        if combined:
            outs = predictor.propagate(session, frames, 4, mask=only_first)
        else:
            predictor.step(session, 4, frames[4], only_first)
            outs = predictor.propagate(session, frames, 4)
        results.append([out.mask for out in outs])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
