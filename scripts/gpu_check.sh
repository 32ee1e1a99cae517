#!/usr/bin/env bash
# The GPU check to run the day a GPU is lent (issue #11 item 5), as one command:
#   bash scripts/gpu_check.sh            # writes logs under $OUT (default gpu-check/) and a table
# It runs the CUDA tests, `bench --device cuda` for lite (shipped weights) and paper (random
# weights: no paper checkpoint exists) at 480x854, and the holdout evaluation on CUDA when the
# DAVIS data is reachable ($DAVIS, default ../shared/data/davis2016-train; on a device machine
# only the repo travels, so copy the six holdout sequences into an ignored folder and point DAVIS
# at it). Each step's last line goes into the table; a failing step is marked, the others still
# run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
DAVIS=${DAVIS:-../shared/data/davis2016-train}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

step() {  # step NAME COMMAND...: run, keep the whole log, remember the last line
  local name=$1
  shift
  "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  local last
  last=$(grep -v '^\s*$' "$OUT/$name.log" | tail -n 1)
  printf '| %s | %s | %s |\n' "$name" "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")" \
    "$last" >>"$OUT/table.md"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$OUT/gpu.txt" 2>&1
printf '| step | status | last line |\n| --- | --- | --- |\n' >"$OUT/table.md"
step gpu-tests python3 -m pytest -q -m gpu tests/test_gpu.py -p no:cacheprovider
step bench-lite python3 -m srnet bench --config lite --size 480x854 --frames 100 --objects 1 \
  --device cuda
step bench-lite-2obj python3 -m srnet bench --config lite --size 480x854 --frames 100 \
  --objects 2 --device cuda
step bench-paper python3 -m srnet bench --config paper --size 480x854 --frames 50 --objects 1 \
  --device cuda --allow-untrained
if [ -d "$DAVIS/JPEGImages" ]; then
  step holdout-cuda python3 -m srnet eval --davis "$DAVIS" --split holdout --size 480 \
    --method srnet --device cuda
  # online adaptation on the GPU: its J&F, and its cost (the log's INFO lines are timed)
  step holdout-cuda-adapt python3 -m srnet eval --davis "$DAVIS" --split holdout --size 480 \
    --method srnet --device cuda --adapt-steps 100
else
  printf '| holdout-cuda | skipped | no DAVIS data at %s |\n' "$DAVIS" >>"$OUT/table.md"
fi
echo "GPU: $(cat "$OUT/gpu.txt")"
cat "$OUT/table.md"
