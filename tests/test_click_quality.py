"""The shipped click model (`assets/click_lite0.pt` through `load_click_model()`): mean IoU after
1 and after 3 simulated NoC clicks on 8 fixed held-out objects (static-masks val split). The
bar is the value measured when the checkpoint was made minus a margin; shuffled weights or a
missing file fail (never skipped). Measure with:

    OMP_NUM_THREADS=1 python3 -m pytest -q tests/test_click_quality.py -m slow -s
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from srnet import load_click_model
from srnet.data.static_masks import list_static_samples, static_split
from srnet.interactive.data import load_objects
from srnet.interactive.evaluate import evaluate_objects
from srnet.interactive.train import val_subset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# assets/click_lite0.pt (session 27: 4,000 more steps of session 20's recipe, 22,000 steps in
# all), measured with the command above: 0.742 / 0.845. Session 20's weights (3,000 steps with
# the trunk at 0.3x, 18,000 in all): 0.648 / 0.811. Earlier, with session 13's predictor
# unless said: session 13's weights (stride-32 trunk + click prototypes) 0.583 / 0.733; session
# 9's weights scored 0.620 / 0.752 on these 8 objects,
# session 8's 0.610 / 0.730, session 7's 0.513 / 0.688, session 6's 0.488 / 0.640 and session
# 4's 0.406 / 0.578. Session 20's mirrored first answer (`ClickPredictor.mirror_first`) moved
# these 8 from 0.583 / 0.733 to 0.593 / 0.682 (two objects take other click paths: coco 248334
# and 172595; on all 219 val objects, paired, @1 +0.013 ± 0.005 and @3 +0.004 ± 0.006), and the
# monotonic click rule inside `predict` (`ClickPredictor.monotonic`) to 0.593 / 0.716, so a
# return to session 13's weights fails both bars below (session 20's fails the first)
# Session 33's `restore_far_removals` (a remove-click gives back removals far from it): 0.742 /
# 0.849 (0.845 before).
MEASURED_MIOU1 = 0.742
MEASURED_MIOU3 = 0.849
MARGIN = 0.05


def _objects() -> list:
    _, val = static_split(list_static_samples(SHARED / "static-masks", SHARED / "davis2016-train"))
    return val_subset(load_objects(val[::8], None), 8)


def _scores(model) -> dict:
    scores = evaluate_objects(model.predict, _objects(), 3)
    print(f"over 8 val objects: mIoU@1 {scores['mIoU@1']:.3f}  mIoU@3 {scores['mIoU@3']:.3f}")
    return scores


@pytest.mark.slow
def test_shipped_click_model_quality() -> None:
    model = load_click_model()  # the default path: a missing file raises, never skips
    scores = _scores(model)
    assert scores["mIoU@1"] >= MEASURED_MIOU1 - MARGIN  # the first click alone
    assert scores["mIoU@3"] >= MEASURED_MIOU3 - MARGIN


@pytest.mark.slow
def test_shuffled_weights_fail_the_bar() -> None:
    model = load_click_model()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.model.parameters():
            flat = param.view(-1)
            flat.copy_(flat[torch.randperm(flat.numel(), generator=generator)])
    model.clear_cache()  # drop the cached stem of the intact weights
    assert _scores(model)["mIoU@3"] < MEASURED_MIOU3 - MARGIN  # measured: 0.005
