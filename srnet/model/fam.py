"""Feature Alignment Module (spec §4 eqs 2-5): align the local-memory value to the query frame.

Eq 2-3: a DAT-style offset net predicts a 2-D flow Δp from [K_L; K_Q]; the local value V_L is
bilinearly sampled at p + Δp (`grid_sample`, align_corners=True, zero padding = eq 3's kernel).
Eq 4-5: a 3x3 conv on [Ṽ; V_Q] predicts DCNv2 offsets ΔP and modulation ΔM, then a modulated
deformable conv gives F_L. Both predictors are zero-initialised, so FAM starts as Ṽ = V_L and
F_L = 0.5·conv(Ṽ) (spec §6 #13).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import deform_conv2d

from srnet.config import FAMConfig


@dataclass
class FAMOutput:
    """Outputs of FAM for one query frame."""

    local_feature: Tensor  # F_L [B*K, C_v, H/16, W/16]
    grid_offset: Tensor  # Δp in feature cells, (dx, dy) order [B, 2, H/(16r), W/(16r)]
    dcn_offset: Tensor  # ΔP in feature pixels, (dy, dx) per tap [B*K, 18, H/16, W/16]
    dcn_modulation: Tensor  # ΔM in [0, 1] [B*K, 9, H/16, W/16]


def reference_grid(height: int, width: int, device: torch.device) -> Tensor:
    """Eq 2's reference points, linearly mapped to [-1, 1]: shape [1, H, W, 2] in (x, y) order."""
    ys = torch.linspace(-1, 1, height, device=device)
    xs = torch.linspace(-1, 1, width, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # [H, W] each
    return torch.stack([grid_x, grid_y], dim=-1).unsqueeze(0)  # [1, H, W, 2]


def warp_by_cells(value: Tensor, offset_cells: Tensor) -> Tensor:
    """Sample `value` at p + Δp, with Δp in cells of the offset grid (eqs 2-3).

    Shapes:
        value: [B', C, H_G, W_G]; offset_cells: [B, 2, H_G, W_G] (dx, dy), B' a multiple of B.
    """
    batch, _, grid_h, grid_w = offset_cells.shape
    scale = offset_cells.new_tensor([2.0 / max(grid_w - 1, 1), 2.0 / max(grid_h - 1, 1)])
    grid = reference_grid(grid_h, grid_w, value.device).to(value.dtype)  # [1, H_G, W_G, 2]
    grid = grid + offset_cells.permute(0, 2, 3, 1).to(value.dtype) * scale  # [B, H_G, W_G, 2]
    repeats = value.shape[0] // batch
    grid = grid.repeat_interleave(repeats, dim=0)  # [B', H_G, W_G, 2]
    return F.grid_sample(value, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


class FeatureAlignment(nn.Module):
    """FAM. Input K_L, K_Q (shared by objects) and V_L, V_Q (per object); output F_L (eq 5)."""

    def __init__(self, key_dim: int, value_dim: int, cfg: FAMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        both = 2 * key_dim
        self.offset_net = nn.Sequential(  # θ_off [D, DAT]: depthwise k×k, norm, GELU, 1x1 → 2
            nn.Conv2d(both, both, cfg.offset_kernel, stride=cfg.grid_factor,
                      padding=cfg.offset_kernel // 2, groups=both),
            nn.GroupNorm(1, both),
            nn.GELU(),
            nn.Conv2d(both, 2, 1, bias=False),
        )
        nn.init.zeros_(self.offset_net[-1].weight)
        self.dcn_pred = nn.Conv2d(2 * value_dim, 27, 3, padding=1)  # eq 4: 18 offsets + 9 masks
        nn.init.zeros_(self.dcn_pred.weight)
        nn.init.zeros_(self.dcn_pred.bias)
        self.dcn_weight = nn.Parameter(torch.empty(value_dim, value_dim, 3, 3))
        self.dcn_bias = nn.Parameter(torch.zeros(value_dim))
        nn.init.kaiming_uniform_(self.dcn_weight, a=5**0.5)

    def forward(self, local_key: Tensor, query_key: Tensor, local_value: Tensor,
                query_value: Tensor) -> FAMOutput:
        """Shapes:
            local_key, query_key: [B, C_k, H/16, W/16]
            local_value, query_value: [B*K, C_v, H/16, W/16] (objects folded into the batch)
        """
        raw = self.offset_net(torch.cat([local_key, query_key], dim=1))  # [B, 2, H_G, W_G]
        offset_cells = self.cfg.max_offset_cells * torch.tanh(raw.float())  # Δp, bounded
        height, width = local_value.shape[-2:]
        if self.cfg.grid_factor > 1:  # sample on the coarse grid, then upsample (spec §6 #3)
            coarse = F.interpolate(local_value, size=raw.shape[-2:], mode="bilinear",
                                   align_corners=True)
            aligned = warp_by_cells(coarse, offset_cells)
            aligned = F.interpolate(aligned, size=(height, width), mode="bilinear",
                                    align_corners=True)  # Ṽ [B*K, C_v, H/16, W/16]
        else:
            aligned = warp_by_cells(local_value, offset_cells)  # Ṽ [B*K, C_v, H/16, W/16]
        pred = self.dcn_pred(torch.cat([aligned, query_value], dim=1))  # [B*K, 27, H/16, W/16]
        dcn_offset, dcn_modulation = pred[:, :18].float(), torch.sigmoid(pred[:, 18:].float())
        local_feature = deform_conv2d(aligned.float(), dcn_offset, self.dcn_weight.float(),
                                      self.dcn_bias.float(), padding=1, mask=dcn_modulation)
        return FAMOutput(local_feature.to(query_value.dtype), offset_cells, dcn_offset,
                         dcn_modulation)
