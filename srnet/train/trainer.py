"""The training loop: build the model (ImageNet trunk, frozen for Lite0), AdamW + warm-up/decay,
bootstrapped CE + PTM auxiliary loss, holdout J&F, resumable `last.pt`, `best_holdout.pt` /
`final.pt` inference checkpoints, `log.jsonl`, and DDP under `torchrun` (only rank 0 logs,
evaluates, saves).

This module must not parse command lines (that is `srnet.train.cli`) nor read frames itself
(that is `srnet.train.data`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from srnet.checkpoint import save_checkpoint
from srnet.config import ModelConfig
from srnet.model import SRNet
from srnet.train import distributed as ddp
from srnet.train.config import TrainConfig
from srnet.train.data import DataSource, build_source, run_seed
from srnet.train.evaluate import evaluate_holdout
from srnet.train.losses import SegmentationLoss
from srnet.train.model_setup import (
    autocast_for,
    build_model,
    build_optimizer,
    init_total_steps,
    seed_everything,
    set_train_mode,
)
from srnet.train.monitor import RunLogger, stop_on_signals
from srnet.train.prefetch import Prefetcher
from srnet.train.resume import ResumeError, check_resume_settings, run_folder_lock, set_aside
from srnet.train.state import (
    TrainState,
    check_model_config,
    load_train_state,
    restore,
    rng_state,
    save_train_state,
    truncate_log,
)

log = logging.getLogger(__name__)
__all__ = ["TrainConfig", "TrainResult", "train"]


@dataclass
class TrainResult:
    """What `train` returns: the step reached, the best holdout J&F (−1 if never evaluated), the
    run folder and this process's trained model (unwrapped from DDP)."""

    step: int
    best_jf: float
    out_dir: Path
    model: SRNet


def train(cfg: TrainConfig, model_cfg: ModelConfig, data_roots: Sequence[str | Path]
          ) -> TrainResult:
    """Train (or resume) a model.

    Files in `cfg.out_dir`: last.pt (training state), best_holdout.pt (best in-loop holdout
    J&F: a learning-curve record, named so that nobody ships a checkpoint chosen on the holdout),
    final.pt (end of the run), log.jsonl, train_config.json.
    """
    info = ddp.setup(cfg.device)
    threads = torch.get_num_threads()
    try:
        return _train(cfg, model_cfg, data_roots, info)
    finally:
        torch.set_num_threads(threads)  # cfg.threads applies to this run only
        ddp.cleanup(info)


def _train(cfg: TrainConfig, model_cfg: ModelConfig, data_roots: Sequence[str | Path],
           info: ddp.DistInfo) -> TrainResult:
    out_dir = Path(cfg.out_dir)
    with contextlib.ExitStack() as held:
        refused: ResumeError | None = None
        if info.is_main:  # rank 0 owns the folder; the others learn whether it could
            try:
                held.enter_context(run_folder_lock(out_dir))
                if not cfg.resume:
                    set_aside(out_dir)
            except ResumeError as exc:
                refused = exc
        if ddp.broadcast_flag(info, refused is not None):  # no rank waits in a barrier
            raise refused or ResumeError(f"rank 0 could not take {out_dir} (see its log)")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        return _train_locked(cfg, model_cfg, [str(r) for r in data_roots], info)


def _train_locked(cfg: TrainConfig, model_cfg: ModelConfig, data_roots: list[str],
                  info: ddp.DistInfo) -> TrainResult:
    out_dir = Path(cfg.out_dir)
    last_path = out_dir / "last.pt"
    payload = load_train_state(last_path) if cfg.resume and last_path.is_file() else None
    if payload is not None:  # refused before the data and the cache are built
        check_model_config(payload, model_cfg.to_dict(), last_path)
        meta = payload.get("meta") or {}
        saved = meta.get("train")
        if isinstance(saved, dict):  # runs before session 34 did not save their data roots
            saved = {**saved, "data": meta.get("data", data_roots)}
        check_resume_settings(saved, {**cfg.to_dict(), "data": data_roots},
                              TrainConfig().to_dict(), path=last_path,
                              done_steps=int(payload["step"]),
                              allow_locations=cfg.resume_changed)
    seed = _stream(cfg, payload)
    seed_everything(seed + 1000 * info.rank)
    model, frozen = build_model(cfg, model_cfg)
    model.to(info.device)
    if payload is not None:  # the run's own trunk encodes the feature cache, not --init's
        model.load_state_dict(payload["model"], strict=True)  # (the file may be another now)
    source, eval_sets = build_source(cfg, model, frozen, data_roots, info, seed)
    optimizer, scheduler = build_optimizer(cfg, model)
    autocast, scaler = autocast_for(info.device, cfg.amp)
    state = TrainState()
    if payload is not None:
        state, sampler_state = restore(payload, model=model, optimizer=optimizer,
                                       scheduler=scheduler, scaler=scaler, rank=info.rank,
                                       world_size=info.world_size)
        if sampler_state is not None:
            source.load_state_dict(sampler_state)
        log.info("resumed from %s at step %d", last_path, state.step)
    state.extra.setdefault("stream_seed", seed)
    if info.is_main:
        truncate_log(out_dir / "log.jsonl", state.step)  # a fresh start clears an old log
        meta = {"train": cfg.to_dict(), "model": model_cfg.to_dict(), "world_size":
                info.world_size, "data": data_roots}
        (out_dir / "train_config.json").write_text(json.dumps(meta, indent=2))
    wrapped: nn.Module = model
    if info.enabled:
        wrapped = DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None,
            find_unused_parameters=cfg.ddp_find_unused)
    loss_fn = SegmentationLoss(model_cfg.ptm.aux_loss_weight, int(cfg.boot_start * cfg.steps),
                               int(cfg.boot_end * cfg.steps), cfg.top_p)
    logger = RunLogger(out_dir, info.is_main, cfg.progress, state.step, cfg.steps)
    ctx = _LoopContext(cfg, info, model, wrapped, source, optimizer, scheduler, scaler,
                       autocast, loss_fn, logger, eval_sets, frozen)
    ctx.data_roots = data_roots
    try:
        with stop_on_signals() as flag:
            ctx.run(state, flag)
    finally:
        logger.close()
    return TrainResult(state.step, state.best_jf, out_dir, model)


def _stream(cfg: TrainConfig, payload: dict | None) -> int:
    """The clip stream's seed: the run's own (saved in last.pt) when it resumes. It was
    recomputed from the bytes of `--init` at every start, so a new file copied to that path
    between two invocations silently switched the run to another stream."""
    saved = None if payload is None else (payload.get("extra") or {}).get("stream_seed")
    if saved is None:  # a new run, or one saved before session 37
        return run_seed(cfg)
    if cfg.init and Path(cfg.init).is_file() and run_seed(cfg) != saved:
        log.warning("--init %s changed since this run started: the run keeps its own clip "
                    "stream (the weights it resumes are its own too)", cfg.init)
    return int(saved)


class _LoopContext:
    """Everything the loop needs, so each phase (step, log, eval, save) is a short method."""

    def __init__(self, cfg, info, model, wrapped, source, optimizer, scheduler, scaler, autocast,
                 loss_fn, logger, eval_sets, frozen) -> None:
        self.cfg, self.info, self.model, self.wrapped = cfg, info, model, wrapped
        self.source: DataSource = source
        self.batches: Prefetcher | None = None
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.autocast, self.loss_fn, self.logger = autocast, loss_fn, logger
        self.eval_sets, self.frozen = eval_sets, frozen
        self.out_dir = Path(cfg.out_dir)
        self.started = time.perf_counter()
        self.wall_before = 0.0  # training wall time of earlier invocations (from last.pt)
        # steps behind the --init weights, so a continuation's summary counts all of them
        self.prior_steps = init_total_steps(cfg.init)
        self.data_roots: list[str] = []

    def wall_s(self) -> float:
        """Wall-clock seconds this run has taken so far, across resumes."""
        return self.wall_before + time.perf_counter() - self.started

    def run(self, state: TrainState, flag: dict[str, bool]) -> None:
        self.wall_before = float(state.extra.get("wall_s", 0.0))
        # the run's own count: a resume without --init (or with another file) kept a wrong one
        self.prior_steps = int(state.extra.setdefault("prior_steps", self.prior_steps))
        state.extra.setdefault("init_name", Path(self.cfg.init).name if self.cfg.init else "")
        self.batches = Prefetcher(self.source, self.cfg.batch_size, self.cfg.steps, state.step)
        try:
            self._run(state, flag)
        finally:
            self.batches.close()

    def _run(self, state: TrainState, flag: dict[str, bool]) -> None:
        cfg = self.cfg
        if state.step >= cfg.steps:
            log.info("%s already finished %d steps; nothing to do", self.out_dir, state.step)
            return
        set_train_mode(self.model, self.frozen or self.cfg.trunk_train_blocks > 0)
        window: list[dict[str, float]] = []
        tick = time.perf_counter()
        since_tick = 0
        stop_at = cfg.steps if cfg.run_steps is None else min(cfg.steps,
                                                              state.step + cfg.run_steps)
        while state.step < cfg.steps:
            parts = self.train_step(state.step)
            state.step += 1
            window.append(parts)
            since_tick += 1
            self.logger.tick(parts)
            if state.step % cfg.log_every == 0 or state.step == cfg.steps:
                now = time.perf_counter()
                self.log_window(state.step, window, since_tick / max(now - tick, 1e-9))
                window, tick, since_tick = [], now, 0
            if cfg.eval_every and state.step % cfg.eval_every == 0 and state.step < cfg.steps:
                self.evaluate(state)
            if state.step == cfg.steps:
                break
            stop = ddp.broadcast_flag(self.info, flag["stop"] or state.step >= stop_at)
            if state.step % cfg.ckpt_every == 0 or stop:
                self.save_state(state)
            if stop:
                log.warning("stopped at step %d; re-run with the same --out to resume", state.step)
                return
        if cfg.eval_every:
            self.evaluate(state)
        self.save_state(state)
        if self.info.is_main:
            save_checkpoint(self.out_dir / "final.pt", self.model, self._meta(state))

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        batch = self.batches.next_batch().to(self.info.device)
        with self.autocast():
            out = self.wrapped(batch.frames, batch.masks[:, 0], batch.valid,
                               trunk_feats=batch.trunk_feats)
        parts = self.loss_fn(out.logits, out.aux_logits, batch.target, batch.masks,
                             batch.valid, step)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(parts.total).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            parts.total.backward()
        params = [p for p in self.model.parameters() if p.requires_grad]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip or float("inf"))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        return {**parts.as_dict(), "grad_norm": float(grad_norm)}

    def log_window(self, step: int, window: list[dict[str, float]], steps_per_s: float) -> None:
        means = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
        record = {"step": step, **means, "lr": self.scheduler.get_last_lr()[0],
                  "steps_per_s": steps_per_s, "wall_s": self.wall_s(), "time": time.time()}
        self.logger.write(record)
        if self.logger.bar is None and self.info.is_main:
            log.info("step %d loss %.4f (ce %.4f aux %.4f) lr %.2e %.2f steps/s", step,
                     means["loss"], means["ce"], means["aux"], record["lr"], steps_per_s)

    def evaluate(self, state: TrainState) -> None:
        if self.info.is_main and self.eval_sets:
            try:
                self._evaluate(state)
            except Exception:  # a record only: a failure must not end the run unsaved
                log.exception("holdout evaluation failed at step %d; training goes on",
                              state.step)
        ddp.barrier(self.info)
        set_train_mode(self.model, self.frozen or self.cfg.trunk_train_blocks > 0)

    def _evaluate(self, state: TrainState) -> None:
        seqs = self.cfg.eval_seqs or self.cfg.holdout
        score = evaluate_holdout(self.model, self.eval_sets, seqs,
                                 short_side=self.cfg.eval_size,
                                 max_frames=self.cfg.eval_frames, device=self.info.device)
        if score is None:
            return
        self.logger.write({"step": state.step, **score.as_dict(), "wall_s": self.wall_s(),
                           "time": time.time()})
        log.info("step %d holdout J&F %.4f (J %.4f, F %.4f) in %.0f s", state.step,
                 score.JF, score.J, score.F, score.seconds)
        if state.best_jf < score.JF:
            state.best_jf = score.JF
            save_checkpoint(self.out_dir / "best_holdout.pt", self.model,
                            {**self._meta(state), **score.as_dict()})

    def save_state(self, state: TrainState) -> None:
        state.extra["wall_s"] = self.wall_s()
        ranks = ddp.gather_objects(self.info, {"rng": rng_state(),
                                               "sampler": self.batches.state_dict()})
        if self.info.is_main:
            save_train_state(self.out_dir / "last.pt", model=self.model,
                             optimizer=self.optimizer, scheduler=self.scheduler,
                             scaler=self.scaler, state=state, rank_states=ranks,
                             meta=self._meta(state))
        ddp.barrier(self.info)

    def _meta(self, state: TrainState) -> dict[str, Any]:
        total = self.prior_steps + state.step
        summary = f"{self.model.cfg.name}, {total} steps"
        if self.prior_steps:
            summary += f" ({state.step} in its last run, from {state.extra.get('init_name')})"
        return {"step": state.step, "total_steps": total, "best_jf": state.best_jf,
                "train": self.cfg.to_dict(), "data": self.data_roots, "summary": summary}
