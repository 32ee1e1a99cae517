#!/usr/bin/env bash
# Session-4 fine-tune of the shipped lite checkpoint on video + static pseudo clips (issue #9):
# half the clips are DAVIS-2016 training videos (24 sequences outside the holdout), half are
# 3-frame pseudo clips warped from the train split of ../shared/data/static-masks (COCO,
# BSDS, horses, DAVIS-345 multi-object frames); half of all clips get a pasted second object,
# half of those cut from a static image. Frozen Lite0 trunk, no feature cache (warped images).
#
# Checkpoint rule, fixed before the run: the LAST weights (final.pt) are shipped; the in-loop
# holdout J&F is logged for the learning curve only and never used to choose.
# Resumable: re-running continues from $OUT/last.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/davis2016-train}
STATIC=${STATIC:-../shared/data/static-masks}
OUT=${OUT:-runs/stage0}
exec python3 -m srnet train --config lite --data "$DATA" --static "$STATIC" --out "$OUT" \
    --init "${INIT:-assets/srnet_lite.pt}" --steps 1700 --batch-size 4 --crop 256 --lr 8e-5 \
    --eval-every 250 --eval-size 240 --eval-frames 30 --ckpt-every 50 --log-every 10 \
    --threads 1 --no-progress --set warmup_steps=100 --set data_threads=1 "$@"
