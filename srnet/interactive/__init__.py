"""Interactive segmentation: the learned click-to-mask model (`model.py`, `predictor.py`), its
training (`train.py`, `data.py`), the NoC protocol (`clicks.py`, `evaluate.py`) and the classic
GrabCut path (`grabcut.py`). Entry points: `load_click_model`, `python -m srnet train-clicks`,
`python -m srnet clicks-eval`."""

from srnet.interactive.clicks import Click, check_clicks, constrain, iou, next_click, noc, summarize
from srnet.interactive.grabcut import mask_from_clicks as grabcut_mask_from_clicks
from srnet.interactive.grabcut import validate_click
from srnet.interactive.model import ClickConfig, ClickNet
from srnet.interactive.pieces import restore_far_removals
from srnet.interactive.predictor import (
    DEFAULT_CLICK_CHECKPOINT,
    ClickPredictor,
    load_click_checkpoint,
    load_click_model,
    save_click_checkpoint,
)

__all__ = [
    "DEFAULT_CLICK_CHECKPOINT", "Click", "ClickConfig", "ClickNet", "ClickPredictor",
    "check_clicks", "constrain", "grabcut_mask_from_clicks", "iou", "load_click_checkpoint",
    "load_click_model", "next_click", "noc", "restore_far_removals", "save_click_checkpoint",
    "summarize", "validate_click",
]
