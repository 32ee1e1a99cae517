"""The multi-object benchmark on instance masks (srnet.eval.instances): protocol and scoring."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from srnet.config import InferenceConfig
from srnet.eval.instances import evaluate_instances, format_instances, instance_sequences
from srnet.palette import save_index_mask

HW = (40, 48)


def _gt(t: int) -> np.ndarray:
    """Two objects moving right by 1 px per frame; a void band on row 0."""
    mask = np.zeros(HW, np.uint8)
    mask[5:20, 4 + t:20 + t] = 1
    mask[22:38, 24 + t:40 + t] = 2
    mask[0, :] = 255
    return mask


class FakeVideo:
    def load_frame(self, seq: str, index: int) -> np.ndarray:
        return np.full((*HW, 3), index, np.uint8)


class OraclePredictor:
    """Yields each frame's ground truth (optionally with the object ids swapped), and records
    what it was given."""

    def __init__(self, swap: bool = False) -> None:
        self.swap, self.seen, self.steps = swap, [], []

    def new_session(self) -> SimpleNamespace:
        return SimpleNamespace(config=InferenceConfig())  # adapt_steps 0: no adaptation

    def step(self, session, frame_idx, frame, mask) -> None:
        self.steps.append((int(frame[0, 0, 0]), mask.copy()))
        self.first = self.steps[0]

    def propagate(self, session, frames, start, end=None, *, mask=None):
        if mask is not None:  # annotates `start` first, like `step`
            self.step(session, start, frames[start], mask)
        for index in range(start, len(frames) if end is None else end + 1):
            t = int(frames[index][0, 0, 0])
            self.seen.append(t)
            mask = np.where(_gt(t) == 255, 0, _gt(t))  # [H, W]
            if self.swap:
                mask = np.choose(mask, [0, 2, 1]).astype(np.uint8)
            yield SimpleNamespace(frame_idx=index, mask=mask)


@pytest.fixture()
def instance_root(tmp_path: Path) -> Path:
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    for t in (3, 6, 9):
        save_index_mask(tmp_path / "two" / f"{t:05d}.png", _gt(t))
    one = _gt(0)
    one[one == 2] = 0
    save_index_mask(tmp_path / "one" / "00000.png", one)
    save_index_mask(tmp_path / "one" / "00004.png", one)
    return tmp_path


def test_only_multi_object_sequences_are_chosen(instance_root: Path) -> None:
    assert instance_sequences(instance_root, ["two", "one", "missing"]) == ["two"]
    assert instance_sequences(instance_root, ["two", "one"], min_objects=1) == ["two", "one"]


def test_protocol_and_scores(instance_root: Path) -> None:
    oracle = OraclePredictor()
    result = evaluate_instances(oracle, FakeVideo(), instance_root, "two")
    assert oracle.first[0] == 3 and set(np.unique(oracle.first[1])) == {0, 1, 2}  # void dropped
    assert oracle.seen == list(range(3, 10))  # from the first to the last annotated frame
    assert result.scored_frames == 2
    assert result.JF == pytest.approx(1.0)  # noqa: SIM300
    assert sorted(result.masks) == [6, 9]  # the scored frames' predictions, for per-frame looks
    assert np.array_equal(result.masks[9], np.where(_gt(9) == 255, 0, _gt(9)))
    swapped = evaluate_instances(OraclePredictor(swap=True), FakeVideo(), instance_root, "two")
    assert set(swapped.per_object) == {1, 2}
    assert swapped.J == pytest.approx(0.0)  # noqa: SIM300
    lines = format_instances({"two": result, "two-swapped": swapped})
    assert lines[-1].startswith("multi-object J&F 50.0")


def test_a_start_mask_replaces_the_first_annotation_and_every_object_is_still_scored(
        instance_root: Path) -> None:
    """A user's clicked annotation starts the pass; an object it missed still counts."""
    clicked = np.where(_gt(3) == 1, 1, 0).astype(np.uint8)  # object 2 was never marked
    oracle = OraclePredictor()
    result = evaluate_instances(oracle, FakeVideo(), instance_root, "two", start_mask=clicked)
    assert np.array_equal(oracle.first[1], clicked)
    assert set(result.per_object) == {1, 2}


def test_a_late_object_is_handed_over_on_the_second_annotated_frame_alone(
        instance_root: Path) -> None:
    """Object 2 is marked only on frame 6 (a user adds it later): frame 3 starts object 1
    alone, frame 6 hands over object 2 alone, every frame still runs once, and only frame 9
    (after the hand-over) is scored."""
    oracle = OraclePredictor()
    result = evaluate_instances(oracle, FakeVideo(), instance_root, "two", late_object=True)
    (t0, first), (t1, late) = oracle.steps
    assert (t0, t1) == (3, 6) and oracle.seen == list(range(3, 10))
    assert set(np.unique(first)) == {0, 1} and set(np.unique(late)) == {0, 2}
    assert np.array_equal(late == 2, _gt(6) == 2)
    assert result.scored_frames == 1 and set(result.per_object) == {1, 2}


class HalfSizeOracle(OraclePredictor):
    """The ground truth at the size of the frames it is given (every other pixel)."""

    def propagate(self, session, frames, start, end=None, *, mask=None):
        if mask is not None:  # annotates `start` first, like `step`
            self.step(session, start, frames[start], mask)
        for index in range(start, len(frames) if end is None else end + 1):
            frame = frames[index]
            self.seen.append(frame.shape[:2])
            mask = np.where(_gt(int(frame[0, 0, 0])) == 255, 0, _gt(int(frame[0, 0, 0])))
            yield SimpleNamespace(frame_idx=index, mask=np.ascontiguousarray(mask[::2, ::2]))


def test_prescale_runs_the_predictor_on_smaller_frames_and_scores_at_full_size(
        instance_root: Path) -> None:
    oracle = HalfSizeOracle()
    result = evaluate_instances(oracle, FakeVideo(), instance_root, "two", prescale=20)
    assert set(oracle.seen) == {(20, 24)} and oracle.first[1].shape == (20, 24)
    assert result.scored_frames == 2 and result.J > 0.85  # upsampled back, compared at 40x48
    with pytest.raises(ValueError):  # a half-size mask against full-size truth without it
        evaluate_instances(HalfSizeOracle(), FakeVideo(), instance_root, "two")
