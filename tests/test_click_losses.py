"""The click-training losses: the normalized focal loss against a direct per-pixel formula, and
the property it is chosen for (hard pixels keep their weight however many easy ones surround
them), compared with BCE + IoU."""

import math

import pytest
import torch
import torch.nn.functional as F

from srnet.interactive.losses import bce_iou_loss, click_loss, normalized_focal_loss


def _case(size: int, wrong: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All pixels background and confidently right (logit -6), except `wrong` pixels that are
    object but predicted background (logit -2)."""
    gt = torch.zeros(1, 1, size, size)
    logits = torch.full((1, 1, size, size), -6.0)
    gt.view(-1)[:wrong] = 1.0
    logits.view(-1)[:wrong] = -2.0
    return logits, gt, torch.ones_like(gt)


def test_bce_iou_matches_a_pixel_by_pixel_formula():
    """The default click loss: per sample, the mean BCE over valid pixels plus 1 − soft IoU of
    the valid part of the prediction against the valid part of the ground truth."""
    torch.manual_seed(2)
    logits = torch.randn(2, 1, 5, 5) * 3
    gt = (torch.rand(2, 1, 5, 5) > 0.6).float()
    valid = (torch.rand(2, 1, 5, 5) > 0.2).float()
    expected = 0.0
    for b in range(2):
        bce, inter, union, count = 0.0, 0.0, 0.0, 0
        for lg, g, v in zip(logits[b].flatten().tolist(), gt[b].flatten().tolist(),
                            valid[b].flatten().tolist()):
            if not v:
                continue
            p = 1 / (1 + math.exp(-lg))
            bce -= math.log(p) if g > 0.5 else math.log(1 - p)
            count += 1
            inter += p * g
            union += p + g - p * g
        expected += bce / count + 1 - inter / max(union, 1.0)
    got = bce_iou_loss(logits, gt, valid)
    assert got.item() == pytest.approx(expected / 2, rel=1e-5)


def test_nfl_matches_a_pixel_by_pixel_formula():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 5, 5) * 3
    gt = (torch.rand(2, 1, 5, 5) > 0.6).float()
    valid = (torch.rand(2, 1, 5, 5) > 0.2).float()
    expected = 0.0
    for b in range(2):
        terms, weights = [], []
        for lg, g, v in zip(logits[b].flatten().tolist(), gt[b].flatten().tolist(),
                            valid[b].flatten().tolist()):
            p = 1 / (1 + math.exp(-lg))
            pt = p if g > 0.5 else 1 - p
            if v:
                weights.append((1 - pt) ** 2)
                terms.append((0.5, math.log(pt)))
        total = sum(weights)
        expected += -sum(w / total * a * lp for w, (a, lp) in zip(weights, terms))
    got = normalized_focal_loss(logits, gt, valid)
    assert got.item() == pytest.approx(expected / 2, rel=1e-5)


def test_nfl_gradient_is_ritms_only_the_normaliser_is_constant():
    """RITM detaches the normaliser alone (`detach_delimeter`): each pixel's focal factor
    (1 - p_t)^gamma keeps its gradient. Per pixel, with W the detached sum of the factors and
    alpha 0.5, and dp_t/dz = +-p_t (1-p_t) (+ on object pixels):
    d/dz [-0.5 (1-p_t)^2 log p_t / W] = +-0.5 (1-p_t)^2 (2 p_t log p_t - (1-p_t)) / W.
    Detaching the whole factor (before session 31) dropped the 2 p_t log p_t term."""
    torch.manual_seed(1)
    logits = (torch.randn(1, 1, 6, 6) * 2).requires_grad_(True)
    gt = (torch.rand(1, 1, 6, 6) > 0.5).float()
    normalized_focal_loss(logits, gt, torch.ones_like(gt)).backward()
    prob = torch.sigmoid(logits.detach())
    p_t = torch.where(gt > 0.5, prob, 1 - prob)
    total = ((1 - p_t) ** 2).sum()
    sign = torch.where(gt > 0.5, 1.0, -1.0)
    expected = sign * 0.5 * (1 - p_t) ** 2 * (2 * p_t * torch.log(p_t) - (1 - p_t)) / total
    assert torch.allclose(logits.grad, expected, rtol=1e-4, atol=1e-7)


def test_nfl_keeps_hard_pixels_weight_as_easy_pixels_grow():
    small, large = _case(8, 4), _case(64, 4)  # the same 4 errors among 60 or 4,092 easy pixels
    nfl_small, nfl_large = normalized_focal_loss(*small), normalized_focal_loss(*large)
    assert nfl_large.item() > 0.9 * nfl_small.item()
    assert nfl_large.item() > 0.5  # ~0.5 * -log(sigmoid(-2)) = 1.06 on the hard pixels
    # a plain mean BCE, by contrast, fades by more than 10x with the easy pixels
    bce_small = F.binary_cross_entropy_with_logits(small[0], small[1])
    bce_large = F.binary_cross_entropy_with_logits(large[0], large[1])
    assert bce_large.item() < 0.1 * bce_small.item()


def test_nfl_gradient_points_toward_the_truth_and_ignores_invalid_pixels():
    logits, gt, valid = _case(8, 4)
    valid.view(-1)[0] = 0.0  # one wrong pixel is ignored
    logits.requires_grad_(True)
    normalized_focal_loss(logits, gt, valid).backward()
    grad = logits.grad.view(-1)
    assert grad[0].item() == 0.0
    assert (grad[1:4] < 0).all()  # raising these logits lowers the loss


def test_click_loss_dispatch_and_unknown_name():
    logits, gt, valid = _case(8, 4)
    assert torch.equal(click_loss("nfl", logits, gt, valid),
                       normalized_focal_loss(logits, gt, valid))
    assert torch.equal(click_loss("bce_iou", logits, gt, valid),
                       bce_iou_loss(logits, gt, valid))
    with pytest.raises(ValueError, match="unknown click loss"):
        click_loss("dice", logits, gt, valid)


@pytest.mark.parametrize("loss", ["bce_iou", "nfl"])
def test_a_training_step_uses_the_configured_loss(loss: str) -> None:
    """`train-clicks --loss`: one simulated-click step on a tiny batch gives a finite loss whose
    gradient reaches the network, for each loss; an unknown name is refused before training."""
    import numpy as np

    from srnet.interactive.predictor import build_click_net
    from srnet.interactive.train import ClickTrainConfig, train_clicks, train_step

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = build_click_net()
    cfg = ClickTrainConfig(static_root=".", davis_root=None, out=".", crop=64, loss=loss)
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(2)]
    gts = [np.zeros((64, 64), bool) for _ in range(2)]
    for gt in gts:
        gt[16:48, 20:44] = True
    ignores = [np.zeros((64, 64), bool) for _ in range(2)]
    value, clicks = train_step(model, (images, gts, ignores), cfg, rng)
    value.backward()
    assert torch.isfinite(value) and value.item() > 0 and clicks >= 1
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    with pytest.raises(ValueError, match="unknown click loss"):
        train_clicks(ClickTrainConfig(static_root=".", davis_root=None, out=".", loss="dice"))


def test_train_clicks_offers_every_loss() -> None:
    """The CLI lists the loss names by hand (it must not import torch): keep them in step."""
    import argparse

    from srnet.interactive.cli import add_parser
    from srnet.interactive.losses import LOSSES

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    train = parser.parse_args(["train-clicks", "--out", "x"])
    assert train.loss == "bce_iou"
    for name in LOSSES:
        assert parser.parse_args(["train-clicks", "--out", "x", "--loss", name]).loss == name
