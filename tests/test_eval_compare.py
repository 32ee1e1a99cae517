"""Paired comparison of evaluation logs (srnet.eval.compare), on hand-made logs."""

import math

import numpy as np
import pytest

from srnet.eval.compare import paired_difference, per_clip_scores

LOG_A = """INFO srnet.eval.vos_eval: coco-1: J&F 0.900 (2.0 fps)
INFO srnet.eval.vos_eval: coco-2: J&F 0.800 (2.1 fps)
INFO srnet.eval.vos_eval: horse-3: J&F 0.700 (2.2 fps)
J&F 80.0 J 79.0 F 81.0
"""
LOG_B = """INFO srnet.eval.vos_eval: horse-3: J&F 0.760 (2.2 fps)
INFO srnet.eval.vos_eval: coco-1: J&F 0.910 (2.0 fps)
INFO srnet.eval.vos_eval: coco-2: J&F 0.820 (2.1 fps)
INFO srnet.eval.vos_eval: bsds-9: J&F 0.100 (2.1 fps)
"""


def test_per_clip_scores_reads_only_the_clip_lines() -> None:
    assert per_clip_scores(LOG_A) == {"coco-1": 0.9, "coco-2": 0.8, "horse-3": 0.7}


def test_a_log_with_baselines_compares_srnet_not_the_last_method() -> None:
    """`eval`'s default runs srnet, copy and flow and logs a line per clip for each; keeping a
    clip's last score compared the flow baseline (two checkpoints read as 0 ± 0)."""
    tagged = ("vos_eval: coco-1 [srnet]: J&F 0.900 (2.0 fps)\n"
              "vos_eval: coco-1 [copy]: J&F 0.300 (90.0 fps)\n"
              "vos_eval: coco-1 [flow]: J&F 0.400 (30.0 fps)\n")
    assert per_clip_scores(tagged) == {"coco-1": 0.9}
    assert per_clip_scores(tagged, "flow") == {"coco-1": 0.4}
    untagged = tagged.replace(" [srnet]", "").replace(" [copy]", "").replace(" [flow]", "")
    assert per_clip_scores(untagged) == {"coco-1": 0.9}  # older logs: srnet ran first


class SquareClips:
    """Duck-typed dataset: 3-frame clips of a static 8x8 square on 16x16 frames, with a void
    band (255) on top when `void`."""

    def __init__(self, names: list[str], void: bool = False) -> None:
        self.sequences, self.void = names, void

    def frames(self, seq):
        return [type("P", (), {"stem": f"{i:05d}"})() for i in range(3)]

    def load_frame(self, seq, i):
        return np.zeros((16, 16, 3), np.uint8)

    def load_mask(self, seq, i):
        mask = np.zeros((16, 16), np.uint8)
        mask[4:12, 4:12] = 1
        if self.void:
            mask[0:2, :] = 255
        return mask


def test_eval_logs_each_clip_with_its_method(caplog) -> None:
    import logging

    from srnet.eval.vos_eval import evaluate_method

    with caplog.at_level(logging.INFO, logger="srnet.eval.vos_eval"):
        evaluate_method(lambda frames, first: iter([first] * len(frames)),
                        SquareClips(["a", "b"]), ["a", "b"], label="copy")
    text = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)  # the CLI's format
    assert per_clip_scores(text, "copy") == {"a": 1.0, "b": 1.0}
    assert per_clip_scores(text) == {}  # no srnet line: nothing mistaken for it


def test_the_method_gets_the_first_mask_without_void() -> None:
    """DAVIS-2017-style masks mark void with 255: it is no object to follow (a tracker given
    it followed "object 255"), and scoring still ignores it."""
    from srnet.eval.vos_eval import evaluate_method

    given = []

    def copy_first(frames, first):
        given.append(first.copy())
        return iter([first] * len(frames))

    results = evaluate_method(copy_first, SquareClips(["v"], void=True), ["v"], label="copy")
    assert set(np.unique(given[0]).tolist()) == {0, 1}
    assert given[0][4:12, 4:12].all() and not given[0][0:2].any()
    assert results["v"].JF == 1.0  # the void band is not scored against the copy


def test_paired_difference_over_shared_clips() -> None:
    result = paired_difference(per_clip_scores(LOG_A), per_clip_scores(LOG_B))
    # bsds-9 is only in B and is left out; differences 1, 2, 6 points
    assert result.clips == 3
    assert result.reference_mean == pytest.approx(80.0)
    assert result.candidate_mean == pytest.approx(83.0)
    assert result.mean_difference == pytest.approx(3.0)
    # sample sd of (1, 2, 6) = sqrt(7), over sqrt(3) clips
    assert result.standard_error == pytest.approx(math.sqrt(7 / 3))
    assert "+3.00 ± 1.53" in result.summary()
    assert (result.up, result.down) == (3, 0) and "3 up, 0 down" in result.summary()


def test_up_and_down_count_clips_that_moved_more_than_half_a_point() -> None:
    result = paired_difference({"a": 0.90, "b": 0.90, "c": 0.90},
                               {"a": 0.906, "b": 0.897, "c": 0.89})  # +0.6, -0.3, -1.0
    assert (result.up, result.down) == (1, 1)


def test_identical_logs_differ_by_zero_and_disjoint_logs_refuse() -> None:
    same = paired_difference(per_clip_scores(LOG_A), per_clip_scores(LOG_A))
    assert same.mean_difference == 0 and same.standard_error == 0
    with pytest.raises(ValueError, match="share 0 clip"):
        paired_difference({"a": 0.5, "b": 0.4}, {"c": 0.5})


def test_the_script_prints_one_line_per_candidate_and_explains_a_log_without_clips(
        tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "compare_evals.py"
    (tmp_path / "a.txt").write_text(LOG_A)
    (tmp_path / "b.txt").write_text(LOG_B)
    (tmp_path / "summary_only.txt").write_text("J&F 80.0 J 79.0 F 81.0\n")
    ok = subprocess.run([sys.executable, str(script), str(tmp_path / "a.txt"),
                         str(tmp_path / "b.txt")], capture_output=True, text=True)
    assert ok.returncode == 0 and "+3.00 ± 1.53" in ok.stdout
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "a.txt"),
                          str(tmp_path / "summary_only.txt")], capture_output=True, text=True)
    assert bad.returncode == 2 and "2>&1" in bad.stderr and "Traceback" not in bad.stderr


def test_click_curves_pair_objects_by_name_and_occurrence(tmp_path) -> None:
    """IoU after K clicks per object from two curve files; a short curve keeps its last value
    and a repeated name stays a separate object, so all objects are paired."""
    from srnet.interactive.evaluate import curve_scores

    lines = ['{"name": "a#0", "ious": [0.5, 0.9], "seconds": []}',
             '{"name": "a#0", "ious": [0.2, 0.4, 0.6], "seconds": []}']
    scores = curve_scores("\n".join(lines) + "\n", 3)
    assert scores == {"a#0": 0.9, "a#0~2": 0.6}
    assert curve_scores("\n".join(lines), 1) == {"a#0": 0.5, "a#0~2": 0.2}
    better = curve_scores("\n".join(lines).replace("0.2, 0.4", "0.3, 0.4"), 1)
    result = paired_difference(curve_scores("\n".join(lines), 1), better)
    assert result.clips == 2 and abs(result.mean_difference - 5.0) < 1e-9


def test_comparison_lines_report_both_methods_and_the_paired_difference() -> None:
    from srnet.eval.vos_eval import SequenceResult, comparison_lines

    def run(scores: dict[str, float]) -> dict[str, SequenceResult]:
        return {seq: SequenceResult(v, v, 10, 2.0, ((v, v),)) for seq, v in scores.items()}

    results = {"plain": run({"a": 0.90, "b": 0.80}), "tuned": run({"a": 0.92, "b": 0.83})}
    lines = comparison_lines(results, "plain", "tuned")
    assert lines[0].startswith("plain") and "J&F 85.00" in lines[0] and "a 90.0" in lines[0]
    assert "J&F 87.50" in lines[1] and "5.00 fps" in lines[1]
    assert lines[2].startswith("tuned against plain") and "+2.50 ± 0.50" in lines[2]
    single = {name: {"a": r["a"]} for name, r in results.items()}
    assert len(comparison_lines(single, "plain", "tuned", per_sequence=False)) == 2
