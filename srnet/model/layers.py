"""Small shared building blocks: ResBlock, CBAM, SE channel attention, sine position embedding."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def repeat_objects(x: Tensor, num_obj: int) -> Tensor:
    """Repeat per-image features for each object slot: [B, ...] → [B*K, ...].

    With one object this is `x` itself: `repeat_interleave` would copy even for K = 1.
    """
    return x if num_obj == 1 else x.repeat_interleave(num_obj, dim=0)


class ResBlock(nn.Module):
    """STCN-style residual block: relu-conv3-relu-conv3 + skip (conv3 skip when dims differ)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_dim, out_dim, 3, padding=1)
        self.conv2 = nn.Conv2d(out_dim, out_dim, 3, padding=1)
        self.skip = None if in_dim == out_dim else nn.Conv2d(in_dim, out_dim, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        residual = self.conv2(F.relu(self.conv1(F.relu(x))))
        return residual + (x if self.skip is None else self.skip(x))


class ChannelGate(nn.Module):
    """Squeeze-and-excitation channel attention (also CBAM's channel half with max pooling)."""

    def __init__(self, dim: int, reduction: int = 16, use_max: bool = False) -> None:
        super().__init__()
        hidden = max(dim // reduction, 4)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.use_max = use_max

    def forward(self, x: Tensor) -> Tensor:
        gate = self.mlp(x.mean(dim=(2, 3)))  # [B, C]
        if self.use_max:
            gate = gate + self.mlp(x.amax(dim=(2, 3)))  # [B, C]
        return x * torch.sigmoid(gate)[:, :, None, None]  # [B, C, H, W] · [B, C, 1, 1]


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel gate, then a 7x7 spatial gate."""

    def __init__(self, dim: int, reduction: int = 16) -> None:
        super().__init__()
        self.channel = ChannelGate(dim, reduction, use_max=True)
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        x = self.channel(x)
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)],
                           dim=1)  # [B, 2, H, W]
        return x * torch.sigmoid(self.spatial(pooled))  # [B, C, H, W]


class FeatureFusion(nn.Module):
    """ResBlock → CBAM (residual) → ResBlock: STCN/XMem's FeatureFusionBlock (spec §3.2, eq 7)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.block1 = ResBlock(in_dim, out_dim)
        self.attention = CBAM(out_dim)
        self.block2 = ResBlock(out_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.block1(x)
        x = x + self.attention(x)
        return self.block2(x)


def sine_position_embedding(height: int, width: int, dim: int, device: torch.device) -> Tensor:
    """DETR-style 2-D sine embedding over normalised coordinates (spec §4, "Position embedding").

    Returns:
        ``[H*W, dim]``: dim/2 channels for y then dim/2 for x, temperature 10000.
    """
    if dim % 4:
        raise ValueError(f"position embedding dim must be divisible by 4, got {dim}")
    per_axis = dim // 2
    ys = torch.linspace(0, 1, height, device=device)  # [H]
    xs = torch.linspace(0, 1, width, device=device)  # [W]
    freqs = 10000 ** (2 * torch.arange(per_axis // 2, device=device) / per_axis)  # [dim/4]

    def encode(coords: Tensor) -> Tensor:
        angles = coords[:, None] * 2 * math.pi / freqs  # [L, dim/4]
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # [L, dim/2]

    pos_y = encode(ys)[:, None, :].expand(height, width, per_axis)  # [H, W, dim/2]
    pos_x = encode(xs)[None, :, :].expand(height, width, per_axis)  # [H, W, dim/2]
    return torch.cat([pos_y, pos_x], dim=2).reshape(height * width, dim)  # [H*W, dim]
