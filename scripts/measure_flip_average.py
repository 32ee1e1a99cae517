"""Measure test-time mirror averaging for SRNet (session 23; measured, not adopted).

Each frame is segmented twice, as it is and mirrored left-right, each with its own memory of
frames in that orientation; the two probability maps are averaged (the mirrored one flipped
back) and that average is what both memories store, so they never drift apart. It costs two
passes per frame. The script runs the plain predictor and the averaged one over the same set and
prints both J&F and the paired per-clip difference.

    python scripts/measure_flip_average.py --set holdout --size 480
    python scripts/measure_flip_average.py --set static-val --size 480

It drives the Predictor's private phases (`_prepare`, `_encode`, `_read_and_segment`,
`_memorize`, `_finalize`) because the averaging sits between the read and the memory write; it
is an experiment, not an API.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srnet import InferenceConfig, load_predictor  # noqa: E402
from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset  # noqa: E402
from srnet.eval.static_val import StaticValClips  # noqa: E402
from srnet.eval.vos_eval import evaluate_method, mean_scores, srnet_method  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def flip_valid(prob: torch.Tensor, geom) -> torch.Tensor:
    """Mirror the real-pixel region of a padded [1, K+1, H'', W''] map (padding is bottom/right,
    so flipping the whole tensor would move the image off its origin)."""
    height, width = geom.internal_size
    out = prob.clone()
    out[..., :height, :width] = prob[..., :height, :width].flip(-1)  # [1, K+1, H', W']
    return out


def mirror_averaged(predictor):
    """A `Method` (see srnet.eval.vos_eval) that averages each frame with its mirror image."""

    def run(frames: list[np.ndarray], first_mask: np.ndarray):
        plain, mirror = predictor.new_session(), predictor.new_session()
        yield predictor.step(plain, 0, frames[0], first_mask).mask
        predictor.step(mirror, 0, np.ascontiguousarray(frames[0][:, ::-1]),
                       np.ascontiguousarray(first_mask[:, ::-1]))
        with torch.inference_mode():
            for idx in range(1, len(frames)):
                image, mirrored = frames[idx], np.ascontiguousarray(frames[idx][:, ::-1])
                geom = predictor._prepare(plain, idx, image, None)
                predictor._prepare(mirror, idx, mirrored, None)
                image_t, feats = predictor._encode(image, geom)
                mirror_t, mirror_feats = predictor._encode(mirrored, geom)
                prob, _ = predictor._read_and_segment(plain, feats, geom, False)
                mirror_prob, _ = predictor._read_and_segment(mirror, mirror_feats, geom, False)
                prob = (prob + flip_valid(mirror_prob, geom)) / 2  # [1, K+1, H'', W'']
                predictor._memorize(plain, idx, image_t, feats, prob, False)
                predictor._memorize(mirror, idx, mirror_t, mirror_feats, flip_valid(prob, geom),
                                    False)
                yield predictor._finalize(plain, idx, prob, None, geom, None).mask

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=["holdout", "static-val"], default="holdout")
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    predictor, _ = load_predictor(device="cpu", config=InferenceConfig(short_side=args.size))
    if args.set == "holdout":
        dataset, seqs = VOSDataset(SHARED / "davis2016-train"), list(DEFAULT_HOLDOUT)
    else:
        dataset = StaticValClips(SHARED / "static-masks")
        seqs = dataset.sequences
    methods = {"plain": srnet_method(predictor), "mirror-averaged": mirror_averaged(predictor)}
    results = {name: evaluate_method(method, dataset, seqs) for name, method in methods.items()}
    for name, res in results.items():
        jf, j, f, fps = mean_scores(res)
        print(f"{name:16s} J&F {100 * jf:.2f} (J {100 * j:.2f}, F {100 * f:.2f}) {fps:.2f} fps")
    diff = np.array([results["mirror-averaged"][s].JF - results["plain"][s].JF for s in seqs])
    sem = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    print(f"paired difference x100 over {len(diff)} clips: {100 * diff.mean():+.2f} "
          f"± {100 * sem:.2f} (s.e.); up {(diff > 0.005).sum()}, down {(diff < -0.005).sum()}")


if __name__ == "__main__":
    main()
