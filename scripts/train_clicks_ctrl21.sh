#!/usr/bin/env bash
# Session 21 (issue #8): the control arm of scripts/train_clicks_trunk21.sh. Same start
# (assets/click_lite0.pt as of session 20), same 2,000 steps, same recipe and one torch thread,
# but the trunk stays at session 20's 0.3x the new layers' lr. Without it, a gain of the 1.0x
# arm could be more steps rather than a faster trunk. Resumable like trunk21.
#
# Rule, fixed before either arm logged a score: each arm passes by trunk21's rule (logged
# mIoU@1 and mIoU@5 on all 219 val objects both >= 0.689 + 0.005 and 0.867 + 0.005, a later
# click <= 0.3 s median by `python scripts/time_clicks.py --threads 1 --checkpoint ...`).
# If both pass, the arm with the higher mean of its logged mIoU@1 and mIoU@5 ships; if one
# passes, it ships; if neither, nothing ships.
# Outcome (session 21): logged 0.6985 / 0.8720; @5 missed the unrounded threshold (0.8672 +
# 0.005) by 0.0001: not shipped (history, with the paired numbers).
set -euo pipefail
cd "$(dirname "$0")/.."
export INIT=${INIT:-assets/click_lite0.pt} OUT=${OUT:-runs/clicks-ctrl21}
exec scripts/train_clicks_deep.sh --steps 2000 --eval-every 2000 --click-proto \
    --trunk-lr-mult 0.3 "$@"
