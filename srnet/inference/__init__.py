"""Per-video inference: Predictor (model + device + config), InferenceSession (state),
MemoryBank (memory policy), StepOutput/StepVisuals (typed results). No gradio, no drawing."""

from srnet.inference.device import resolve_device
from srnet.inference.memory_bank import MemoryBank, MemoryEntry
from srnet.inference.outputs import MemoryRead, StepOutput, StepVisuals
from srnet.inference.predictor import Predictor
from srnet.inference.session import InferenceSession

__all__ = ["InferenceSession", "MemoryBank", "MemoryEntry", "MemoryRead", "Predictor", "StepOutput",
           "StepVisuals", "resolve_device"]
