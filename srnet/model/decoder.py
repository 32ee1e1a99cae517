"""STCN-style mask decoder with skip connections (spec §3.6): stride 16 → 8 → 4 → logits ×4."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from srnet.model.layers import ResBlock


class UpsampleBlock(nn.Module):
    """Add a conv3 of the skip feature to the ×2-upsampled input, then a ResBlock."""

    def __init__(self, skip_dim: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(skip_dim, in_dim, 3, padding=1)
        self.block = ResBlock(in_dim, out_dim)

    def forward(self, skip: Tensor, x: Tensor) -> Tensor:
        """Shapes: skip [B, C_s, 2h, 2w] (shared by objects); x [B*K, C_in, h, w]."""
        skip = self.skip_conv(skip)  # [B, C_in, 2h, 2w], computed once per image
        up = F.interpolate(x, scale_factor=2.0, mode="bilinear",
                           align_corners=False)  # [B*K, C_in, 2h, 2w]
        batch = skip.shape[0]
        up = up.view(batch, -1, *up.shape[1:]) + skip[:, None]  # [B, K, C_in, 2h, 2w], no copy
        return self.block(up.flatten(0, 1))  # [B*K, C_out, 2h, 2w]


class Decoder(nn.Module):
    """concat(F_P, V_Q) → ResBlock → up(f8) → up(f4) → conv3 → per-object logits at full size."""

    def __init__(self, value_dim: int, f8_dim: int, f4_dim: int,
                 dims: tuple[int, int, int]) -> None:
        super().__init__()
        d16, d8, d4 = dims
        self.compress = ResBlock(2 * value_dim, d16)
        self.up_16_8 = UpsampleBlock(f8_dim, d16, d8)
        self.up_8_4 = UpsampleBlock(f4_dim, d8, d4)
        self.pred = nn.Conv2d(d4, 1, 3, padding=1)

    def forward(self, feature: Tensor, f8: Tensor, f4: Tensor) -> Tensor:
        """Shapes: feature [B*K, 2*C_v, H/16, W/16]; f8 [B, C8, H/8, W/8]; f4 [B, C4, H/4, W/4]
        → logits [B*K, 1, H, W]."""
        x = self.compress(feature)  # [B*K, d16, H/16, W/16]
        x = self.up_16_8(f8, x)  # [B*K, d8, H/8, W/8]
        x = self.up_8_4(f4, x)  # [B*K, d4, H/4, W/4]
        logits = self.pred(F.relu(x))  # [B*K, 1, H/4, W/4]
        return F.interpolate(logits, scale_factor=4.0, mode="bilinear",
                             align_corners=False)  # [B*K, 1, H, W]
