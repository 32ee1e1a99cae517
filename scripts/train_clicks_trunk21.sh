#!/usr/bin/env bash
# Session 21 (issue #8), started at the end of session 20: is 0.3x still too slow for the
# trunk? Session 20 trained the Lite0 trunk at 0.3x the new layers' lr (instead of RITM's 0.1x)
# and shipped (val mIoU@1 / @5 0.678 / 0.863 against 0.659 / 0.847, old predictor). This arm
# trains 2,000 more steps from those weights (assets/click_lite0.pt as of session 20) with the
# trunk at the full learning rate (1.0x), one torch thread. Resumable: re-running this script
# continues from OUT/last.pt (on a fresh machine it starts over).
#
# Rule, fixed before the run: the LAST weights ship only if their logged mIoU@1 and mIoU@5 on
# all 219 val objects (<= 5 clicks, session 20's predictor: mirrored first answer, monotonic
# rule; the same as `python scripts/click_val5.py --checkpoint runs/clicks-trunk21/click_last.pt`)
# both beat the shipped weights' 0.689 / 0.867 (measured the same way) by at least 0.005, AND
# a later click stays <= 0.3 s at 360x640 on one thread (`python scripts/time_clicks.py
# --threads 1 --checkpoint ...`, median). NoC@90 and the per-set numbers are reported, not used
# to choose.
# Outcome (session 21): logged 0.665 / 0.846 at 1 / 5 clicks: worse, not shipped (history).
set -euo pipefail
cd "$(dirname "$0")/.."
export INIT=${INIT:-assets/click_lite0.pt} OUT=${OUT:-runs/clicks-trunk21}
exec scripts/train_clicks_deep.sh --steps 2000 --eval-every 2000 --click-proto \
    --trunk-lr-mult 1.0 "$@"
