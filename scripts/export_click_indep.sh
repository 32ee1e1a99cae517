#!/usr/bin/env bash
# Click objects that no click checkpoint trained on or was chosen on (session 20): three frames
# of each DAVIS-2016 holdout sequence with their whole-object masks (mother and pram together,
# say), skipping the frames whose DAVIS-345 instance masks are in the val split. They come from
# the same six sequences as 63 val objects, so they are independent frames, not independent
# scenes. Symlinks only.
#     scripts/export_click_indep.sh [SHARED_DATA] [OUT]   (defaults ../shared/data, runs/click-indep)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
OUT=${2:-runs/click-indep}
mkdir -p "$OUT/images" "$OUT/masks"
for seq in bear car-turn flamingo lucia paragliding stroller; do
    taken=0
    for frame in 00005 00015 00025 00035 00045 00055 00065; do
        [ "$taken" -ge 3 ] && break
        [ -e "$DATA/static-masks/davis345-train/$seq/$frame.png" ] && continue  # a val object
        image="$DATA/davis2016-train/JPEGImages/480p/$seq/$frame.jpg"
        [ -f "$image" ] || continue
        ln -sfn "$(realpath "$image")" "$OUT/images/${seq}_$frame.jpg"
        ln -sfn "$(realpath "$DATA/davis2016-train/Annotations/480p/$seq/$frame.png")" \
            "$OUT/masks/${seq}_$frame.png"
        taken=$((taken + 1))
    done
done
echo "$(ls "$OUT/images" | wc -l) frames under $OUT"
