"""Write the uniform weight average ("model soup") of SRNet checkpoints that descend from one
common ancestor (session 17, issue #9).

    python scripts/average_checkpoints.py --out runs/soup17.pt A.pt B.pt [C.pt ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from srnet.checkpoint import average_checkpoints, save_atomic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="inference checkpoints (same config)")
    parser.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    payload = average_checkpoints(args.checkpoints)
    save_atomic(payload, args.out)
    logging.info("wrote %s: %s", args.out, payload["meta"]["summary"])


if __name__ == "__main__":
    main()
