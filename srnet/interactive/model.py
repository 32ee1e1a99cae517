"""The click-to-mask network (RITM-style, Sofiiuk et al. 2022) on the EfficientNet-Lite0 trunk.

Inputs: RGB image, positive / negative click disk maps and the previous mask. The three maps go
through a small conv whose last layer starts at zero and is *added to the stem output*, so
training starts from the intact ImageNet trunk (RITM's "conv1s" injection). Because the maps
enter after the stem, `encode_stem` is computed once per image and reused for every click.
A light FPN decoder (stride 16 → 8 → 4, plus the maps again at stride 4) predicts one logit map
at stride 4, bilinearly upsampled to the input size. `trunk_stride=32` [D, session 8] also runs
Lite0's stride-32 stage (ImageNet blocks 11-15, 320 channels) for more context and object-level
semantics; its lateral conv starts at zero, so a stride-16 checkpoint loads into it unchanged.
`out_stride=2` [D, session 11] adds a refinement at stride 2 (Lite0's block-0 features, the maps
and the stride-4 decoder): a residual on the logits whose last conv starts at zero, so a
stride-4 checkpoint seeds it unchanged; boundaries are then placed on a 2-pixel grid, not 4.
`click_proto=True` [D, session 12] adds a non-local cue at stride 16, SRNet's prototype idea
applied to clicks: the stride-16 features are pooled under the positive clicks, the negative
clicks and the previous mask into three prototypes, and every cell's cosine similarity to each
joins the decoder through a zero-started conv. Convolutions only see a neighbourhood; this tells
the decoder which far-away parts look like what the user clicked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srnet.checkpoint import CheckpointError
from srnet.config import strict_from_dict
from srnet.model.backbones import EfficientNetLite0, conv_bn, load_backbone_weights


@dataclass(frozen=True)
class ClickConfig:
    """Architecture + input conventions; stored in every click checkpoint."""

    name: str = "click-lite0"
    dec_dim: int = 64  # decoder width at strides 16 and 8
    head_dim: int = 32  # decoder width at stride 4
    disk_radius: int = 5  # click disk radius in pixels at the working size
    short_side: int = 360  # working size: images are resized to this short side
    max_long_side: int = 640  # ... unless the long side would exceed this
    trunk_stride: int = 16  # 16: Lite0 blocks 0-10; 32: blocks 0-15 as well (more context)
    out_stride: int = 4  # 4: logits at stride 4; 2: plus a stride-2 refinement (session 11)
    click_proto: bool = False  # click-prototype similarity at stride 16 (session 12)
    # trained on masks resized at pixel centres (INTER_NEAREST_EXACT, every run since session
    # 44): the fed-back previous mask is resized so too. Older weights learned masks ~0.5 px
    # low and right (INTER_NEAREST) and are fed them that way.
    centred_masks: bool = False

    def __post_init__(self) -> None:
        if self.trunk_stride not in (16, 32):
            raise ValueError(f"trunk_stride must be 16 or 32, got {self.trunk_stride}")
        if self.out_stride not in (2, 4):
            raise ValueError(f"out_stride must be 4 or 2, got {self.out_stride}")

    @property
    def trunk_blocks(self) -> int:
        """How many Lite0 blocks run (11 reach stride 16, all 16 reach stride 32)."""
        return 11 if self.trunk_stride == 16 else 16

    @property
    def label(self) -> str:
        """Short name for checkpoint summaries: `click-lite0`, `click-lite0-s32`, `...-out2`,
        `...-proto`."""
        label = self.name if self.trunk_stride == 16 else f"{self.name}-s32"
        label = label if self.out_stride == 4 else f"{label}-out2"
        return f"{label}-proto" if self.click_proto else label

    def new_keys(self, init: ClickConfig) -> tuple[str, ...]:
        """State-dict prefixes this network has and a checkpoint of `init` lacks: they keep
        their ImageNet / zero starts when `init` seeds this network."""
        keys = tuple(f"trunk._blocks.{idx}." for idx in range(init.trunk_blocks,
                                                               self.trunk_blocks))
        if self.trunk_stride > init.trunk_stride:
            keys += ("lat32.",)
        if self.out_stride < init.out_stride:
            keys += ("lat2.", "fuse2.", "out2.")
        if self.click_proto and not init.click_proto:
            keys += ("proto_key.", "proto_in.")
        return keys

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ClickConfig:
        """Inverse of `to_dict`; unknown keys raise ValueError. Keys added since a checkpoint
        was saved take their defaults, each of which is the older networks' behaviour."""
        return strict_from_dict(cls, data)


def _conv_relu(in_dim: int, out_dim: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_dim, out_dim, kernel, padding=kernel // 2),
                         nn.ReLU(inplace=True))


class ClickNet(nn.Module):
    """Stateless network. `forward(image, maps)`; or `encode_stem` once + `forward_from_stem`."""

    def __init__(self, cfg: ClickConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ClickConfig()
        self.trunk = EfficientNetLite0()
        # Click / previous-mask injection: [B, 3, H, W] → [B, 32, H/2, W/2] added to the stem.
        self.maps_in = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1),
                                     nn.ReLU(inplace=True), nn.Conv2d(16, 32, 3, padding=1))
        nn.init.zeros_(self.maps_in[2].weight)
        nn.init.zeros_(self.maps_in[2].bias)
        d, h = self.cfg.dec_dim, self.cfg.head_dim
        self.lat16 = nn.Conv2d(EfficientNetLite0.f16_dim, d, 1)
        if self.cfg.trunk_stride == 32:  # zero start: the stride-16 model's output at step 0
            self.lat32 = nn.Conv2d(EfficientNetLite0.f32_dim, d, 1)
            nn.init.zeros_(self.lat32.weight)
            nn.init.zeros_(self.lat32.bias)
        self.glob = nn.Conv2d(EfficientNetLite0.f16_dim, d, 1)  # image-level context
        if self.cfg.click_proto:  # zero start: the model without the cue at step 0
            self.proto_key = nn.Conv2d(EfficientNetLite0.f16_dim, d, 1)
            self.proto_in = nn.Conv2d(3, d, 1)
            nn.init.zeros_(self.proto_in.weight)
            nn.init.zeros_(self.proto_in.bias)
        self.fuse16 = _conv_relu(d, d)
        self.lat8 = nn.Conv2d(EfficientNetLite0.f8_dim, d, 1)
        self.fuse8 = _conv_relu(d, d)
        self.lat4 = nn.Conv2d(EfficientNetLite0.f4_dim, h, 1)
        self.fuse4 = nn.Sequential(_conv_relu(d + h + 3, h), _conv_relu(h, h))
        self.out = nn.Conv2d(h, 1, 1)
        if self.cfg.out_stride == 2:  # zero start: the stride-4 model's output at step 0
            self.lat2 = nn.Conv2d(EfficientNetLite0.f2_dim, h // 2, 1)
            self.fuse2 = nn.Sequential(_conv_relu(h + h // 2 + 3, h // 2),
                                       _conv_relu(h // 2, h // 2))
            self.out2 = nn.Conv2d(h // 2, 1, 1)
            nn.init.zeros_(self.out2.weight)
            nn.init.zeros_(self.out2.bias)

    def encode_stem(self, image: Tensor) -> Tensor:
        """image [B, 3, H, W] RGB in [0, 1] → stem output [B, 32, H/2, W/2] (cacheable)."""
        t = self.trunk
        return conv_bn(t._conv_stem, t._bn0, image * (255.0 / 128.0) - 127.0 / 128.0, relu6=True)

    def forward_from_stem(self, stem: Tensor, maps: Tensor, size: tuple[int, int]) -> Tensor:
        """stem [B, 32, H/2, W/2], maps [B, 3, H, W] (pos, neg, prev) → logits [B, 1, H, W]."""
        x = stem + self.maps_in(maps)[..., : stem.shape[-2], : stem.shape[-1]]  # [B, 32, H/2, W/2]
        for idx in range(self.cfg.trunk_blocks):  # blocks 0-10 reach stride 16, 11-15 32
            x = self.trunk._blocks[idx](x)
            if idx == 0:
                f2 = x  # [B, 16, H/2, W/2]
            elif idx == 2:
                f4 = x  # [B, 24, H/4, W/4]
            elif idx == 4:
                f8 = x  # [B, 40, H/8, W/8]
            elif idx == 10:
                f16 = x  # [B, 112, H/16, W/16]
        glob = self.glob(f16.mean(dim=(2, 3), keepdim=True))  # [B, d, 1, 1]
        lateral = self.lat16(f16) + glob  # [B, d, H/16, W/16]
        if self.cfg.click_proto:
            sims = click_similarity(self.proto_key(f16), maps)  # [B, 3, H/16, W/16]
            lateral = lateral + self.proto_in(sims)
        if self.cfg.trunk_stride == 32:  # x: [B, 320, H/32, W/32]
            lateral = lateral + F.interpolate(self.lat32(x), size=f16.shape[-2:],
                                              mode="bilinear", align_corners=False)
        y = self.fuse16(F.relu(lateral))  # [B, d, H/16, W/16]
        y = F.interpolate(y, size=f8.shape[-2:], mode="bilinear", align_corners=False)  # H/8
        y = self.fuse8(y + self.lat8(f8))  # [B, d, H/8, W/8]
        y = F.interpolate(y, size=f4.shape[-2:], mode="bilinear", align_corners=False)  # H/4
        small = F.interpolate(maps, size=f4.shape[-2:], mode="bilinear",
                              align_corners=False)  # [B, 3, H/4, W/4]
        y = self.fuse4(torch.cat([y, self.lat4(f4), small], dim=1))  # [B, h, H/4, W/4]
        logits = F.interpolate(self.out(y), size=size, mode="bilinear",
                               align_corners=False)  # [B, 1, H, W]
        if self.cfg.out_stride == 2:
            logits = logits + self._refine2(y, f2, maps, size)
        return logits

    def _refine2(self, y: Tensor, f2: Tensor, maps: Tensor, size: tuple[int, int]) -> Tensor:
        """Stride-2 residual on the logits: decoder y [B, h, H/4, W/4], block-0 features f2
        [B, 16, H/2, W/2], maps [B, 3, H, W] → [B, 1, H, W]. Added at full size, so at its zero
        start the output is exactly the stride-4 model's."""
        up = F.interpolate(y, size=f2.shape[-2:], mode="bilinear",
                           align_corners=False)  # [B, h, H/2, W/2]
        half = F.interpolate(maps, size=f2.shape[-2:], mode="bilinear",
                             align_corners=False)  # [B, 3, H/2, W/2]
        z = self.fuse2(torch.cat([up, self.lat2(f2), half], dim=1))  # [B, h/2, H/2, W/2]
        return F.interpolate(self.out2(z), size=size, mode="bilinear",
                             align_corners=False)  # [B, 1, H, W]

    def forward(self, image: Tensor, maps: Tensor) -> Tensor:
        """image [B, 3, H, W], maps [B, 3, H, W] → logits [B, 1, H, W]."""
        return self.forward_from_stem(self.encode_stem(image), maps, image.shape[-2:])


def click_similarity(keys: Tensor, maps: Tensor, eps: float = 1e-6) -> Tensor:
    """keys [B, C, h, w] (stride-16 features), maps [B, 3, H, W] (positive clicks, negative
    clicks, previous mask) → [B, 3, h, w]: each cell's cosine similarity to the keys pooled
    under each map; a map that is empty (no negative click, no previous mask yet) gives zeros."""
    keys = F.normalize(keys, dim=1)  # [B, C, h, w]
    weights = F.adaptive_avg_pool2d(maps, keys.shape[-2:])  # [B, 3, h, w]
    mass = weights.sum(dim=(2, 3))  # [B, 3]
    protos = torch.einsum("bchw,bkhw->bkc", keys, weights)  # [B, 3, C], mass-weighted sums
    protos = F.normalize(protos, dim=2)  # the direction is all the cosine needs
    sims = torch.einsum("bkc,bchw->bkhw", protos, keys)  # [B, 3, h, w]
    return sims * (mass > eps).to(sims.dtype)[..., None, None]


def trunk_parameters(model: ClickNet) -> list[nn.Parameter]:
    """Pretrained trunk weights (fine-tuned at a lower learning rate)."""
    return [p for n, p in model.named_parameters() if n.startswith("trunk.")]


def head_parameters(model: ClickNet) -> list[nn.Parameter]:
    """New layers: map injection and decoder."""
    return [p for n, p in model.named_parameters() if not n.startswith("trunk.")]


def drop_unused_trunk(model: ClickNet) -> None:
    """Remove the Lite0 blocks and classifier that never run: smaller checkpoint."""
    model.trunk._blocks = model.trunk._blocks[: model.cfg.trunk_blocks]
    for name in ("_conv_head", "_bn1", "_fc"):
        if hasattr(model.trunk, name):
            delattr(model.trunk, name)


def load_init_weights(model: ClickNet, init_model: ClickNet) -> None:
    """A click checkpoint's weights into `model`. A stride-16 checkpoint may seed a stride-32
    model, a stride-4 output a stride-2 one: then only the layers it lacks (the stride-32 blocks,
    ImageNet, loaded before; the zero-started lat32 / out2 and their convs) stay as they are,
    so the new model's first answers are the checkpoint's."""
    state = init_model.state_dict()
    new_keys = model.cfg.new_keys(init_model.cfg)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # same names, other shapes (another decoder width, say)
        raise CheckpointError(f"--init weights do not fit this network: {exc}") from exc
    extra = [k for k in missing if not k.startswith(new_keys)]
    if extra or unexpected:
        raise CheckpointError(f"--init weights do not fit this network: missing {extra[:5]}, "
                              f"unexpected {unexpected[:5]}")


def load_imagenet_trunk(model: ClickNet) -> None:
    """ImageNet Lite0 weights into the trunk (loaded into a full Lite0, then copied: the click
    model's trunk may lack the stride-32 stages)."""
    full = EfficientNetLite0()
    load_backbone_weights(full)
    own = model.trunk.state_dict()
    model.trunk.load_state_dict({k: v for k, v in full.state_dict().items() if k in own},
                                strict=True)
