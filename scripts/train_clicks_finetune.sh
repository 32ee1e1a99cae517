#!/usr/bin/env bash
# Session-6 fine-tune of the shipped click model (issue #8) after the click-sampler fix: until
# now `initial_clicks` never gave fewer than two positive clicks, so one click (what a user
# does first, and the NoC protocol's first step) was never trained. 1,000 steps from
# assets/click_lite0.pt with the fixed sampler, lr 5e-4 (trunk x 0.1), warm-up 50, cosine to 5 %.
#
# Rule, fixed before the run: the run's LAST weights are scored by the training log's
# validation (all 219 objects of the val split, <= 5 clicks, the predictor as shipped); the
# current assets/click_lite0.pt is scored the same way (`python scripts/click_val5.py`). The
# fine-tune ships if its mIoU@1 and its mIoU@5 are both higher. Nothing else (no DAVIS holdout
# sequence, no external set) is looked at to choose. Resumable: re-run the same command.
# (--object-view-prob 0: these runs predate object views, the default since session 7.)
set -euo pipefail
cd "$(dirname "$0")/.."
STATIC=${STATIC:-../shared/data/static-masks}
DAVIS=${DAVIS:-../shared/data/davis2016-train}
OUT=${OUT:-runs/clicks-ft6}
exec python3 -m srnet train-clicks --static "$STATIC" --davis "$DAVIS" --out "$OUT" \
    --init "${INIT:-assets/click_lite0.pt}" --steps 1000 --lr 5e-4 --eval-every 1000 \
    --eval-objects 219 --threads 1 --object-view-prob 0 "$@"
