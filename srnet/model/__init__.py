"""SRNet model: weights and math only, no per-video state, no device choice, no downloads.

Dimension glossary (used in every shape comment):

| dim | meaning |
| --- | --- |
| B | batch |
| K | objects |
| T | memory frames |
| C_k, C_v | key / value channels (64 / 256 in the paper, 64 / 128 in `lite`) |
| H, W | padded input size (multiples of 16) |
| h, w = H/16, W/16 | stride-16 feature size |
| N = T·h·w | memory tokens |
| L | PTM layers |

Paper symbol → code name: K_Q `feats.key`, V_Q `feats.query_value`, K_G/V_G
`memory.global_key/global_value`, K_L/V_L `memory.local_key/local_value`, F_M `memory_feat`,
Δp `grid_offset` (cells, (dx, dy)), Ṽ `aligned`, ΔP/ΔM `dcn_offset`/`dcn_modulation`, F_L
`local_feat`, P_0 `prototype`, X_0 `fused`, X̂_l `pixels`, M_l `aux_logits`, F_P `ptm_out.feature`.
"""

from srnet.model.backbones import EfficientNetLite0, load_backbone_weights
from srnet.model.outputs import (
    FrameFeatures,
    MemoryInputs,
    ModelVisuals,
    SegmentOutput,
    TrainOutput,
)
from srnet.model.srnet import SRNet

__all__ = [
    "EfficientNetLite0", "FrameFeatures", "MemoryInputs", "ModelVisuals", "SRNet",
    "SegmentOutput", "TrainOutput", "load_backbone_weights",
]
