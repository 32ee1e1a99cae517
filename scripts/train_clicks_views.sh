#!/usr/bin/env bash
# Session 7 (issue #8): does training on OBJECT VIEWS help? An object view is the object's box
# enlarged 1.2-2x (at least 0.2 of the short side, at most the whole image), resized to the
# crop: what the predictor's zoom-in shows the network for a small object, and the whole
# image for a large one. Random crops at the working scale (all training so far) show small
# objects small and large ones cut.
# Two arms from the shipped weights (assets/click_lite0.pt, 6,300 steps), identical but for
# the view mix: ARM=views (--object-view-prob 0.5) and ARM=control (0, the session-6 recipe).
# 2,000 steps each, 320-px crops, lr 5e-4 (trunk x 0.1), warm-up 50, cosine to 5 %, the val
# split (219 objects, <= 5 clicks, predictor as shipped) logged at the last step only.
#
# Rule, fixed before the runs: of the two arms' last weights, the one with the higher logged
# mIoU@1 (then mIoU@5) is the candidate; it ships if its mIoU@1 and mIoU@5 both beat the
# checkpoint in assets/ scored the same way (`python scripts/click_val5.py`: 0.592 / 0.809).
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${ARM:?set ARM to views or control}
case "$ARM" in
  views) PROB=0.5 ;;
  control) PROB=0 ;;
  *) echo "ARM must be views or control" >&2; exit 2 ;;
esac
STATIC=${STATIC:-../shared/data/static-masks}
DAVIS=${DAVIS:-../shared/data/davis2016-train}
INIT=${INIT:-assets/click_lite0.pt}
OUT=${OUT:-runs/clicks-${ARM}7}
exec python3 -m srnet train-clicks --static "$STATIC" --davis "$DAVIS" --out "$OUT" \
    --init "$INIT" --steps 2000 --crop 320 --lr 5e-4 --eval-every 2000 \
    --eval-objects 219 --object-view-prob "$PROB" --threads 1 "$@"
