"""Count the targets of training video clips (session 42's review): how many clips of each
sequence have two target objects, and how many have none.

Session 42 found that a video crop's slots took only objects of 1 % of it, so the DAVIS-345
instance videos' small objects (a hockey stick, a surf board, a kite's lines) were never
targets; `--min-object-area 0.002` is the option that changes it. It also found clips with no
target at all when every crop missed an object at the frame's edge (bmx-bumps).

    python scripts/count_clip_targets.py                          # instance videos, 1 % (default)
    python scripts/count_clip_targets.py --min-object-area 0.002  # the option
    python scripts/count_clip_targets.py --davis-seqs bmx-bumps --clips 120 --max-skip 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srnet.data import VOSDataset, sample_video_clip  # noqa: E402
from srnet.data.davis import DEFAULT_HOLDOUT  # noqa: E402
from srnet.data.static_masks import instance_videos  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--static", type=Path, default=Path("../shared/data/static-masks"))
    parser.add_argument("--davis", type=Path, default=Path("../shared/data/davis2016-train"))
    parser.add_argument("--davis-seqs", default=None,
                        help="comma-separated DAVIS-2016 sequences instead of the instance videos")
    parser.add_argument("--clips", type=int, default=20, help="clips per sequence (seeds 0..)")
    parser.add_argument("--crop", type=int, default=448)
    parser.add_argument("--max-skip", type=int, default=2,
                        help="in annotated frames (the instance videos' 2 ~ 20 video frames)")
    parser.add_argument("--min-object-area", type=float, default=None)
    args = parser.parse_args()
    if args.davis_seqs:
        videos, seqs = VOSDataset(args.davis), args.davis_seqs.split(",")
    else:
        videos = instance_videos(args.static, args.davis, DEFAULT_HOLDOUT)
        if videos is None:
            parser.error(f"no DAVIS-345 instance videos under {args.static}")
        seqs = videos.sequences
    total_two = total_none = 0
    for seq in seqs:
        counts = [int(sample_video_clip(videos, seq, np.random.default_rng(seed), 3,
                                        args.max_skip, (args.crop, args.crop), 2,
                                        min_object_area=args.min_object_area)
                      .valid_objects.sum()) for seed in range(args.clips)]
        two, none = counts.count(2), counts.count(0)
        total_two, total_none = total_two + two, total_none + none
        print(f"{seq:16s} of {args.clips} clips: two targets {two:3d}, no target {none:3d}",
              flush=True)
    print(f"all {len(seqs) * args.clips} clips: two targets {total_two}, no target {total_none}")


if __name__ == "__main__":
    main()
