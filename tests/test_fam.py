"""FAM (spec §4 eqs 2-5, §11.1): identity at zero offsets, exact shifts, 0.5·conv at init."""

import torch
import torch.nn.functional as F

from srnet.config import FAMConfig
from srnet.model.fam import FeatureAlignment, reference_grid, warp_by_cells


def test_reference_grid_spans_minus_one_to_one_in_xy_order():
    grid = reference_grid(3, 5, torch.device("cpu"))
    assert grid.shape == (1, 3, 5, 2)
    assert torch.allclose(grid[0, 0, 0], torch.tensor([-1.0, -1.0]))
    assert torch.allclose(grid[0, -1, -1], torch.tensor([1.0, 1.0]))
    assert torch.allclose(grid[0, 0, -1], torch.tensor([1.0, -1.0]))  # x varies along width


def test_zero_offsets_are_the_identity():
    value = torch.randn(4, 6, 7, 9)
    assert torch.allclose(warp_by_cells(value, torch.zeros(2, 2, 7, 9)), value, atol=1e-6)


def test_one_cell_offset_in_x_shifts_by_exactly_one_column():
    value = torch.randn(1, 3, 5, 8)
    offset = torch.zeros(1, 2, 5, 8)
    offset[:, 0] = 1.0  # dx = +1 cell: output(x) = input(x + 1)
    shifted = warp_by_cells(value, offset)
    assert torch.allclose(shifted[..., :-1], value[..., 1:], atol=1e-5)
    assert torch.allclose(shifted[..., -1], torch.zeros_like(shifted[..., -1]), atol=1e-5)


def test_fam_at_initialisation_is_half_a_plain_convolution():
    fam = FeatureAlignment(key_dim=4, value_dim=8, cfg=FAMConfig())
    keys = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6)
    local_value, query_value = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    out = fam(*keys, local_value, query_value)
    assert torch.count_nonzero(out.grid_offset) == 0 and torch.count_nonzero(out.dcn_offset) == 0
    assert torch.allclose(out.dcn_modulation, torch.full_like(out.dcn_modulation, 0.5))
    expected = 0.5 * F.conv2d(local_value, fam.dcn_weight, padding=1) + fam.dcn_bias[:, None, None]
    assert torch.allclose(out.local_feature, expected, atol=1e-5)


def test_offsets_are_bounded_and_dcn_offset_channel_zero_moves_rows():
    fam = FeatureAlignment(key_dim=4, value_dim=8, cfg=FAMConfig(max_offset_cells=2.0))
    torch.nn.init.normal_(fam.offset_net[-1].weight, std=100.0)
    out = fam(torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6), torch.randn(1, 8, 6, 6),
              torch.randn(1, 8, 6, 6))
    assert out.grid_offset.abs().max() <= 2.0 + 1e-6
    # torchvision layout, kept by the project's own kernel: channel 2i is dy of tap i. A +1 dy
    # on every tap of a delta kernel samples the row below, a +1 dx the column to the right.
    from srnet.model.fam import modulated_deform_conv3x3

    image = torch.randn(1, 1, 6, 6)
    weight = torch.zeros(1, 1, 3, 3)
    weight[0, 0, 1, 1] = 1.0
    for channel, shifted in ((0, image[..., 1:, :]), (1, image[..., :, 1:])):
        offset = torch.zeros(1, 18, 6, 6)
        offset[:, channel::2] = 1.0
        moved = modulated_deform_conv3x3(image, offset, weight, torch.zeros(1), padding=1,
                                         mask=torch.ones(1, 9, 6, 6))
        kept = moved[..., :-1, :] if channel == 0 else moved[..., :, :-1]
        assert torch.allclose(kept, shifted, atol=1e-5), f"offset channel {channel}"


def test_grid_factor_two_keeps_the_feature_size():
    fam = FeatureAlignment(4, 8, FAMConfig(grid_factor=2))
    out = fam(torch.randn(1, 4, 8, 10), torch.randn(1, 4, 8, 10), torch.randn(2, 8, 8, 10),
              torch.randn(2, 8, 8, 10))
    assert out.grid_offset.shape == (1, 2, 4, 5)
    assert out.local_feature.shape == (2, 8, 8, 10)


def test_zero_offsets_stay_the_identity_under_bf16_autocast():
    """The sampling grid stays fp32 under autocast: built in bf16 it put samples up to 0.04
    cells off at W_G = 54 and a zero offset changed values by up to 0.2 (spec §11.1)."""
    torch.manual_seed(0)
    value = torch.randn(2, 4, 30, 54).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        warped = warp_by_cells(value, torch.zeros(1, 2, 30, 54))
    assert torch.allclose(warped.float(), value.float(), atol=1e-4)  # fp32 rounding only
