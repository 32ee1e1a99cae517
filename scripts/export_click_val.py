"""Write the click model's held-out objects (the static-masks *val* split) as images/ + masks/
folder pairs, one per source, for `python -m srnet clicks-eval` (symlinks; nothing is copied).

    python scripts/export_click_val.py --static ../shared/data/static-masks \
        --davis ../shared/data/davis2016-train --out runs/click-val
gives runs/click-val/{coco,bsds,horse,davis345}/{images,masks}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srnet.data.static_masks import list_static_samples, static_split  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--static", type=Path, required=True)
    parser.add_argument("--davis", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    _, val = static_split(list_static_samples(args.static, args.davis))
    for sample in val:
        stem = sample.image_key.replace("/", "_") if sample.source == "davis345" else \
            sample.image.stem
        folder = args.out / sample.source
        for kind, src, suffix in (("images", sample.image, sample.image.suffix),
                                  ("masks", sample.mask, ".png")):
            (folder / kind).mkdir(parents=True, exist_ok=True)
            link = folder / kind / f"{stem}{suffix}"
            if not link.exists():
                link.symlink_to(src.resolve())
    print(f"{len(val)} val images under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
