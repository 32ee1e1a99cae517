"""Test-time mirror averaging (`InferenceConfig.mirror_average`): the averaged answer against two
independent plain sessions, and the mirror twin kept in step by every memory operation."""

import pickle

import numpy as np
import pytest
from conftest import make_clip

from srnet import InferenceConfig, Predictor


def _mirrored(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array[:, ::-1])


@pytest.fixture()
def clip():
    # 72x88 frames: the padded size (80x96) is larger, so a flip of the whole padded tensor
    # would misplace the image; only the real pixels may be mirrored. (Frames under 64 px are
    # enlarged inside, and the mask test below would then compare argmaxes of near-ties.)
    return make_clip(num_frames=5, size=(72, 88), num_objects=2, seed=3)


def test_the_first_propagated_frame_is_the_mean_of_two_independent_passes(tiny_model, clip):
    """Frame 1 reads only frame 0's memory, identical in both twins, so its answer must be the
    mean of a plain session on the clip and a plain session on the mirrored clip (its
    probabilities flipped back): a reference that shares no mirror code."""
    frames, masks = clip
    plain = Predictor(tiny_model, InferenceConfig(short_side=None), "cpu")
    averaged = Predictor(tiny_model, InferenceConfig(short_side=None, mirror_average=True), "cpu")
    direct, flipped, both = plain.new_session(), plain.new_session(), averaged.new_session()
    plain.step(direct, 0, frames[0], masks[0])
    plain.step(flipped, 0, _mirrored(frames[0]), _mirrored(masks[0]))
    averaged.step(both, 0, frames[0], masks[0])
    expected = (plain.step(direct, 1, frames[1]).prob
                + plain.step(flipped, 1, _mirrored(frames[1])).prob[:, :, ::-1]) / 2
    got = averaged.step(both, 1, frames[1])
    assert np.allclose(got.prob, expected, atol=1e-5)
    assert np.array_equal(got.mask, np.array([0, 1, 2], np.uint8)[expected.argmax(axis=0)])
    later = averaged.step(both, 2, frames[2]).prob  # memories now hold the averaged frame 1
    assert not np.allclose(later, plain.step(direct, 2, frames[2]).prob, atol=1e-4)


def test_the_mirror_twin_follows_every_memory_operation(tiny_model, clip):
    frames, masks = clip
    predictor = Predictor(tiny_model, InferenceConfig(short_side=None, mem_every=1,
                                                      mirror_average=True), "cpu")
    session = predictor.new_session()
    assert session.mirror is not None and session.mirror.mirror is None
    predictor.step(session, 0, frames[0], masks[0])
    list(predictor.propagate(session, frames, 0))

    def same() -> bool:
        twin = session.mirror
        return (twin.memory_timeline() == session.memory_timeline()
                and twin.obj_ids == session.obj_ids
                and sorted(twin.annotations) == sorted(session.annotations))

    assert same() and session.memory_timeline()["working"] == [1, 2, 3, 4]
    assert np.array_equal(session.mirror.annotations[0], _mirrored(masks[0]))
    assert predictor.pin_frame(session, 3) and same()
    list(predictor.propagate(session, frames, 2, 0, reverse=True))  # drops frames behind 2
    assert same()
    predictor.remove_object(session, 2)
    assert same() and session.obj_ids == [1]
    predictor.reset_memory(session)
    assert same()


def test_the_compact_host_form_carries_the_twin(tiny_model, clip):
    """ZeroGPU keeps sessions on the host between calls: the twin must travel too."""
    frames, masks = clip
    predictor = Predictor(tiny_model, InferenceConfig(short_side=None, mirror_average=True),
                          "cpu")
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], masks[0])
    predictor.step(session, 1, frames[1])
    host = pickle.loads(pickle.dumps(session.to_host()))
    assert host.on_host and host.mirror is not None and host.mirror.on_host
    back = host.to_device("cpu")
    assert not back.mirror.on_host
    out = predictor.step(back, 2, frames[2])
    reference = predictor.step(session, 2, frames[2])
    assert np.abs(out.prob - reference.prob).max() < 0.02  # fp16 memory on the way
