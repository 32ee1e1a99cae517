"""Key (query) encoder and value (memory) encoder (spec §3.1-3.2)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from srnet.config import ModelConfig
from srnet.model.backbones import build_trunk
from srnet.model.layers import FeatureFusion, repeat_objects


class KeyEncoder(nn.Module):
    """Trunk → (f16, f8, f4); KeyProj f16 → K (C_k), QueryValProj f16 → V_Q (C_v)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.trunk = build_trunk(cfg.key_backbone)
        f16_dim = self.trunk.f16_dim
        self.key_proj = nn.Conv2d(f16_dim, cfg.key_dim, 3, padding=1)
        nn.init.orthogonal_(self.key_proj.weight)
        nn.init.zeros_(self.key_proj.bias)
        self.query_value_proj = nn.Conv2d(f16_dim, cfg.value_dim, 3, padding=1)

    def project(self, f16: Tensor) -> tuple[Tensor, Tensor]:
        """Shapes: f16 [B, C16, h, w] → key [B, C_k, h, w], query value [B, C_v, h, w]."""
        return self.key_proj(f16), self.query_value_proj(f16)


class MaskValueEncoder(nn.Module):
    """[D] "shared" value encoder of the lite config: a small strided CNN on (own mask, other
    objects' mask) fused with the key encoder's f16, so no second backbone pass runs per frame."""

    def __init__(self, f16_dim: int, cfg: ModelConfig) -> None:
        super().__init__()
        layers, in_dim = [], 2
        for out_dim in cfg.mask_encoder_dims:  # four stride-2 convs reach stride 16
            layers += [nn.Conv2d(in_dim, out_dim, 3, stride=2, padding=1), nn.ReLU()]
            in_dim = out_dim
        self.mask_cnn = nn.Sequential(*layers)
        self.fuse = FeatureFusion(f16_dim + in_dim, cfg.value_dim)

    def forward(self, image: Tensor | None, f16: Tensor, masks: Tensor, others: Tensor) -> Tensor:
        """Shapes: f16 [B, C16, h, w]; masks, others [B, K, H, W] → values [B*K, C_v, h, w]."""
        batch, num_obj = masks.shape[:2]
        stacked = torch.stack([masks, others], dim=2).flatten(0, 1)  # [B*K, 2, H, W]
        mask_feat = self.mask_cnn(stacked)  # [B*K, C_m, h, w]
        f16 = repeat_objects(f16, num_obj)  # [B*K, C16, h, w]
        return self.fuse(torch.cat([f16, mask_feat], dim=1))  # [B*K, C_v, h, w]


class ResNetValueEncoder(nn.Module):
    """Paper value encoder: ResNet-18 on (RGB, own mask, others) to layer3, fused with f16."""

    def __init__(self, f16_dim: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.trunk = build_trunk(cfg.value_backbone, in_channels=5)
        self.fuse = FeatureFusion(f16_dim + self.trunk.f16_dim, cfg.value_dim)

    def forward(self, image: Tensor | None, f16: Tensor, masks: Tensor, others: Tensor) -> Tensor:
        if image is None:
            raise ValueError("the resnet18 value encoder needs the RGB image")
        batch, num_obj = masks.shape[:2]
        rgb = repeat_objects(image, num_obj)  # [B*K, 3, H, W]
        stacked = torch.cat([rgb, masks.flatten(0, 1)[:, None], others.flatten(0, 1)[:, None]],
                            dim=1)  # [B*K, 5, H, W]
        value16, _, _ = self.trunk.forward_features(stacked)  # [B*K, 256, h, w]
        f16 = repeat_objects(f16, num_obj)  # [B*K, C16, h, w]
        return self.fuse(torch.cat([f16, value16], dim=1))  # [B*K, C_v, h, w]


def build_value_encoder(f16_dim: int, cfg: ModelConfig) -> nn.Module:
    if cfg.value_backbone == "shared":
        return MaskValueEncoder(f16_dim, cfg)
    return ResNetValueEncoder(f16_dim, cfg)


def other_objects(masks: Tensor) -> Tensor:
    """For each object, the union (sum, clamped) of every other object's mask.

    Shapes: masks [B, K, H, W] → [B, K, H, W]
    """
    return (masks.sum(dim=1, keepdim=True) - masks).clamp(0, 1)
