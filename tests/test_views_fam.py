"""FAM's views on a hand-made offset field: the colour panel shows the field itself (an
object moving as one block reads as one colour), and the alignment check outlines the
local-memory frame with that frame's own mask."""

from __future__ import annotations

import numpy as np

from demo.views_ptm_fam import HEIGHT, fam_views
from srnet import MemoryRead, StepOutput, StepVisuals

H, W, CELL = 240, 432, 16  # one panel row is HEIGHT px tall: frames drawn at 1:1
GRID_H, GRID_W = H // CELL, W // CELL
OBJECT = (slice(80, 176), slice(128, 288))  # whole cells: rows 5-10, columns 8-17
EARLIER = (slice(16, 64), slice(16, 96))  # where the object was on the local-memory frame


def _step(flow: np.ndarray, mask: np.ndarray) -> StepOutput:
    read = MemoryRead((1,), (0,), np.zeros((GRID_H * GRID_W, 1), np.int64),
                      np.ones((GRID_H * GRID_W, 1), np.float32))
    visuals = StepVisuals(cell_size=(CELL, CELL), reads=(read,), local_frame=0, fam_flow=flow,
                          dcn_offset=None, dcn_modulation=None, aux_masks=None,
                          proto_attention=None, fg_assignment=None)
    return StepOutput(1, (1,), np.zeros((2, H, W), np.float32), mask, 1.0, False,
                      visuals=visuals, padded_grid=(GRID_H, GRID_W))


def _views(mask_of=lambda _: None) -> tuple:
    flow = np.zeros((GRID_H, GRID_W, 2), np.float32)  # [h, w, (dx, dy)] px
    flow[5:11, 8:18, 0] = 8.0  # every object cell fetches from 8 px to its right
    mask = np.zeros((H, W), np.uint8)
    mask[OBJECT] = 1
    frames = [np.full((H, W, 3), 128, np.uint8)] * 2
    return fam_views(frames, _step(flow, mask), 0, mask_of)


def test_a_block_moving_as_one_is_one_colour() -> None:
    colours = _views()[1]  # [title + HEIGHT, W + wheel, 3]
    panel = colours[-HEIGHT:, :W].astype(int)
    inner = panel[OBJECT[0].start + 8:OBJECT[0].stop - 8, OBJECT[1].start + 8:OBJECT[1].stop - 8]
    saturation = inner.max(axis=2) - inner.min(axis=2)  # [h, w]
    # the arrows' one-in-four cells used to be drawn in full colour, the rest faded: dots
    assert saturation.min() > 0.9 * saturation.max() and saturation.max() > 100


def _white_columns(aligned: np.ndarray) -> np.ndarray:
    first = aligned[-HEIGHT:, :W]  # the local-memory frame's panel
    return np.nonzero((first == 255).all(axis=2))[1]


def test_the_local_memory_frame_is_outlined_with_its_own_mask() -> None:
    earlier = np.zeros((H, W), np.uint8)
    earlier[EARLIER] = 1
    columns = _white_columns(_views(lambda f: earlier if f == 0 else None)[2])
    assert columns.size and columns.max() < EARLIER[1].stop + 3  # not the current outline
    assert _white_columns(_views()[2]).size == 0  # no mask for it: no outline
