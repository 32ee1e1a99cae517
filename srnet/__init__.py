"""SRNet: Space-time Reinforcement Network for video object segmentation.

Code map: `srnet.config` (dataclasses) → `srnet.model` (stateless network, stage methods) →
`srnet.inference` (Predictor + per-video InferenceSession + MemoryBank; `propagate` is a
generator) → `srnet.checkpoint` (one file = config + weights); `srnet.train.adapt` fine-tunes a
session's own copy of the network (online adaptation, opt-in). Clients of this public API:
`srnet.eval`, `srnet.train`, the CLI (`python -m srnet ...`) and the Gradio demo in `demo/`.
"""

from __future__ import annotations

from pathlib import Path

from srnet.checkpoint import CheckpointError, load_model, save_checkpoint
from srnet.config import MIN_SHORT_SIDE, FAMConfig, InferenceConfig, ModelConfig, PTMConfig
from srnet.eval.ablation import ABLATIONS, ablated_config
from srnet.eval.ablation import ablated as ablated_predictor
from srnet.eval.baselines import flow_propagate
from srnet.eval.metrics import jaccard as mask_iou
from srnet.inference import (
    InferenceSession,
    MemoryRead,
    Predictor,
    StepOutput,
    StepVisuals,
    resolve_device,
)
from srnet.interactive import (
    DEFAULT_CLICK_CHECKPOINT,
    ClickPredictor,
    grabcut_mask_from_clicks,
    load_click_model,
    restore_far_removals,
    validate_click,
)
from srnet.interactive import constrain as constrain_click_mask
from srnet.io import natural_key, write_mp4
from srnet.model import SRNet
from srnet.palette import davis_palette, fit_index_mask, load_index_mask, save_index_mask
from srnet.train.adapt import adapt_network, adapt_session, iter_adapt_session

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "srnet_lite.pt"


def load_predictor(checkpoint: str | Path | None = None, *, device: str | None = None,
                   config: InferenceConfig | None = None, hub_id: str | None = None,
                   ) -> tuple[Predictor, dict]:
    """Predictor from a checkpoint (default: the bundled lite checkpoint); returns (predictor,
    checkpoint meta). Raises CheckpointError with a clear message when the file is unusable."""
    if checkpoint is None and hub_id is None:
        checkpoint = DEFAULT_CHECKPOINT
    model, meta = load_model(checkpoint, hub_id=hub_id)  # "" is a missing file, not the default
    return Predictor(model, config, device), meta


__all__ = [
    "CheckpointError", "ClickPredictor", "DEFAULT_CHECKPOINT", "DEFAULT_CLICK_CHECKPOINT",
    "ABLATIONS", "MIN_SHORT_SIDE", "ablated_config", "ablated_predictor", "adapt_network",
    "adapt_session", "iter_adapt_session", "mask_iou",
    "FAMConfig", "InferenceConfig", "InferenceSession", "ModelConfig", "PTMConfig", "Predictor",
    "MemoryRead", "SRNet", "StepOutput", "StepVisuals", "constrain_click_mask", "davis_palette",
    "fit_index_mask", "flow_propagate", "natural_key",
    "grabcut_mask_from_clicks", "load_click_model", "load_index_mask", "load_model",
    "load_predictor", "resolve_device", "restore_far_removals", "save_checkpoint",
    "save_index_mask",
    "validate_click", "write_mp4",
]
