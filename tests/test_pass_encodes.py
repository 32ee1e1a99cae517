"""A pass that starts on an annotated frame encodes that frame once, and gives the same masks
as annotating with `step` and then propagating (which encodes it twice)."""

from __future__ import annotations

import numpy as np
import pytest

from demo.passes import run_pass
from srnet import InferenceConfig, Predictor


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
