"""Per annotated frame, per object: what `eval --instances [--late-object]` averages away. For
one DAVIS-345 multi-object sequence, propagate its first instance annotation (with
`--late-object`: the last object marked only on the second annotated frame, as `eval` does)
and print each scored frame's IoU per object with the predicted and true pixel counts. A frame
where an object has left the view (0 true pixels) scores J = 1 only when nothing is predicted
for it, so one phantom mask there costs a whole frame.

    python scripts/instance_frames.py --seq bmx-bumps [--late-object] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from srnet import InferenceConfig, load_predictor  # noqa: E402
from srnet.data.davis import VOSDataset  # noqa: E402
from srnet.eval.instances import annotated_frames, evaluate_instances  # noqa: E402
from srnet.eval.metrics import VOID, jaccard  # noqa: E402
from srnet.palette import load_index_mask  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--davis", type=Path, default=SHARED / "davis2016-train")
    parser.add_argument("--instances", type=Path, default=SHARED / "static-masks" /
                        "davis345-train")
    parser.add_argument("--seq", default="bmx-bumps")
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--late-object", action="store_true")
    parser.add_argument("--checkpoint", default=None, help="default: assets/srnet_lite.pt")
    args = parser.parse_args()
    predictor, _ = load_predictor(args.checkpoint, device="cpu",
                                  config=InferenceConfig(short_side=args.size))
    result = evaluate_instances(predictor, VOSDataset(args.davis), args.instances, args.seq,
                                late_object=args.late_object)
    annotations = annotated_frames(args.instances, args.seq)  # frame index → mask file
    print("frame  object  IoU    predicted px  true px")
    for frame_idx, pred in sorted(result.masks.items()):
        truth = load_index_mask(annotations[frame_idx])
        void = truth == VOID  # [H, W]
        for obj_id in sorted(result.per_object):
            p, t = (pred == obj_id) & ~void, (truth == obj_id) & ~void
            print(f"{frame_idx:5d}  {obj_id:6d}  {jaccard(p, t):.3f}  {int(p.sum()):12d}  "
                  f"{int(t.sum()):7d}")
    per_object = "  ".join(f"{k}: {100 * (j + f) / 2:.1f}" for k, (j, f) in
                           result.per_object.items())
    print(f"J&F per object {per_object}")


if __name__ == "__main__":
    main()
