"""The PTM attention panels share one colour scale, relative to an even spread: a near-uniform
map used to be stretched to its own min-max and painted as hot spots (session 31 review)."""

from __future__ import annotations

import numpy as np

from demo.views_ptm_fam import ptm_views
from srnet import MemoryRead, StepOutput, StepVisuals


def _output(attention: np.ndarray) -> StepOutput:
    """One object, one PTM layer, a 4x4-cell (64x64) frame with `attention` [4, 4]."""
    read = MemoryRead((1,), (0,), np.zeros((16, 1), np.int64), np.ones((16, 1), np.float32))
    layer = attention[None, None].astype(np.float32)  # [L=1, K=1, 4, 4]
    visuals = StepVisuals(cell_size=(16.0, 16.0), reads=(read,), local_frame=None,
                          fam_flow=None, dcn_offset=None, dcn_modulation=None,
                          aux_masks=np.full_like(layer, 0.9), proto_attention=layer,
                          fg_assignment=None)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 1
    return StepOutput(1, (1,), np.zeros((2, 64, 64), np.float32), mask, 1.0, False,
                      visuals=visuals, padded_grid=(4, 4))


def test_near_uniform_attention_is_drawn_flat_and_a_peak_is_drawn_hot() -> None:
    frame = np.full((64, 64, 3), 128, np.uint8)
    flat = np.full((4, 4), 1 / 16)
    flat[0, 0] *= 1.035  # 3.5 % above the rest: nothing a class should see as a spot
    flat /= flat.sum()
    peak = np.full((4, 4), 0.2 / 15)
    peak[2, 2] = 0.8  # 12.8x even
    _, _, flat_panel, _ = ptm_views(frame, _output(flat), 0)
    _, _, peak_panel, _ = ptm_views(frame, _output(peak), 0)

    def colour(panel: np.ndarray, cell: tuple[int, int]) -> np.ndarray:
        """The panel's colour at a cell's centre (the 64-px frame is drawn 240 px tall under
        its caption)."""
        scale, top = 240 / 64, panel.shape[0] - 240
        y, x = (int((c * 16 + 8) * scale) for c in cell)
        return panel[top + y, x].astype(int)

    assert np.abs(colour(flat_panel, (0, 0)) - colour(flat_panel, (3, 3))).max() < 10
    hot, cold = colour(peak_panel, (2, 2)), colour(peak_panel, (3, 3))
    assert hot[0] - cold[0] > 60 and cold[2] > cold[0]  # red against blue
