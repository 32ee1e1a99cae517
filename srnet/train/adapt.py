"""Online adaptation (OSVOS-style first-frame fine-tuning) [D]: before a video is propagated, a
copy of the network is fine-tuned on stage-0 pseudo clips of the frames the user annotated.

Why: the shipped network has seen 24 training videos, and its memory read and decoder know
those objects better than "objects"; a few steps on the one object a user marked, seen in many
poses by warping its frame, specialise them to it. Measured on the six holdout clips at 480
(100 steps): 95.35 against 94.36 J&F (`scripts/measure_online_adaptation.py`; README, Online
adaptation).

What trains and how: every parameter except the ImageNet trunk, in eval mode (BatchNorm
statistics fixed: a batch of two warps of one image would ruin them), with the training loss
without bootstrapping (every pixel counts), AdamW at `InferenceConfig.adapt_lr`, no warm-up. The
shared network is never touched: the tuned weights belong to one session
(`InferenceSession.adapted`). Because a memory encoded by one network cannot be read by
another, adaptation must happen before the session's first frame is memorised.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from srnet.data.clips import sample_static_clip
from srnet.inference import InferenceSession, Predictor
from srnet.inference.preprocess import validate_annotation, validate_frame
from srnet.model import SRNet
from srnet.train.batch import stack_clips
from srnet.train.losses import SegmentationLoss

log = logging.getLogger(__name__)
MAX_CROP = 384  # the crop of the stage-2 training and of the measurement
BATCH_SIZE = 2
GRAD_CLIP = 3.0
TRUNK = "key_encoder.trunk."  # frozen: its weights stay the shared network's


def iter_adaptation(model: SRNet, examples: Sequence[tuple[np.ndarray, np.ndarray]],
                    steps: int, lr: float = 1e-4, *, seed: int = 0
                    ) -> Iterator[tuple[int, float, SRNet | None]]:
    """Fine-tune a copy of `model` for `steps` steps on 3-frame pseudo clips of `examples` (each
    a uint8 `[H, W, 3]` RGB frame and its `[H, W]` index mask of object ids; a clip is made
    from one example drawn at random), yielding `(step, loss, None)` after each step and, last,
    `(steps, loss, copy)`: the copy in eval mode on `model`'s device. A generator, so a UI can
    show progress or stop; `model` is never changed."""
    examples = [(image, np.asarray(mask, np.uint8)) for image, mask in examples
                if np.asarray(mask).any()]
    if not examples:
        raise ValueError("online adaptation needs at least one annotated frame with an object")
    device = next(model.parameters()).device
    with torch.inference_mode(False):  # the demo may call from inference mode
        tuned = copy.deepcopy(model).float().eval()  # eval: BatchNorm statistics stay fixed
    for name, param in tuned.named_parameters():
        param.requires_grad_(not name.startswith(TRUNK))
    params = [p for p in tuned.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-7)
    # start/end of the bootstrapping ramp past the last step: every pixel counts throughout
    loss_fn = SegmentationLoss(model.cfg.ptm.aux_loss_weight, steps + 1, steps + 1, 1.0)
    short = min(min(image.shape[:2]) for image, _ in examples)
    crop = max(32, min(MAX_CROP, short // 16 * 16))  # a multiple of the stride, up to 384
    rng = np.random.default_rng(seed)
    loss = float("nan")
    for step in range(steps):
        with torch.inference_mode(False), torch.enable_grad():
            loss = _train_step(tuned, loss_fn, optimizer, params, examples, rng, crop, step,
                               device)
        yield (step + 1, loss, None) if step + 1 < steps else (step + 1, loss, _frozen(tuned))
    if steps == 0:
        yield 0, loss, _frozen(tuned)


def adapt_network(model: SRNet, examples: Sequence[tuple[np.ndarray, np.ndarray]], steps: int,
                  lr: float = 1e-4, *, seed: int = 0,
                  progress: Callable[[int, float], None] | None = None) -> SRNet:
    """`iter_adaptation` run to the end: the fine-tuned copy; `progress(step, loss)` after each
    step."""
    tuned = None
    for step, loss, network in iter_adaptation(model, examples, steps, lr, seed=seed):
        tuned = network if network is not None else tuned
        if progress is not None and step:
            progress(step, loss)
    return tuned


def iter_adapt_session(predictor: Predictor, session: InferenceSession,
                       examples: Sequence[tuple[np.ndarray, np.ndarray]]
                       ) -> Iterator[tuple[int, float]]:
    """Give `session` (and its mirror twin) its own fine-tuned weights: `iter_adaptation` of the
    predictor's network for `session.config.adapt_steps` steps, yielding `(step, loss)`. The
    session changes only after the last step (a consumer that stops early leaves it as it
    was). Nothing happens when `adapt_steps` is 0. ValueError once the session has memory:
    that memory was encoded by another network."""
    steps = session.config.adapt_steps
    if steps == 0:
        return
    session.check_no_memory("adapt")
    # checked as `step` checks them, before the steps: a wrong-size mask was found only by the
    # first frame after the adaptation's minute, and grey frames failed deep in the warps
    examples = [(image, validate_annotation(mask, validate_frame(image)))
                for image, mask in examples]
    for step, loss, tuned in iter_adaptation(predictor.model, examples, steps,
                                             session.config.adapt_lr):
        if tuned is not None:
            tuned = tuned.to(predictor.device, memory_format=torch.channels_last)
            adapted = {name: param.detach() for name, param in tuned.named_parameters()
                       if not name.startswith(TRUNK)}
            for twin in session.with_mirror():
                twin.adapted, twin.network = adapted, tuned
            log.info("adapted the network to %d annotated frame(s) in %d steps",
                     len(examples), steps)
        yield step, loss


def adapt_session(predictor: Predictor, session: InferenceSession,
                  examples: Sequence[tuple[np.ndarray, np.ndarray]],
                  progress: Callable[[int, float], None] | None = None) -> bool:
    """`iter_adapt_session` run to the end; True when the session was adapted (False: the
    config's `adapt_steps` is 0)."""
    ran = False
    for step, loss in iter_adapt_session(predictor, session, examples):
        ran = True
        if progress is not None:
            progress(step, loss)
    return ran


def _train_step(tuned: SRNet, loss_fn: SegmentationLoss, optimizer: torch.optim.Optimizer,
                params: list[torch.Tensor], examples: list[tuple[np.ndarray, np.ndarray]],
                rng: np.random.Generator, crop: int, step: int, device: torch.device) -> float:
    batch = stack_clips([_pseudo_clip(examples[0] if len(examples) == 1 else
                                      examples[rng.integers(len(examples))], rng, crop)
                         for _ in range(BATCH_SIZE)]).to(device)
    out = tuned(batch.frames, batch.masks[:, 0], batch.valid)
    parts = loss_fn(out.logits, out.aux_logits, batch.target, batch.masks, batch.valid, step)
    optimizer.zero_grad(set_to_none=True)
    parts.total.backward()
    torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
    optimizer.step()
    return float(parts.total.detach())


def _frozen(tuned: SRNet) -> SRNet:
    for param in tuned.parameters():
        param.requires_grad_(False)
    return tuned.eval()


def _pseudo_clip(example: tuple[np.ndarray, np.ndarray], rng: np.random.Generator, crop: int):
    image, mask = example
    count = len(np.unique(mask)) - 1
    # Every annotated object visible in the crop is a target: with the stage-0 threshold (0.2 %
    # of the crop) a small one, such as paragliding's pilot in 43 of 300 clips, was labelled
    # background, and 30 steps of that lost it (session 25).
    # legacy_recipe: the warps online adaptation's measured numbers were made with (session 31
    # changed the training warps; these clips keep theirs until adaptation is measured again)
    return sample_static_clip(image, mask, rng, crop=(crop, crop), max_objects=max(count, 1),
                              keep_ids=count > 1, min_object_area=0.0, legacy_recipe=True)
