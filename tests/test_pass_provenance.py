"""Which memory a correction makes stale, and the guards around passes (a review of the
inference engine, session 31): each working-memory frame remembers the pass that predicted it,
so re-annotating a frame forgets exactly the frames predicted from its old mask, whichever way
that pass ran; a second pass on one session stops the first; the permanent cap keeps the
anchor and the newest annotation; a thin object survives the downscale into memory."""

import numpy as np
import pytest
import torch
from conftest import make_clip

from srnet import InferenceConfig, ModelConfig, Predictor, SRNet
from srnet.inference.memory_bank import MemoryBank, MemoryEntry
from srnet.inference.preprocess import index_to_onehot, masks_to_tensor, plan_geometry


@pytest.fixture(scope="module")
def every_frame() -> Predictor:
    """Every frame joins memory, at the clip's own size: which frames are held is exact."""
    torch.manual_seed(0)
    return Predictor(SRNet(ModelConfig.tiny()).eval(),
                     InferenceConfig(short_side=None, mem_every=1), "cpu")


def test_a_correction_forgets_what_a_backward_pass_predicted_from_it(every_frame):
    frames, masks = make_clip(num_frames=10)
    session = every_frame.new_session()
    every_frame.step(session, 9, frames[9], masks[9])
    list(every_frame.propagate(session, frames, 9, reverse=True))  # 8, 7, ..., 0 from 9
    every_frame.step(session, 5, frames[5], masks[5])  # the user corrects frame 5
    # frames 4..0 were predicted from frame 5's old mask; 8..6 came before it in that pass
    assert session.memory.frame_indices == [9, 8, 7, 6, 5]
    outs = list(every_frame.propagate(session, frames, 5, end=7))
    held = outs[1].memory_held  # frame 6: what it read
    assert held["permanent"] == [9, 5] and not set(held["working"]) & {0, 1, 2, 3, 4}


def test_a_new_annotation_on_a_backward_pass_start_forgets_the_whole_pass(every_frame):
    """Every frame of a backward pass was predicted from its start frame's annotation: a new
    annotation there leaves only itself in memory."""
    frames, masks = make_clip(num_frames=10)
    session = every_frame.new_session()
    every_frame.step(session, 9, frames[9], masks[9])
    list(every_frame.propagate(session, frames, 9, reverse=True))
    assert session.memory.frame_indices == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    changed = masks[9].copy()
    changed[changed == 2] = 0
    every_frame.step(session, 9, frames[9], changed)
    assert session.memory.frame_indices == [9]


def test_a_new_pass_starts_without_the_last_pass_local_frame(every_frame):
    """FAM's local memory is the previous frame of the same pass: a pass started on frame 3
    after one that ended on frame 5 must not align frame 3 to frame 5."""
    frames, masks = make_clip(num_frames=6)
    session = every_frame.new_session()
    every_frame.step(session, 0, frames[0], masks[0])
    outs = list(every_frame.propagate(session, frames, 1))
    assert outs[-1].memory_held["local"] == [4]  # frame 5 read frame 4 as its local frame
    first, second = list(every_frame.propagate(session, frames, 3, end=2, reverse=True))
    assert first.memory_held["local"] == [] and second.memory_held["local"] == [3]


def test_an_unchanged_annotation_keeps_the_memory_predicted_from_it(every_frame):
    frames, masks = make_clip(num_frames=6)
    session = every_frame.new_session()
    every_frame.step(session, 0, frames[0], masks[0])
    list(every_frame.propagate(session, frames, 0))
    before = session.memory.frame_indices
    every_frame.step(session, 0, frames[0], masks[0].copy())  # the same mask again
    assert session.memory.frame_indices == before == [0, 1, 2, 3, 4, 5]
    changed = masks[0].copy()
    changed[changed == 2] = 0
    every_frame.step(session, 0, frames[0], changed)
    assert session.memory.frame_indices == [0]  # all of them came from frame 0's old mask


def test_a_second_pass_on_one_session_stops_the_first(every_frame):
    frames, masks = make_clip(num_frames=8)
    session = every_frame.new_session()
    every_frame.step(session, 4, frames[4], masks[4])
    forward = every_frame.propagate(session, frames, 4)
    backward = every_frame.propagate(session, frames, 4, reverse=True)
    assert next(forward).frame_idx == 4
    assert next(backward).frame_idx == 4
    with pytest.raises(RuntimeError, match="another propagation"):
        next(forward)
    assert [out.frame_idx for out in backward] == [3, 2, 1, 0]


def test_a_step_during_an_open_pass_stops_the_pass(every_frame):
    """A correction stepped while a pass was suspended became that pass's local memory: its
    next frame aligned to the corrected frame, not to the frame before it."""
    frames, masks = make_clip(num_frames=8)
    session = every_frame.new_session()
    every_frame.step(session, 0, frames[0], masks[0])
    forward = every_frame.propagate(session, frames, 0)
    assert [next(forward).frame_idx for _ in range(4)] == [0, 1, 2, 3]
    every_frame.step(session, 1, frames[1], masks[1])
    with pytest.raises(RuntimeError, match="or a step"):
        next(forward)
    assert [out.frame_idx for out in every_frame.propagate(session, frames, 1)][:2] == [1, 2]


def test_bad_pass_bounds_raise_when_the_pass_is_asked_for(every_frame):
    frames, masks = make_clip(num_frames=4)
    session = every_frame.new_session()
    every_frame.step(session, 0, frames[0], masks[0])
    with pytest.raises(ValueError, match="start/end"):
        every_frame.propagate(session, frames, 9)  # no next(): the call itself says so
    with pytest.raises(ValueError, match="behind start"):
        every_frame.propagate(session, frames, 2, end=1)


def _entry(frame_idx: int, permanent: bool = True) -> MemoryEntry:
    return MemoryEntry(frame_idx, torch.zeros(1, 1, 1), {1: torch.zeros(1, 1, 1)}, permanent)


def test_a_permanent_cap_of_one_keeps_the_newest_annotation():
    bank = MemoryBank(max_working=2, max_permanent=1)
    bank.add(_entry(0))
    bank.add(_entry(5))  # the correction the user just made must be read
    assert bank.frame_indices == [5]


def test_a_re_annotated_anchor_keeps_its_place():
    bank = MemoryBank(max_working=2, max_permanent=2)
    for frame_idx in (0, 5, 0, 10):  # frame 0 annotated again before frame 10
        bank.add(_entry(frame_idx))
    assert bank.frame_indices == [0, 10]  # the anchor and the newest; 5 went


def test_pinning_a_frame_at_the_permanent_cap_keeps_that_frame():
    """Pinned after a later annotation, at the cap, the pinned frame itself was evicted while
    `pin` said True (and the demo said "now permanent memory")."""
    bank = MemoryBank(max_working=4, max_permanent=2)
    bank.add(_entry(0))
    for frame_idx in (1, 2, 3):
        bank.add(_entry(frame_idx, permanent=False))
    bank.add(_entry(4))  # a correction, after frame 2 was memorised
    assert bank.pin(2)
    assert bank.find(2) is not None and bank.find(2).permanent
    assert bank.find(0) is not None  # the anchor stays; the older annotation (4) made room
    assert sorted(bank.frame_indices) == [0, 1, 2, 3]
    assert bank.pin(0) and bank.frame_indices[0] == 0  # pinning a permanent frame moves nothing


def test_a_full_reset_forgets_the_objects_too(every_frame):
    frames, masks = make_clip(num_frames=3)
    session = every_frame.new_session()
    every_frame.step(session, 0, frames[0], masks[0])
    every_frame.reset_memory(session, keep_permanent=False)
    only_first = np.where(masks[1] == 1, 1, 0).astype(np.uint8)
    out = every_frame.step(session, 1, frames[1], only_first)
    assert out.obj_ids == (1,) and session.obj_ids == [1]


def test_a_thin_object_keeps_its_share_when_downscaled_into_memory():
    geom = plan_geometry((1080, 1920), short_side=480)
    mask = np.zeros((1080, 1920), np.uint8)
    mask[100:400, 700] = 1  # a one-pixel-wide line (a kite's string)
    resized = masks_to_tensor(index_to_onehot(mask, [1]), geom)  # [1, 1, H'', W'']
    scale = geom.internal_size[0] / 1080
    expected = 300 * scale * scale  # its area at the internal size
    assert float(resized.sum()) == pytest.approx(expected, rel=0.1)
