"""Configuration dataclasses: the single source of truth for the architecture and the runtime knobs.

`ModelConfig` is frozen and saved inside every checkpoint; `InferenceConfig` may change per session.
Presets are classmethods (`ModelConfig.paper()`, `.lite()`, `.tiny()`); variants use
`dataclasses.replace`. `from_dict` rejects unknown keys so stale checkpoints fail loudly.
Tags follow docs/srnet-architecture.md: [P] paper, [R] reconstructed, [D] project decision.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FAMConfig:
    """Feature Alignment Module (spec §4 eqs 2-5)."""

    enabled: bool = True  # False = the Table II "w/o FAM" ablation: X_0 = Φ([F_M; 0])
    grid_factor: int = 1  # r: the offset grid is (h/r, w/r) [D]
    max_offset_cells: float = 8.0  # s_max: tanh-bounded offsets, in feature cells [D]
    offset_kernel: int = 5  # depthwise kernel of the DAT-style offset net [D]


@dataclass(frozen=True)
class PTMConfig:
    """Prototype Transformer Module (spec §4 eqs 6-10)."""

    enabled: bool = True  # False = the "w/o PTM" ablation: Φ([F_M; F_L]) feeds the decoder
    num_layers: int = 3  # L [P]
    ffn: bool = True  # IPMT-style FFN + LN after the eq-8 prototype update [R]
    ffn_dim: int = 768  # hidden width of that FFN
    aux_loss_weight: float = 0.1  # λ_aux (§7) [D], on the mean over layers (λ_aux / L each)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one SRNet variant."""

    name: str = "lite"
    key_backbone: str = "efficientnet_lite0"  # "resnet50" (paper) | "efficientnet_lite0"
    value_backbone: str = "shared"  # "resnet18" (paper) | "shared": reuse key f16 + mask CNN [D]
    key_dim: int = 64  # C_k [P]
    value_dim: int = 128  # C_v = PTM width; 256 in the paper [P]
    decoder_dims: tuple[int, int, int] = (96, 48, 32)  # widths at stride 16 / 8 / 4 [D]
    mask_encoder_dims: tuple[int, ...] = (16, 32, 64, 64)  # "shared" value encoder only [D]
    fam: FAMConfig = field(default_factory=FAMConfig)
    ptm: PTMConfig = field(default_factory=PTMConfig)

    @classmethod
    def paper(cls) -> ModelConfig:
        """ResNet-50 key encoder to layer3, ResNet-18 value encoder, C_v = 256 (spec §2-3)."""
        return cls(
            name="paper",
            key_backbone="resnet50",
            value_backbone="resnet18",
            value_dim=256,
            decoder_dims=(512, 256, 256),
        )

    @classmethod
    def lite(cls) -> ModelConfig:
        """EfficientNet-Lite0 key encoder whose f16 the value encoder reuses; slim widths for CPUs.

        [D] Deviations from the paper, chosen for ≥ 6 FPS on 2 CPU cores: C_v = 128, a 2-channel
        mask CNN instead of a ResNet-18 over the image (the image evidence comes from the key
        encoder's f16), decoder widths 96/48/32, FFN width 256.
        """
        return cls(name="lite", ptm=PTMConfig(ffn_dim=256))

    @classmethod
    def tiny(cls) -> ModelConfig:
        """Smallest sensible network, for unit tests (random weights, 64x64 inputs)."""
        return cls(
            name="tiny",
            value_dim=32,
            key_dim=16,
            decoder_dims=(32, 16, 16),
            mask_encoder_dims=(8, 8, 16, 16),
            ptm=PTMConfig(ffn_dim=64),
        )

    @classmethod
    def preset(cls, name: str) -> ModelConfig:
        presets = {"paper": cls.paper, "lite": cls.lite, "tiny": cls.tiny}
        if name not in presets:
            raise ValueError(f"unknown config {name!r}; choose one of {sorted(presets)}")
        return presets[name]()

    def same_network(self, other: ModelConfig) -> bool:
        """True when `other` builds the same network: only training-loss settings (λ_aux)
        differ, so its weights can start a run that trains with another loss weight."""
        loss_free = dataclasses.replace(other.ptm, aux_loss_weight=self.ptm.aux_loss_weight)
        return dataclasses.replace(other, ptm=loss_free) == self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys raise ValueError."""
        data = dict(data)
        fam = strict_from_dict(FAMConfig, data.pop("fam", {}))
        ptm = strict_from_dict(PTMConfig, data.pop("ptm", {}))
        for key in ("decoder_dims", "mask_encoder_dims"):
            if key in data:
                data[key] = tuple(data[key])
        return strict_from_dict(cls, {**data, "fam": fam, "ptm": ptm})


MIN_SHORT_SIDE = 64  # px: the internal short side never falls below 4 stride-16 cells


@dataclass(frozen=True)
class InferenceConfig:
    """Runtime knobs of the predictor; safe to change between sessions."""

    mem_every: int = 5  # a frame joins global memory every mem_every processed frames [P, STCN]
    top_k: int = 20  # top-k affinity at test time [R, STCN]
    local_interval: int = 1  # s: the local memory is frame t - s [D]
    max_working_frames: int = 10  # cap on non-permanent global-memory frames (flat memory) [D]
    max_permanent_frames: int = 20  # cap on user-annotated frames kept in memory [D]
    # [D] False = an ablation of the long-term memory: global memory keeps only the annotated
    # frames, no processed frame joins it (the local, previous-frame memory still works)
    working_memory: bool = True
    # [D] test-time mirror averaging: every frame is also segmented mirrored left-right, with a
    # second memory of mirrored frames, and the two probability maps are averaged (both memories
    # store the average). Half the speed for +0.24 holdout / +0.50 selection-set J&F (README)
    mirror_average: bool = False
    # [D] online adaptation (OSVOS-style): before a video's first frame is memorised, a copy of
    # the network is fine-tuned for `adapt_steps` steps on pseudo clips of the annotated frames
    # (`srnet.adapt_session`); 0 = off. 100 steps: holdout +1.0 J&F (README, Online adaptation)
    adapt_steps: int = 0
    adapt_lr: float = 1e-4
    short_side: int | None = 480  # internal processing size (short side); None = as given
    # [D] small objects: when the smallest object of a session's first annotation covers fewer
    # than this many stride-16 cells at the internal size, the session runs larger (up to
    # max_upscale times) so that it covers that many. A 1.5-cell paraglider pilot at short side
    # 360 is lost by frame 12 and kept at 480 (README, "Small objects"). None = off.
    min_object_cells: float | None = None
    max_upscale: float = 1.5
    amp: bool = True  # autocast on CUDA (bf16 where supported, else fp16); fp32 on the CPU
    amp_dtype: str = "auto"  # "auto" | "bfloat16" | "float16"
    # [D] opt-in bf16 autocast on the CPU: ~1.5x faster where the CPU has AMX / AVX512-BF16
    # (holdout J&F 88.6 vs 88.7 in fp32); off by default, fp32 stays the CPU reference
    cpu_bf16: bool = False

    @property
    def runs_per_frame(self) -> int:
        """Network passes per frame: mirror averaging runs each frame twice."""
        return 2 if self.mirror_average else 1

    def __post_init__(self) -> None:
        _check_field_types(self)
        if self.mem_every < 1 or self.top_k < 1 or self.local_interval < 1:
            raise ValueError("mem_every, top_k and local_interval must be ≥ 1")
        if self.max_working_frames < 1 or self.max_permanent_frames < 1:
            raise ValueError("memory caps must be ≥ 1")
        if self.short_side is not None and self.short_side < MIN_SHORT_SIDE:
            raise ValueError(f"short_side must be ≥ {MIN_SHORT_SIDE} pixels (4 stride-16 "
                             "feature cells)")
        if self.min_object_cells is not None and self.min_object_cells <= 0:
            raise ValueError("min_object_cells must be > 0 (None turns it off)")
        if self.max_upscale < 1:
            raise ValueError("max_upscale must be ≥ 1")
        if self.adapt_steps < 0 or self.adapt_lr <= 0:
            raise ValueError("adapt_steps must be ≥ 0 and adapt_lr > 0")


def _check_field_types(config: Any) -> None:
    """TypeError naming the field whose value is not of its declared kind: an int field takes
    a whole number (not 5.5, not "480", not True; numpy ints become ints), a float field any
    real number, a bool field a bool; None only where the field allows it."""
    for spec in dataclasses.fields(config):
        value, kind = getattr(config, spec.name), str(spec.type)
        if value is None and "None" in kind:
            continue
        number = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
        if kind.startswith("int"):
            ok = number and isinstance(value, numbers.Integral)
        elif kind.startswith("float"):
            ok = number
        elif kind == "bool":
            ok = isinstance(value, bool | np.bool_)
        else:
            continue
        if not ok:
            raise TypeError(f"{type(config).__name__}.{spec.name} must be {kind}, got "
                            f"{value!r}")
        cast = int if kind.startswith("int") else float if kind.startswith("float") else bool
        object.__setattr__(config, spec.name, cast(value))  # frozen: numpy scalars → Python


def strict_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """`cls(**data)`, with unknown keys a ValueError naming them (stale or foreign configs)."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return cls(**data)
