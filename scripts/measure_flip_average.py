"""Measure test-time mirror averaging for SRNet (`InferenceConfig.mirror_average`, session 23).

Each frame is segmented twice, as it is and mirrored left-right, each with its own memory; the
two probability maps are averaged and both memories store the average. It costs two passes per
frame. The script runs the plain predictor and the averaged one over the same set and prints
both J&F and the paired per-clip difference (`python -m srnet eval ... --mirror-average` gives
the averaged row alone).

    python scripts/measure_flip_average.py --set holdout --size 480
    python scripts/measure_flip_average.py --set static-val --size 480
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srnet import InferenceConfig, Predictor, load_predictor  # noqa: E402
from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset  # noqa: E402
from srnet.eval.static_val import StaticValClips  # noqa: E402
from srnet.eval.vos_eval import comparison_lines, evaluate_method, srnet_method  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None,
                        help="SRNet checkpoint (default: the shipped assets/srnet_lite.pt)")
    parser.add_argument("--set", choices=["holdout", "static-val"], default="holdout")
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = InferenceConfig(short_side=args.size)
    predictor, _ = load_predictor(args.checkpoint, device="cpu", config=config)
    mirror = Predictor(predictor.model, dataclasses.replace(config, mirror_average=True), "cpu")
    if args.set == "holdout":
        dataset, seqs = VOSDataset(SHARED / "davis2016-train"), list(DEFAULT_HOLDOUT)
    else:
        dataset = StaticValClips(SHARED / "static-masks")
        seqs = dataset.sequences
    methods = {"plain": srnet_method(predictor), "mirror-averaged": srnet_method(mirror)}
    results = {name: evaluate_method(method, dataset, seqs) for name, method in methods.items()}
    print("\n".join(comparison_lines(results, "plain", "mirror-averaged", per_sequence=False)))


if __name__ == "__main__":
    main()
