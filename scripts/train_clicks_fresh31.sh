#!/usr/bin/env bash
# Session 31 (issue #8): the first click-model continuation that draws its own batches. Until
# session 31 every --init run replayed its parent's batches step for step (seed 0, step 0; see
# docs/training-history.md), so sessions 21 and 27 measured "more steps" on the same data. This
# run continues the SHIPPED weights (assets/click_lite0.pt, 22,000 steps) for 2,000 steps of the
# shipped recipe (trunk at 0.3x, click prototypes, 320-px crops, object views, one torch thread),
# its batches seeded by the init checkpoint's bytes (srnet.checkpoint.stream_seed), with the
# session-31 data fixes (two horse duplicates of val photos out of training). Resumable:
# re-running continues from runs/clicks-fresh31/last.pt.
#
# Rule, fixed before the run logged a score: the LAST weights ship if their logged mIoU@1 and
# mIoU@5 on all 219 val objects both beat the shipped weights' with today's click predictor
# (0.6959 / 0.8760, `python scripts/click_val5.py`, session 30) by at least 0.005 each
# (>= 0.7009 and >= 0.8810, unrounded), their NoC@90 (5 clicks) is not higher than 3.28, and a
# later click stays <= 0.3 s median (`python scripts/time_clicks.py --threads 1 --checkpoint
# runs/clicks-fresh31/click_last.pt`). Otherwise nothing ships. The 18 independent frames are
# reported after the decision only.
set -euo pipefail
cd "$(dirname "$0")/.."
export INIT=${INIT:-assets/click_lite0.pt} OUT=${OUT:-runs/clicks-fresh31}
exec scripts/train_clicks_deep.sh --steps 2000 --eval-every 2000 --click-proto \
    --trunk-lr-mult 0.3 "$@"
