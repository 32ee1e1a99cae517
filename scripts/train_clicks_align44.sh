#!/usr/bin/env bash
# Session 44 (issue #8): the first click run on data that sits on its images. Session 43 found
# (1) the training masks were resized with INTER_NEAREST and lay 0.4-0.8 px below (and right
# of) their images, so the shipped model answers about a pixel low (one-pixel-down answers
# score +0.008 IoU at one click); (2) object views letterboxed large objects with black bars
# (61 % of views, a quarter of their pixels) that trained as background, and 8 % of initial
# negative clicks landed on them. Both are fixed in `srnet/interactive/data.py` and the click
# sampler. This run continues the SHIPPED weights (assets/click_lite0.pt, 22,000 steps) for
# 2,000 steps of the shipped recipe (as scripts/train_clicks_fresh31.sh: trunk at 0.3x, click
# prototypes, 320-px crops, object views, one torch thread), its batches seeded by the init
# checkpoint's bytes. Its weights carry ClickConfig.centred_masks, so the predictor feeds them
# the previous mask centred, as they are trained. Resumable: re-running continues from
# runs/clicks-align44/last.pt.
#
# Rule, fixed before the run logged a score: the LAST weights ship if, on all 219 val objects
# (<= 5 clicks, today's predictor: `python scripts/click_val5.py --checkpoint
# runs/clicks-align44/click_last.pt --curves runs/eval44/click_val5_align44.jsonl`), paired
# per object against the shipped weights (`runs/eval44/click_val5_shipped.jsonl`, measured in
# session 44 before this run; `python scripts/compare_evals.py --clicks K SHIPPED NEW` for
# K = 1 and 5): mIoU@1 and mIoU@5 both rise by at least 0.005 and at least one of the two by
# two paired standard errors or more; NoC@90 (5 clicks) does not rise; and a later click stays
# <= 0.3 s median (`python scripts/time_clicks.py --threads 1 --checkpoint
# runs/clicks-align44/click_last.pt`). Otherwise nothing ships. The 18 independent frames are
# reported after the decision only.
set -euo pipefail
cd "$(dirname "$0")/.."
export INIT=${INIT:-assets/click_lite0.pt} OUT=${OUT:-runs/clicks-align44}
exec scripts/train_clicks_deep.sh --steps 2000 --eval-every 2000 --click-proto \
    --trunk-lr-mult 0.3 "$@"
