"""Ablations at evaluation time: the trained network with FAM or PTM switched off, or with its
long-term memory never updated.

`ablated(predictor, "fam")` builds `SRNet(cfg with fam.enabled=False)` and loads the trained
weights into it; only the removed module's parameters may be left over (anything else missing
or unexpected raises). The weights were trained with both modules on, so this measures what each
module contributes to *this* network (not a network retrained without it).

`ablated(predictor, "memory")` keeps the network and changes only the memory policy
(`InferenceConfig.working_memory=False`): global memory holds the annotated frames alone, as in
a matching network that compares every frame with the first, while the previous frame still
reaches FAM and the local read. Sessions built with their own config get the same policy from
`ablated_config`."""

from __future__ import annotations

import dataclasses

from srnet.config import InferenceConfig
from srnet.inference.predictor import Predictor
from srnet.model.srnet import SRNet

MODULES = ("fam", "ptm")
ABLATIONS = (*MODULES, "memory")


def ablated_config(config: InferenceConfig, variant: str) -> InferenceConfig:
    """`config` as `variant` runs it: only the memory ablation changes the runtime knobs."""
    if variant not in ABLATIONS:
        raise ValueError(f"unknown ablation {variant!r}: choose from {', '.join(ABLATIONS)}")
    return dataclasses.replace(config, working_memory=False) if variant == "memory" else config


def ablated(predictor: Predictor, variant: str) -> Predictor:
    """A new Predictor (same device) whose network has `variant`'s module switched off, or
    (variant "memory") the same network whose long-term memory is never updated."""
    config = ablated_config(predictor.config, variant)
    if variant == "memory":
        return Predictor(predictor.model, config, predictor.device)
    cfg = predictor.model.cfg
    off = dataclasses.replace(cfg, **{variant: dataclasses.replace(getattr(cfg, variant),
                                                                   enabled=False)})
    model = SRNet(off)
    result = model.load_state_dict(predictor.model.state_dict(), strict=False)
    stray = [k for k in result.unexpected_keys if not k.startswith(f"{variant}.")]
    if result.missing_keys or stray:
        raise RuntimeError(f"ablated weights do not fit: missing {result.missing_keys[:3]}, "
                           f"unexpected {stray[:3]}")
    return Predictor(model, config, predictor.device)
