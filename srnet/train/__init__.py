"""Training: losses (`losses`), the trunk-feature cache and its clip sampler (`feature_cache`,
`cached_sampler`), the loop with resumable state and DDP (`trainer`), and `python -m srnet train`
(`cli`). Importing this package is cheap; the loop's modules load on demand."""

from __future__ import annotations

from srnet.train.config import TrainConfig
from srnet.train.losses import BootstrappedCE, SegmentationLoss, aux_mask_loss

__all__ = ["BootstrappedCE", "SegmentationLoss", "TrainConfig", "aux_mask_loss"]
