#!/usr/bin/env bash
# The GPU check to run the day a GPU is lent (issue #11 item 5), as one command.
#
# On a device machine only the repo travels, not ../shared: first, HERE, pack the two DAVIS
# sequences the CUDA tests and the short holdout read (bear, car-turn: about 15 MB) into the
# git-ignored .davis/, then carry it:
#   bash scripts/gpu_check.sh --pack                 # here, once
#   run(command="bash scripts/gpu_check.sh", carry=[".davis"], timeout_s=540)
# With .davis/ present and no ../shared/data/davis2016-train, the script links one to the
# other so the tests find it. It writes logs under $OUT (default gpu-check/) and a table: the
# versions and the autocast dtype, the CUDA tests, `bench --device cuda` for lite (shipped
# weights) and paper (random weights: no paper checkpoint exists) at 480x854, and the
# evaluation of the packed sequences on CUDA (plain, then online adaptation). Each step has
# a time limit; its last line goes into the table; a failing step is marked, the others run.
set -uo pipefail
cd "$(dirname "$0")/.."
SHARED_DAVIS=../shared/data/davis2016-train
SEQS=bear,car-turn
if [ "${1:-}" = "--pack" ]; then
  for seq in ${SEQS//,/ }; do
    for kind in JPEGImages Annotations; do
      mkdir -p ".davis/$kind/480p" && cp -r "$SHARED_DAVIS/$kind/480p/$seq" ".davis/$kind/480p/"
    done
  done
  grep -qx "/.davis/" .git/info/exclude 2>/dev/null || echo "/.davis/" >>.git/info/exclude
  du -sh .davis && exit 0
fi
if [ -d .davis/JPEGImages ] && [ ! -e "$SHARED_DAVIS" ]; then
  mkdir -p "$(dirname "$SHARED_DAVIS")" && ln -sfn "$PWD/.davis" "$SHARED_DAVIS"
fi
OUT=${OUT:-gpu-check}
DAVIS=${DAVIS:-$SHARED_DAVIS}
LIMIT_S=${LIMIT_S:-150}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

step() {  # step NAME COMMAND...: run under the time limit, keep the log, remember the last line
  local name=$1
  shift
  timeout "$LIMIT_S" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  local last
  last=$(grep -v '^\s*$' "$OUT/$name.log" | tail -n 1)
  printf '| %s | %s | %s |\n' "$name" "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")" \
    "$last" >>"$OUT/table.md"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$OUT/gpu.txt" 2>&1
printf '| step | status | last line |\n| --- | --- | --- |\n' >"$OUT/table.md"
step versions python3 -c "import torch, torchvision; from srnet.inference.device import \
cuda_half_dtype; print('torch', torch.__version__, 'torchvision', torchvision.__version__, \
'capability', torch.cuda.get_device_capability(), 'autocast', cuda_half_dtype())"
step gpu-tests python3 -m pytest -q -m gpu tests/test_gpu.py -p no:cacheprovider
step bench-lite python3 -m srnet bench --config lite --size 480x854 --frames 100 --objects 1 \
  --device cuda
step bench-lite-2obj python3 -m srnet bench --config lite --size 480x854 --frames 100 \
  --objects 2 --device cuda
step bench-paper python3 -m srnet bench --config paper --size 480x854 --frames 50 --objects 1 \
  --device cuda --allow-untrained
if [ -d "$DAVIS/JPEGImages" ]; then
  step davis-cuda python3 -m srnet eval --davis "$DAVIS" --seqs "$SEQS" --size 480 \
    --method srnet --device cuda
  # online adaptation on the GPU: its J&F, and its cost (the log's INFO lines are timed)
  step davis-cuda-adapt python3 -m srnet eval --davis "$DAVIS" --seqs "$SEQS" --size 480 \
    --method srnet --device cuda --adapt-steps 100
else
  printf '| davis-cuda | skipped | no DAVIS data at %s (bash %s --pack first) |\n' "$DAVIS" \
    "$0" >>"$OUT/table.md"
fi
echo "GPU: $(cat "$OUT/gpu.txt")"
cat "$OUT/table.md"
