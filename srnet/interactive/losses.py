"""Click-training losses: BCE + soft IoU (the default since session 4) and the normalized focal
loss of RITM (Sofiiuk et al. 2022), which the issue names as the alternative. All take logits,
ground truth and a validity map of shape [B, 1, S, S] (ignored pixels have valid 0)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_iou_loss(logits: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """BCE + soft IoU, both over valid pixels."""
    bce = F.binary_cross_entropy_with_logits(logits, gt, reduction="none")  # [B, 1, S, S]
    bce = (bce * valid).sum(dim=(1, 2, 3)) / valid.sum(dim=(1, 2, 3)).clamp(min=1)  # [B]
    prob = torch.sigmoid(logits) * valid
    inter = (prob * gt).sum(dim=(1, 2, 3))  # [B]
    union = (prob + gt * valid - prob * gt).sum(dim=(1, 2, 3)).clamp(min=1.0)  # [B]
    return (bce + 1.0 - inter / union).mean()


def normalized_focal_loss(logits: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor,
                          gamma: float = 2.0, alpha: float = 0.5) -> torch.Tensor:
    """Focal loss whose per-pixel weights (1 - p_t)^gamma are rescaled to sum to one in each
    sample, so the loss stays as large when the hard pixels are few (a thin error band along
    the boundary, where NoC@90 is decided) instead of fading as the easy pixels converge."""
    log_pt = torch.where(gt > 0.5, F.logsigmoid(logits), F.logsigmoid(-logits))  # [B, 1, S, S]
    weight = (1.0 - log_pt.exp()) ** gamma * valid  # [B, 1, S, S]
    # only the normaliser is detached, as in RITM (`detach_delimeter`): the focal term keeps
    # its gradient (detaching it too, as before session 31, gave another loss's gradient)
    weight = weight / weight.sum(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6).detach()
    alpha_t = torch.where(gt > 0.5, alpha, 1.0 - alpha)  # [B, 1, S, S]
    return -(alpha_t * weight * log_pt).sum(dim=(1, 2, 3)).mean()


LOSSES = {"bce_iou": bce_iou_loss, "nfl": normalized_focal_loss}


def check_loss_name(name: str) -> None:
    """Raise ValueError unless `name` is one of LOSSES (train-clicks checks before loading data)."""
    if name not in LOSSES:
        raise ValueError(f"unknown click loss {name!r}; choose one of {', '.join(LOSSES)}")


def click_loss(name: str, logits: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor
               ) -> torch.Tensor:
    """The training loss called `name` (one of LOSSES)."""
    check_loss_name(name)
    return LOSSES[name](logits, gt, valid)
