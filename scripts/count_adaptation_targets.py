"""Count how often an adaptation pseudo clip labels a visible annotated object as background.

Session 25: with two annotated objects, online adaptation's pseudo clips
(`srnet.data.clips.sample_static_clip`, 384-px crops, seed 0) kept as targets only the objects
covering at least `min_object_area` of the crop; a smaller visible one became background.
Stage 0's threshold, 0.002, did that to paragliding's pilot in 43 of 300 clips; adaptation now
passes 0 (every visible object is a target).

    python scripts/count_adaptation_targets.py --min-object-area 0.002   # the old threshold
    python scripts/count_adaptation_targets.py --min-object-area 0       # adaptation's now
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srnet.data import clips  # noqa: E402
from srnet.data.davis import VOSDataset  # noqa: E402
from srnet.eval.instances import VOID, annotated_frames  # noqa: E402
from srnet.palette import load_index_mask  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-object-area", type=float, default=0.002)
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--seqs", nargs="*", default=["paragliding", "stroller"])
    args = parser.parse_args()
    seen: list[tuple[dict[int, int], list[int]]] = []
    select = clips.select_objects

    def recording(first_mask, rng, max_objects, min_area=0.01):  # what each clip kept
        kept = select(first_mask, rng, max_objects, min_area)
        ids, counts = np.unique(first_mask, return_counts=True)
        seen.append(({int(i): int(c) for i, c in zip(ids, counts) if i}, kept))
        return kept

    clips.select_objects = recording
    dataset = VOSDataset(SHARED / "davis2016-train")
    root = SHARED / "static-masks" / "davis345-train"
    for seq in args.seqs:
        annotations = annotated_frames(root, seq)
        first = min(annotations)
        mask = load_index_mask(annotations[first])
        mask = np.where(mask == VOID, 0, mask).astype(np.uint8)  # [H, W] object ids
        image = dataset.load_frame(seq, first)
        count = len(np.unique(mask)) - 1
        seen.clear()
        rng = np.random.default_rng(0)
        for _ in range(args.clips):
            # the clips adaptation draws (srnet.train.adapt._pseudo_clip): the legacy recipe
            clips.sample_static_clip(image, mask, rng, crop=(384, 384), max_objects=count,
                                     keep_ids=True, min_object_area=args.min_object_area,
                                     legacy_recipe=True)
        for obj in sorted(int(i) for i in np.unique(mask) if i):
            visible = [kept for areas, kept in seen if areas.get(obj, 0) > 0]
            dropped = sum(obj not in kept for kept in visible)
            print(f"{seq} object {obj} ({100 * np.mean(mask == obj):.2f} % of the frame): "
                  f"visible in {len(visible)} of {args.clips} clips, labelled background in "
                  f"{dropped}")


if __name__ == "__main__":
    main()
