"""Feature Alignment Module (spec §4 eqs 2-5): align the local-memory value to the query frame.

Eq 2-3: a DAT-style offset net predicts a 2-D flow Δp from [K_L; K_Q]; the local value V_L is
bilinearly sampled at p + Δp (`grid_sample`, align_corners=True, zero padding = eq 3's kernel).
Eq 4-5: a 3x3 conv on [Ṽ; V_Q] predicts DCNv2 offsets ΔP and modulation ΔM, then a modulated
deformable conv gives F_L. Both predictors are zero-initialised, so FAM starts as Ṽ = V_L and
F_L = 0.5·conv(Ṽ) (spec §6 #13).

[D] On CUDA the DCN is `torchvision.ops.deform_conv2d`. On the CPU the same modulated 3x3 DCN is
computed as one `grid_sample` of all nine taps plus a 1x1 conv over them
(`modulated_deform_conv3x3`): torchvision's CPU kernel is ~4x slower at 480p; tests check both
give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import deform_conv2d

from srnet.config import FAMConfig
from srnet.model.layers import repeat_objects


@dataclass
class FAMOutput:
    """Outputs of FAM for one query frame."""

    local_feature: Tensor  # F_L [B*K, C_v, H/16, W/16]
    grid_offset: Tensor  # Δp in grid cells (r feature cells), (dx, dy) [B, 2, H/(16r), W/(16r)]
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
    # positions in fp32 whatever the autocast dtype: a bf16 grid put the samples up to 0.04
    # cells off at W_G = 54, so a zero offset was no longer the identity (spec §11.1)
    scale = torch.tensor([2.0 / max(grid_w - 1, 1), 2.0 / max(grid_h - 1, 1)],
                         device=value.device)  # [2] (x, y)
    grid = reference_grid(grid_h, grid_w, value.device)  # [1, H_G, W_G, 2]
    grid = grid + offset_cells.permute(0, 2, 3, 1).float() * scale  # [B, H_G, W_G, 2]
    repeats = value.shape[0] // batch
    grid = repeat_objects(grid, repeats)  # [B', H_G, W_G, 2]
    return F.grid_sample(value.float(), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=True)  # [B', C, H_G, W_G] fp32, as autocast gives it


def modulated_deform_conv3x3(x: Tensor, offset: Tensor, weight: Tensor, bias: Tensor, *,
                             padding: int, mask: Tensor) -> Tensor:
    """DCNv2 with a 3x3 kernel, stride 1, `padding` 1, in torchvision's conventions.

    Tap k = 3i + j of output pixel (y, x) reads x bilinearly at
    (y - 1 + i + Δy_k, x - 1 + j + Δx_k), zero outside the map, scaled by its modulation m_k;
    offsets are (Δy_k, Δx_k) pairs.

    Shapes:
        x [B, C, H, W]; offset [B, 18, H, W]; weight [C_out, C, 3, 3]; bias [C_out];
        mask [B, 9, H, W] → [B, C_out, H, W]
    """
    if padding != 1 or weight.shape[-2:] != (3, 3):
        raise ValueError("modulated_deform_conv3x3 supports only a 3x3 kernel with padding 1")
    batch, channels, height, width = x.shape
    # sampling positions in fp32 (as in warp_by_cells): bf16 rounds x + Δx to 0.25 px at 54
    taps = torch.arange(3, device=x.device, dtype=torch.float32) - 1  # [-1, 0, 1]
    tap_y, tap_x = torch.meshgrid(taps, taps, indexing="ij")  # [3, 3] each, k = 3i + j
    ys = torch.arange(height, device=x.device, dtype=torch.float32)[:, None]  # [H, 1]
    xs = torch.arange(width, device=x.device, dtype=torch.float32)[None, :]  # [1, W]
    offset = offset.float().view(batch, 9, 2, height, width)  # [B, 9, (dy, dx), H, W]
    pos_y = ys + tap_y.reshape(1, 9, 1, 1) + offset[:, :, 0]  # [B, 9, H, W], in pixels
    pos_x = xs + tap_x.reshape(1, 9, 1, 1) + offset[:, :, 1]  # [B, 9, H, W]
    # align_corners=False pixel ↔ [-1, 1] mapping (well defined even for a 1-pixel-wide map)
    grid = torch.stack([(2 * pos_x + 1) / width - 1, (2 * pos_y + 1) / height - 1],
                       dim=-1)  # [B, 9, H, W, (x, y)]
    grid = grid.view(batch, 9 * height, width, 2)  # [B, 9*H, W, 2]: the taps stacked in height
    # grid_sample reads a channels-last input faster on the CPU (480p lite, 2 AVX2 cores,
    # interleaved medians: 6.0 ms with the conversion vs 7.4 ms); its output is contiguous.
    sampled = F.grid_sample(x.float().contiguous(memory_format=torch.channels_last), grid,
                            mode="bilinear", padding_mode="zeros",
                            align_corners=False)  # [B, C, 9*H, W] fp32, as under autocast
    sampled = sampled.view(batch, channels, 9, height * width) * mask.reshape(
        batch, 1, 9, height * width)  # [B, C, 9, H*W]
    # Σ over (c, k) of W[o, c, k] · sampled[c, k] as a 1x1 conv with the bias fused (oneDNN;
    # 4.7 ms vs 5.1 ms for MKL's matmul + bias in the same measurement).
    taps = sampled.view(batch, channels * 9, height, width)  # [B, C*9, H, W], index c*9 + k
    return F.conv2d(taps, weight.reshape(weight.shape[0], channels * 9, 1, 1),
                    bias)  # [B, C_out, H, W]


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
        # r > 1 departs from eq 2, which samples V_L itself at p + Δp: V_L is first shrunk to
        # the offset grid, sampled there, and enlarged back (spec §6 #3; README, deviations)
        if self.cfg.grid_factor > 1:
            coarse = F.interpolate(local_value, size=raw.shape[-2:], mode="bilinear",
                                   align_corners=True)  # [B*K, C_v, h', w'] offset grid
            aligned = warp_by_cells(coarse, offset_cells)
            aligned = F.interpolate(aligned, size=(height, width), mode="bilinear",
                                    align_corners=True)  # Ṽ [B*K, C_v, H/16, W/16]
        else:
            aligned = warp_by_cells(local_value, offset_cells)  # Ṽ [B*K, C_v, H/16, W/16]
        pred = self.dcn_pred(torch.cat([aligned, query_value], dim=1))  # [B*K, 27, H/16, W/16]
        dcn_offset = pred[:, :18].float()  # ΔP [B*K, 18, H/16, W/16]
        dcn_modulation = torch.sigmoid(pred[:, 18:].float())  # ΔM [B*K, 9, H/16, W/16]
        dcn = deform_conv2d if aligned.is_cuda else modulated_deform_conv3x3
        local_feature = dcn(aligned.float(), dcn_offset, self.dcn_weight.float(),
                            self.dcn_bias.float(), padding=1,
                            mask=dcn_modulation)  # F_L [B*K, C_v, H/16, W/16]
        return FAMOutput(local_feature.to(query_value.dtype), offset_cells, dcn_offset,
                         dcn_modulation)
