"""Measure guided upsampling of SRNet's probabilities (session 23; measured, not adopted).

SRNet runs at a working size and its probabilities are enlarged bilinearly to the output size
(Export at the source resolution does the same). A guided filter (He et al., gray guide = the
output-size frame) could pull the enlarged outlines onto the image's edges. The proxy: run the
holdout at a small working size (`--size 240`) and score at 480p, where ground truth exists;
every spec is one filter setting, `plain` the bilinear baseline.

    python scripts/measure_guided_upsampling.py --size 240 plain 4:1e-3 2:1e-4 8:1e-3

Memory is untouched: the filter only changes the mask that is scored, as an export would.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srnet import InferenceConfig, load_predictor  # noqa: E402
from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset  # noqa: E402
from srnet.eval.vos_eval import evaluate_method, mean_scores  # noqa: E402

DAVIS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "davis2016-train"


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a gray guide; guide and src float32 [H, W]."""
    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1))

    mean_g, mean_s = box(guide), box(src)
    a = (box(guide * src) - mean_g * mean_s) / (box(guide * guide) - mean_g * mean_g + eps)
    b = mean_s - a * mean_g
    return box(a) * guide + box(b)


def method(predictor, spec: str):
    """A `Method` whose masks are the argmax of the (optionally filtered) probabilities."""
    radius, eps = (0, 0.0) if spec == "plain" else (int(spec.split(":")[0]),
                                                     float(spec.split(":")[1]))

    def run(frames: list[np.ndarray], first_mask: np.ndarray):
        session = predictor.new_session()
        predictor.step(session, 0, frames[0], first_mask)
        for out in predictor.propagate(session, frames, 0):
            if not radius or out.from_user:
                yield out.mask
                continue
            gray = cv2.cvtColor(frames[out.frame_idx], cv2.COLOR_RGB2GRAY)
            guide = gray.astype(np.float32) / 255.0  # [H, W]
            prob = np.stack([guided_filter(guide, p, radius, eps) for p in out.prob])
            lookup = np.array([0, *out.obj_ids], np.uint8)
            yield lookup[prob.argmax(axis=0)]  # [H, W] object ids

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None,
                        help="SRNet checkpoint (default: the shipped assets/srnet_lite.pt)")
    parser.add_argument("--size", type=int, default=240)
    parser.add_argument("specs", nargs="+", help="plain, or RADIUS:EPS")
    args = parser.parse_args()
    torch.set_num_threads(1)
    predictor, _ = load_predictor(args.checkpoint, device="cpu",
                                  config=InferenceConfig(short_side=args.size))
    dataset = VOSDataset(DAVIS)
    for spec in args.specs:
        results = evaluate_method(method(predictor, spec), dataset, list(DEFAULT_HOLDOUT))
        jf, j, f, _ = mean_scores(results)
        print(f"{spec:10s} J&F {100 * jf:.2f} (J {100 * j:.2f}, F {100 * f:.2f})", flush=True)


if __name__ == "__main__":
    main()
