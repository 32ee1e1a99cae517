"""Training losses: bootstrapped CE schedule and hard-pixel mean, auxiliary BCE masking, targets."""

import math

import pytest
import torch
import torch.nn.functional as F

from srnet.train.losses import BootstrappedCE, SegmentationLoss, aux_mask_loss, masks_to_index


def test_bootstrapped_ce_is_plain_ce_before_warmup():
    logits, target = torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))
    loss_fn = BootstrappedCE(start_warm=100, end_warm=200, top_p=0.15)
    loss, kept = loss_fn(logits, target, step=99)
    assert kept == 1.0
    assert torch.allclose(loss, F.cross_entropy(logits, target))


def test_kept_fraction_anneals_linearly():
    loss_fn = BootstrappedCE(start_warm=100, end_warm=200, top_p=0.2)
    assert loss_fn.kept_fraction(0) == 1.0
    assert loss_fn.kept_fraction(100) == pytest.approx(1.0)
    assert loss_fn.kept_fraction(150) == pytest.approx(0.6)
    assert loss_fn.kept_fraction(200) == pytest.approx(0.2)
    assert loss_fn.kept_fraction(10_000) == pytest.approx(0.2)


def test_bootstrapped_ce_averages_only_the_hardest_pixels():
    # 1 image, 2 classes, 2x2 pixels: per-pixel CE = log(1 + e^-margin) for the true class.
    margins = torch.tensor([4.0, 2.0, 0.0, -3.0])
    logits = torch.stack([torch.zeros(4), margins]).view(1, 2, 2, 2)  # class 1 logit = margin
    target = torch.ones(1, 2, 2, dtype=torch.int64)
    per_pixel = [math.log1p(math.exp(-m)) for m in margins.tolist()]
    loss_fn = BootstrappedCE(start_warm=0, end_warm=0, top_p=0.5)  # keep the 2 hardest of 4
    loss, kept = loss_fn(logits, target, step=10)
    assert kept == 0.5
    hand = (per_pixel[2] + per_pixel[3]) / 2  # margins 0 and -3 are the hardest
    assert loss.item() == pytest.approx(hand, rel=1e-5)
    assert loss.item() > F.cross_entropy(logits, target).item()


def test_bootstrapped_ce_picks_the_hardest_pixels_of_each_sample():
    """STCN keeps the hardest fraction per sample: an easy clip beside a hard one still gets
    its own hardest pixels into the loss (over the pooled batch it got none)."""
    easy = torch.tensor([4.0, 3.0, 2.0, 1.0])  # margins: all right
    hard = torch.tensor([-3.0, -4.0, -5.0, -6.0])  # all wrong
    margins = torch.stack([easy, hard])  # [2, 4]
    logits = torch.stack([torch.zeros(2, 4), margins], dim=1).view(2, 2, 2, 2)
    target = torch.ones(2, 2, 2, dtype=torch.int64)
    loss_fn = BootstrappedCE(start_warm=0, end_warm=0, top_p=0.5)  # 2 of 4 per sample
    loss, _ = loss_fn(logits, target, step=1)
    ce = lambda m: math.log1p(math.exp(-m))  # noqa: E731
    hand = (ce(2.0) + ce(1.0) + ce(-5.0) + ce(-6.0)) / 4  # each sample's two hardest
    assert loss.item() == pytest.approx(hand, rel=1e-5)


def test_aux_loss_ignores_invalid_objects():
    aux = torch.randn(1, 2, 3, 2, 4, 4)  # [B, T-1, L, K, h, w]
    gt = (torch.rand(1, 2, 2, 64, 64) > 0.5).float()  # [B, T-1, K, H, W]
    valid = torch.tensor([[True, False]])
    base = aux_mask_loss(aux, gt, valid)
    aux2, gt2 = aux.clone(), gt.clone()
    aux2[:, :, :, 1] = 100.0 * torch.randn_like(aux2[:, :, :, 1])  # garbage in the padded slot
    gt2[:, :, 1] = 1 - gt2[:, :, 1]
    assert torch.allclose(base, aux_mask_loss(aux2, gt2, valid))
    # …and equals the per-frame mean over layers of the valid object's BCE, summed over frames
    target = F.adaptive_avg_pool2d(gt[0, :, 0], (4, 4))  # [T-1, 4, 4]
    hand = sum(F.binary_cross_entropy_with_logits(aux[0, t, :, 0], target[t].expand(3, 4, 4))
               for t in range(2))
    assert torch.allclose(base, hand, atol=1e-6)


def test_aux_target_is_area_downsampled():
    gt = torch.zeros(1, 1, 1, 32, 32)
    gt[..., :16, :8] = 1  # the top-left 16x16 cell is half covered
    aux = torch.zeros(1, 1, 1, 1, 2, 2)
    loss = aux_mask_loss(aux, gt, torch.tensor([[True]]))
    # logits 0 → BCE = log 2 for every target value
    assert loss.item() == pytest.approx(math.log(2), rel=1e-6)
    aux[..., 0, 0] = 5.0
    loss = aux_mask_loss(aux, gt, torch.tensor([[True]]))
    cell = F.binary_cross_entropy_with_logits(torch.tensor(5.0), torch.tensor(0.5))
    assert loss.item() == pytest.approx((cell.item() + 3 * math.log(2)) / 4, rel=1e-5)


def test_segmentation_loss_sums_frames_and_weights_aux():
    logits = torch.randn(2, 2, 3, 16, 16)  # [B, T-1, K+1, H, W]
    aux = torch.randn(2, 2, 3, 2, 1, 1)
    masks = torch.zeros(2, 3, 2, 16, 16)
    masks[:, :, 0, :8] = 1
    masks[:, :, 1, 8:, 8:] = 1
    target = masks_to_index(masks)
    valid = torch.ones(2, 2, dtype=torch.bool)
    parts = SegmentationLoss(aux_weight=0.1, start_warm=10, end_warm=20)(
        logits, aux, target, masks, valid, step=0)
    ce = sum(F.cross_entropy(logits[:, t], target[:, t + 1]) for t in range(2))
    assert parts.ce == pytest.approx(ce.item(), rel=1e-5)
    expected = ce + 0.1 * aux_mask_loss(aux, masks[:, 1:], valid)
    assert parts.total.item() == pytest.approx(expected.item(), rel=1e-5)


def test_masks_to_index():
    masks = torch.zeros(1, 2, 2, 2)
    masks[0, 0, 0, 0] = 1
    masks[0, 1, 1, 1] = 1
    masks[0, 0, 0, 1] = 0.3  # below threshold → background
    assert masks_to_index(masks).tolist() == [[[1, 0], [0, 2]]]
