"""Holdout evaluation during training: the public Predictor on a copy of the model (the predictor
switches its model to eval mode and channels_last, which must not touch the training weights),
scored with the DAVIS protocol through `srnet.eval`."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from srnet.config import InferenceConfig
from srnet.eval.vos_eval import evaluate_method, mean_scores, srnet_method
from srnet.inference import Predictor
from srnet.model import SRNet

log = logging.getLogger(__name__)
# vos_eval is imported at start-up, not at the first evaluation: a run that imported it then
# read whatever source was on disk by that hour, and crashed on an edit made meanwhile
# (session 33, step 500).


@dataclass(frozen=True)
class HoldoutScore:
    JF: float
    J: float
    F: float
    fps: float
    seconds: float

    def as_dict(self) -> dict[str, float]:
        return {"JF": self.JF, "J": self.J, "F": self.F, "eval_fps": self.fps,
                "eval_s": self.seconds}


def evaluate_holdout(model: SRNet, datasets: Sequence, seqs: Sequence[str], *,
                     short_side: int = 240, max_frames: int | None = None,
                     device: torch.device | None = None) -> HoldoutScore | None:
    """Mean J&F over the holdout sequences found in `datasets` (first dataset holding a name wins).

    Returns None when none of the sequences exists. Torch's CPU RNG state is restored afterwards
    (inference draws no other random numbers), so evaluating does not change the training run's
    random stream.
    """
    start = time.perf_counter()
    cpu_rng = torch.get_rng_state()
    eval_model = copy.deepcopy(model).float()
    predictor = Predictor(eval_model, InferenceConfig(short_side=short_side),
                          device or torch.device("cpu"))
    results = {}
    for seq in seqs:
        dataset = next((d for d in datasets if seq in d.sequences), None)
        if dataset is None:
            continue
        results.update(evaluate_method(srnet_method(predictor), dataset, [seq],
                                       max_frames=max_frames))
    torch.set_rng_state(cpu_rng)
    if not results:
        log.warning("no holdout sequence found among %s", list(seqs))
        return None
    jf, j, f, fps = mean_scores(results)
    return HoldoutScore(jf, j, f, fps, time.perf_counter() - start)
