"""Iterative click training (RITM recipe, CPU-sized): per batch, random initial clicks (or a
degraded ground truth as the previous mask, like a propagated mask being corrected), then 0-2
no-grad rounds that add the NoC click at the largest error with the prediction fed back as the
previous mask, then one gradient step on BCE + soft-IoU (or the normalized focal loss: `loss`).
Resumable from OUT/last.pt; validation (NoC protocol on a fixed subset of the val split) is
appended to OUT/log.jsonl.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srnet.checkpoint import CheckpointError, load_payload, save_atomic, stream_seed, total_steps
from srnet.data.static_masks import list_static_samples, static_split
from srnet.data.subsets import training_share
from srnet.interactive.clicks import Click, degraded, disk_maps, initial_clicks, next_click
from srnet.interactive.data import (
    ClickObject,
    augment,
    davis_frames,
    load_objects,
    object_view,
)
from srnet.interactive.evaluate import evaluate_objects
from srnet.interactive.losses import check_loss_name, click_loss
from srnet.interactive.model import (
    ClickConfig,
    ClickNet,
    head_parameters,
    load_imagenet_trunk,
    load_init_weights,
    trunk_parameters,
)
from srnet.interactive.predictor import (
    ClickPredictor,
    build_click_net,
    load_click_checkpoint,
    save_click_checkpoint,
)
from srnet.train.resume import (
    check_resume_settings,
    load_checked_state,
    run_folder_lock,
    set_aside,
)
from srnet.train.state import truncate_log

log = logging.getLogger(__name__)


@dataclass
class ClickTrainConfig:
    static_root: str
    davis_root: str | None
    out: str
    steps: int = 1800
    batch_size: int = 6
    crop: int = 256
    lr: float = 1e-3  # new layers; the trunk gets lr * trunk_lr_mult
    trunk_lr_mult: float = 0.1
    warmup: int = 50
    max_iters: int = 2  # no-grad click rounds before the gradient step (0..max_iters)
    degrade_prob: float = 0.15  # start from a damaged ground truth instead of clicks
    davis_every: int = 4  # every k-th DAVIS-2016 training frame
    eval_every: int = 300
    eval_objects: int = 30
    eval_clicks: int = 5
    save_every: int = 50
    seed: int = 0
    # a fixed seeded share of the training objects (learning curve over the data size, #8)
    train_fraction: float = 1.0
    init: str | None = None  # start from this click checkpoint's weights (a fine-tune)
    # share of training views that are object views (box enlarged and resized to the crop, as
    # the predictor's zoom-in sees it) instead of random crops at the working scale; 0.5 won
    # against 0 in session 7 (scripts/train_clicks_views.sh)
    object_view_prob: float = 0.5
    # 32 adds Lite0's stride-32 stage to the network (ClickConfig.trunk_stride; session 8)
    trunk_stride: int = 16
    # 2 adds a stride-2 refinement of the logits (ClickConfig.out_stride; session 11)
    out_stride: int = 4
    # True adds the click-prototype similarity cue (ClickConfig.click_proto; session 12)
    click_proto: bool = False
    # "bce_iou" (shipped so far) or "nfl", RITM's normalized focal loss (session 10)
    loss: str = "bce_iou"


def make_batch(objects: list[ClickObject], cfg: ClickTrainConfig, rng: np.random.Generator
               ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    images, gts, ignores = [], [], []
    while len(images) < cfg.batch_size:
        obj = objects[int(rng.integers(len(objects)))]
        # no draw when object views are off: runs without them keep their old random stream
        view = (object_view(obj, cfg.crop, rng, ClickPredictor.ZOOM_MIN_SIDE)
                if cfg.object_view_prob and rng.random() < cfg.object_view_prob else
                augment(obj, cfg.crop, rng))
        if view is not None:
            images.append(view[0])
            gts.append(view[1])
            ignores.append(view[2])
    return images, gts, ignores


def _maps(clicks: list[list[Click]], prevs: list[np.ndarray], crop: int, radius: int
          ) -> torch.Tensor:
    maps = [np.concatenate([disk_maps(c, (crop, crop), radius), p[None].astype(np.float32)])
            for c, p in zip(clicks, prevs)]
    return torch.from_numpy(np.stack(maps))  # [B, 3, S, S]


def train_step(model: ClickNet, batch: tuple, cfg: ClickTrainConfig,
               rng: np.random.Generator) -> tuple[torch.Tensor, float]:
    """Simulate clicks (with no-grad correction rounds), return (loss, clicks per sample)."""
    images, gts, ignores = batch
    radius = model.cfg.disk_radius
    clicks, prevs = [], []
    for gt, ign in zip(gts, ignores):
        if rng.random() < cfg.degrade_prob:
            prev = degraded(gt, rng)
            first = next_click(prev, gt, ign)
            clicks.append([first] if first else initial_clicks(gt, rng, ign))
            prevs.append(prev)
        else:
            clicks.append(initial_clicks(gt, rng, ign))
            prevs.append(np.zeros_like(gt))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0  # [B, 3, S, S]
    with torch.no_grad():
        stem = model.encode_stem(x)  # [B, 32, S/2, S/2]; the rounds reuse it
        for _ in range(int(rng.integers(0, cfg.max_iters + 1))):
            logits = model.forward_from_stem(stem, _maps(clicks, prevs, cfg.crop, radius),
                                             x.shape[-2:])  # [B, 1, S, S]
            preds = (logits[:, 0] > 0).numpy()
            for k, (pred, gt, ign) in enumerate(zip(preds, gts, ignores)):
                click = next_click(pred, gt, ign)
                if click is not None:
                    clicks[k].append(click)
                prevs[k] = pred
    logits = model(x, _maps(clicks, prevs, cfg.crop, radius))  # [B, 1, S, S]
    gt = torch.from_numpy(np.stack(gts)[:, None].astype(np.float32))  # [B, 1, S, S]
    valid = torch.from_numpy(~np.stack(ignores)[:, None]).float()  # [B, 1, S, S]
    return click_loss(cfg.loss, logits, gt, valid), float(np.mean([len(c) for c in clicks]))


def lr_factor(step: int, cfg: ClickTrainConfig) -> float:
    """Linear warm-up, then cosine decay to 5 %."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def val_subset(val_objects: list[ClickObject], count: int) -> list[ClickObject]:
    """A fixed, evenly spaced subset (by name) of the val split's objects."""
    ordered = sorted(val_objects, key=lambda o: o.name)
    stride = max(1, len(ordered) // count)
    return ordered[::stride][:count]


def train_clicks(cfg: ClickTrainConfig, resume: bool = True, resume_changed: bool = False
                 ) -> Path:
    """Train (or resume) a click model in `cfg.out`; `resume_changed` accepts a resume whose
    input folders or --init differ from the run's. Returns the run's click_last.pt."""
    check_loss_name(cfg.loss)
    out = Path(cfg.out)
    with run_folder_lock(out):
        if not resume:
            set_aside(out, ("last.pt", "click_last.pt", "log.jsonl", "config.json"))
        return _train_locked(cfg, out, resume, resume_changed)


def _train_locked(cfg: ClickTrainConfig, out: Path, resume: bool, resume_changed: bool) -> Path:
    last = out / "last.pt"
    state = _resume_state(last, cfg, resume_changed) if resume and last.exists() else None
    torch.manual_seed(cfg.seed)  # the new layers' initial weights: a fresh run is repeatable
    model, prior_steps = _initial_model(cfg)  # before the data: a bad --init fails fast
    seed = stream_seed(cfg.seed, cfg.init)  # a continuation draws its own batches
    if state is not None:  # runs saved before session 31 drew from cfg.seed
        seed = int(state.get("stream_seed", cfg.seed))
    optim = torch.optim.AdamW([{"params": head_parameters(model), "lr_mult": 1.0},
                               {"params": trunk_parameters(model),
                                "lr_mult": cfg.trunk_lr_mult}], lr=cfg.lr, weight_decay=1e-4)
    step, elapsed = 0, 0.0
    if state is not None:
        # keys added to ClickConfig since the save take their defaults
        held = ClickConfig.from_dict(state.get("click_config", model.cfg.to_dict()))
        if not held.centred_masks:  # a run begun before session 44 goes on with centred data
            log.warning("%s began on masks resized with INTER_NEAREST (~0.5 px low and "
                        "right); its remaining steps train on centred masks", last)
            held = replace(held, centred_masks=True)
        if held != model.cfg:
            raise CheckpointError(f"{last} holds a different network ({held.label}, not "
                                  f"{model.cfg.label}); resume with "
                                  "the same --trunk-stride / --out-stride / --click-proto or "
                                  "pass --no-resume / another --out")
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, elapsed = int(state["step"]), float(state["elapsed"])
        prior_steps = int(state.get("prior_steps", prior_steps))  # the run's, not today's --init
    truncate_log(out / "log.jsonl", step)  # lines written after that save, before a crash
    if state is not None:
        log.info("resumed from %s at step %d", last, step)
    davis_root = Path(cfg.davis_root) if cfg.davis_root else None
    train_samples, val_samples = static_split(list_static_samples(cfg.static_root, davis_root))
    objects = load_objects(train_samples, model.cfg.short_side)
    if davis_root is not None:
        objects += davis_frames(davis_root, cfg.davis_every, model.cfg.short_side)
    objects = training_share(objects, cfg.train_fraction, cfg.seed)
    val = val_subset(load_objects(val_samples, None), cfg.eval_objects)
    log.info("%d training objects, %d validation objects", len(objects), len(val))
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    _loop(model, optim, objects, val, cfg, out, (step, prior_steps, seed), elapsed)
    return out / "click_last.pt"


def _resume_state(last: Path, cfg: ClickTrainConfig, resume_changed: bool) -> dict[str, Any]:
    """last.pt checked (checksums, finite weights) and its settings against this run's: a new
    --lr or --batch-size was applied to a run started with others (ResumeError)."""
    state = load_checked_state(last, ". To go on: --no-resume (the old files are kept aside), "
                                     "or --init with the run's click_last.pt in a new --out")
    defaults = {f.name: f.default for f in fields(ClickTrainConfig) if f.default is not MISSING}
    check_resume_settings(state.get("train_config"), asdict(cfg), defaults, path=last,
                          done_steps=int(state["step"]), allow_locations=resume_changed)
    return state


def _initial_model(cfg: ClickTrainConfig) -> tuple[ClickNet, int]:
    """The network with ImageNet and/or --init weights, and the steps behind the latter."""
    model_cfg = ClickConfig(trunk_stride=cfg.trunk_stride, out_stride=cfg.out_stride,
                            click_proto=cfg.click_proto,
                            centred_masks=True)  # `data` resizes masks at pixel centres
    model, prior_steps = build_click_net(model_cfg), 0
    init_model, init_meta = load_click_checkpoint(cfg.init) if cfg.init else (None, {})
    if init_model is None or init_model.cfg.trunk_blocks < model_cfg.trunk_blocks:
        load_imagenet_trunk(model)  # the trunk blocks no --init weights cover
    if init_model is not None:
        load_init_weights(model, init_model)
        prior_steps = total_steps(init_meta)
        log.info("initialised from %s (%d steps behind it)", cfg.init, prior_steps)
    return model, prior_steps


def checkpoint_meta(step: int, prior_steps: int, wall: float, label: str,
                    **extra: Any) -> dict[str, Any]:
    """Meta of a click checkpoint written by a run; a run started with --init counts the
    steps behind its init weights too."""
    total = prior_steps + step
    summary = f"{label}, {total} steps" + (f" ({step} in its last run)" if prior_steps else "")
    return {"summary": summary, "step": step, "total_steps": total, "wall_s": round(wall),
            **extra}


def _loop(model: ClickNet, optim: torch.optim.Optimizer, objects: list[ClickObject],
          val: list[ClickObject], cfg: ClickTrainConfig, out: Path,
          position: tuple[int, int, int], elapsed: float) -> None:
    """Train from `step` to cfg.steps; `position` = (step, the steps behind the --init
    weights, the data stream's seed)."""
    step, prior_steps, seed = position
    from tqdm import tqdm

    bar = tqdm(total=cfg.steps, initial=step, desc="train-clicks", mininterval=20)
    start, log_file = time.time() - elapsed, (out / "log.jsonl").open("a")
    losses: list[float] = []
    while step < cfg.steps:
        rng = np.random.default_rng([seed, step])  # per-step seed: resuming is exact
        for group in optim.param_groups:
            group["lr"] = cfg.lr * group["lr_mult"] * lr_factor(step, cfg)
        model.train()
        model.trunk.eval()  # frozen BatchNorm statistics: batches of 6 are too small
        loss, n_clicks = train_step(model, make_batch(objects, cfg, rng), cfg, rng)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        if step % 10 == 0:
            record = {"step": step, "loss": float(np.mean(losses)), "clicks": n_clicks,
                      "lr": optim.param_groups[0]["lr"], "time": time.time() - start}
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()
            losses = []
        if step % cfg.save_every == 0 or step == cfg.steps:
            save_atomic({"model": model.state_dict(), "optim": optim.state_dict(), "step": step,
                         "click_config": model.cfg.to_dict(),
                         "prior_steps": prior_steps, "stream_seed": seed,
                         "train_config": asdict(cfg),
                         "elapsed": time.time() - start},
                        out / "last.pt")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            _validate(model, val, cfg, out, step, prior_steps, time.time() - start, log_file)
    bar.close()


def export_run(run: str | Path, dest: str | Path) -> Path:
    """The fp16 inference checkpoint of a run's latest state (OUT/last.pt), e.g. to ship a run
    that is still going; its meta records the step and wall time."""
    state = load_payload(Path(run) / "last.pt", "training state")
    # runs saved before the config was stored trained the default network
    model = build_click_net(ClickConfig.from_dict(state.get("click_config", {})))
    model.load_state_dict(state["model"])
    return save_click_checkpoint(dest, model, checkpoint_meta(
        int(state["step"]), int(state.get("prior_steps", 0)), float(state["elapsed"]),
        model.cfg.label))


def _validate(model: ClickNet, val: list[ClickObject], cfg: ClickTrainConfig, out: Path,
              step: int, prior_steps: int, wall: float, log_file) -> None:
    predictor = ClickPredictor(model.eval(), "cpu")
    scores = evaluate_objects(predictor.predict, val, cfg.eval_clicks)
    record = {"step": step, "val": scores, "time": wall}
    log.info("step %d val %s", step, scores)
    log_file.write(json.dumps(record) + "\n")
    log_file.flush()
    save_click_checkpoint(out / "click_last.pt", model,
                          checkpoint_meta(step, prior_steps, wall, model.cfg.label, val=scores))
