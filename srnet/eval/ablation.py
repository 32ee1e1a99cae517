"""Module ablations at evaluation time: the trained network with FAM or PTM switched off.

`ablated(predictor, "fam")` builds `SRNet(cfg with fam.enabled=False)` and loads the trained
weights into it; only the removed module's parameters may be left over (anything else missing
or unexpected raises). The weights were trained with both modules on, so this measures what each
module contributes to *this* network (not a network retrained without it)."""

from __future__ import annotations

import dataclasses

from srnet.inference.predictor import Predictor
from srnet.model.srnet import SRNet

MODULES = ("fam", "ptm")


def ablated(predictor: Predictor, module: str) -> Predictor:
    """A new Predictor (same config and device) whose network has `module` switched off."""
    if module not in MODULES:
        raise ValueError(f"unknown module {module!r}: choose from {', '.join(MODULES)}")
    cfg = predictor.model.cfg
    off = dataclasses.replace(cfg, **{module: dataclasses.replace(getattr(cfg, module),
                                                                  enabled=False)})
    model = SRNet(off)
    result = model.load_state_dict(predictor.model.state_dict(), strict=False)
    stray = [k for k in result.unexpected_keys if not k.startswith(f"{module}.")]
    if result.missing_keys or stray:
        raise RuntimeError(f"ablated weights do not fit: missing {result.missing_keys[:3]}, "
                           f"unexpected {stray[:3]}")
    return Predictor(model, predictor.config, predictor.device)
