#!/usr/bin/env bash
# Session-5 continuation of the shipped lite checkpoint (issue #9, items 2-3): the stage-0 mix
# (half DAVIS-2016 training videos, half static pseudo clips from the train split of
# ../shared/data/static-masks, pasted second objects) for 1,000 more steps (planned 1,500; cut
# at steps 301 and 272 from the measured throughput on the shared machine, before any score was
# logged), in two arms that differ only in the trunk: ARM=frozen (Lite0 trunk frozen, as
# before) and ARM=trunk3 (the last three trunk blocks, the 112-channel stride-16 stage, trained
# at lr x 0.1, BatchNorm fixed).
#
# Rule, fixed before the runs: each arm's LAST weights (final.pt) are scored on the static
# validation split (`python -m srnet eval --static-val ../shared/data/static-masks`: pseudo
# clips of the held-out COCO/BSDS/horse objects, never trained on, no DAVIS sequence in it).
# The arm with the higher static-val J&F is shipped if it beats the current
# assets/srnet_lite.pt on that same score; otherwise the current checkpoint stays. The DAVIS
# holdout is reported only, never used to choose. Resumable: re-running continues from last.pt.
#
# Sessions 8-16 ran this script with other arms, crops, clip lengths and starting weights; each
# session's command and rule, as committed here before its run, is quoted in
# docs/training-history.md (and in `git log -p scripts/train_stage2.sh`).
#
# Session 17: two new levers, each against a margin. (1) A uniform weight average ("model soup",
# Wortsman et al. 2022) of the four checkpoints that descend from the session-13 weights:
# runs/srnet_lite_session13.pt, runs/stage11-crop384/final.pt, runs/stage11-trunk11/final.pt
# and runs/stage12-trunk11/final.pt (= shipped), written by scripts/average_checkpoints.py. (2)
# A low-lr polish of the shipped weights (every continuation so far re-warmed to 5e-5):
# `INIT=assets/srnet_lite.pt ARM=trunk11 OUT=runs/stage13-lowlr scripts/train_stage2.sh --crop
# 384 --lr 2e-5 --steps 600 --set eval_every=600`, resized once before any score if the
# measured speed says it would not end inside the session. Rule, fixed before either is scored:
# the candidate with the higher static-val ships only if it reaches the shipped checkpoint's
# static-val plus 0.2 (92.6 + 0.2 = 92.8, measured 2026-12-03 on this machine, same evaluation
# code); otherwise nothing ships. Holdout and multi-object are reported after the choice.
# (Result: polish 92.7, soup 92.6: nothing shipped; see docs/training-history.md.)
#
# Session 18: the polish's static-val gain, +0.13 +- 0.05 per clip (paired SE, scripts/
# compare_evals.py), was below the margin but the first one since session 13 that is larger than
# its noise, so the polish continues for one more low-lr cycle from its last weights:
# `INIT=runs/stage13-lowlr/final.pt ARM=trunk11 OUT=runs/stage14-lowlr scripts/train_stage2.sh
# --crop 384 --lr 2e-5 --steps 600 --set eval_every=600` (resized once before any score if the
# measured speed says it would not end inside the session). Rule, fixed before the run: its last
# weights ship only if their static-val J&F reaches the shipped checkpoint's plus 0.2 (92.6 + 0.2
# = 92.8, the same bar as session 17); otherwise nothing ships. Reported after the choice.
# (Resized to --steps 480 at step 50 from the measured 0.08 steps/s, before any score.)
#
# Session 45 (rule in docs/training-history.md, fixed before the run): the spec's λ_aux, 0.1 per
# PTM layer, i.e. `--set model.ptm.aux_loss_weight=0.3` on the mean over 3 layers, at the
# session-42 recipe otherwise:
# `INIT=assets/srnet_lite.pt ARM=trunk11 OUT=runs/stage45-aux scripts/train_stage2.sh --crop 448
# --lr 2e-5 --steps 1000 --seed 45 --set instance_videos=True --set video_min_object_area=0.002
# --set model.ptm.aux_loss_weight=0.3 --no-resume`. Ships only if its final static-val is at
# least the shipped weights' (no margin: fidelity, not a gain) and its paired per-clip difference
# is not below minus one standard error.
# Session 46: restarted on a new machine (runs/ lost at step ~550) with --steps 400, so that it
# ends inside one session; same rule (docs/training-history.md).
# (Not shipped: static-val 93.9 against 94.0, paired -0.03 +- 0.07.) Then 400 more steps from
# its final.pt: INIT=runs/stage45-aux/final.pt OUT=runs/stage46-aux --seed 46 --eval-every 0,
# the rest as above; same rule. (Not shipped: 93.9, paired -0.06 +- 0.13.)
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${ARM:-trunk3}
DATA=${DATA:-../shared/data/davis2016-train}
STATIC=${STATIC:-../shared/data/static-masks}
INIT=${INIT:-assets/srnet_lite.pt}
case "$ARM" in
  frozen) BLOCKS=0 ;;
  trunk3|trunk6|trunk11) BLOCKS=${ARM#trunk} ;;  # the last N trunk blocks train
  *) echo "ARM must be frozen, trunk3, trunk6 or trunk11" >&2; exit 2 ;;
esac
OUT=${OUT:-runs/stage2-$ARM}
exec python3 -m srnet train --config lite --data "$DATA" --static "$STATIC" --out "$OUT" \
    --init "$INIT" --steps 1000 --batch-size 4 --crop 256 --lr 5e-5 \
    --eval-every 500 --eval-size 240 --eval-frames 30 --ckpt-every 50 --log-every 10 \
    --threads 1 --no-progress --set warmup_steps=50 --set data_threads=1 \
    --set trunk_train_blocks=$BLOCKS "$@"
