#!/usr/bin/env bash
# Session 7 (issue #9, the bar's fallback): SRNet-lite J&F against the NUMBER OF TRAINING OBJECTS.
# Usage: FRACTION=0.12|0.35|1.0 scripts/curve_objects.sh [extra train flags]
#
# Each arm trains from the ImageNet Lite0 trunk (no --init; the heads start from random
# weights) on the stage-0 mix (half DAVIS-2016 training videos, half static pseudo clips,
# pasted second objects), with a fixed nested share of the data (`--train-fraction`, seeded:
# every smaller share is contained in every larger one): 0.12 = 3 of the 24 videos and 140 of
# the 1,169 static train images, 0.35 = 8 and 409, 1.0 = 24 and 1,169. Everything else is
# the same for the three arms: 1,600 steps, batch 4, crop 256, AdamW 2e-4 with 100 warm-up
# steps and cosine decay, frozen trunk, one torch thread. The three run side by side on the
# 2-core VM.
#
# Scored, the same way for every arm, and only reported (nothing here is shipped):
#   - the in-loop holdout J&F (short side 240, first 30 frames of the 6 holdout sequences) at
#     steps 800 and 1,600 (log.jsonl);
#   - static-val of final.pt: `python -m srnet eval --static-val ../shared/data/static-masks
#     --method srnet --checkpoint runs/curve-objF/final.pt`.
# Resumable: re-running continues from last.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
FRACTION=${FRACTION:?set FRACTION to 0.12, 0.35 or 1.0}
DATA=${DATA:-../shared/data/davis2016-train}
STATIC=${STATIC:-../shared/data/static-masks}
OUT=${OUT:-runs/curve-obj$FRACTION}
exec python3 -m srnet train --config lite --data "$DATA" --static "$STATIC" --out "$OUT" \
    --train-fraction "$FRACTION" --steps 1600 --batch-size 4 --crop 256 --lr 2e-4 \
    --eval-every 800 --eval-size 240 --eval-frames 30 --ckpt-every 50 --log-every 20 \
    --threads 1 --no-progress --set warmup_steps=100 --set data_threads=1 "$@"
