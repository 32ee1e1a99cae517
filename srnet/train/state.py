"""The resumable training state (`last.pt`): model, optimiser, scheduler, grad scaler, step, best
score and every RNG (torch CPU/CUDA, Python, each rank's clip sampler). It is *not* the inference
checkpoint format (that is `srnet.checkpoint`); it is written atomically (tmp file + rename).
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from srnet.checkpoint import save_atomic
from srnet.train.resume import ResumeError, load_checked_state

log = logging.getLogger(__name__)
STATE_VERSION = 1
RESTART_HINT = (". To go on: start over with --no-resume (the old files are kept aside), or "
                "continue from the run's final.pt or best_holdout.pt in a new --out with --init")


@dataclass
class TrainState:
    """Counters that travel with last.pt."""

    step: int = 0  # optimiser steps done
    best_jf: float = -1.0
    extra: dict[str, Any] = field(default_factory=dict)


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_train_state(path: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: Any, scaler: Any, state: TrainState,
                     rank_states: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Write last.pt atomically. `rank_states[r]` holds rank r's RNG and sampler states."""
    payload = {
        "version": STATE_VERSION,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        # the architecture, so a resume can refuse a changed config whose weights still load
        "model_config": model.cfg.to_dict() if hasattr(model, "cfg") else None,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
        "step": state.step,
        "best_jf": state.best_jf,
        "extra": state.extra,
        "ranks": rank_states,
        "meta": meta,
    }
    save_atomic(payload, path)


def load_train_state(path: Path) -> dict[str, Any]:
    """last.pt, checked (`resume.load_checked_state`) and of this code's state version."""
    payload = load_checked_state(path, RESTART_HINT)
    if payload.get("version") != STATE_VERSION:
        raise ResumeError(f"{path}: training state version {payload.get('version')}, "
                          f"expected {STATE_VERSION}")
    return payload


def check_model_config(payload: dict[str, Any], current: dict[str, Any], path: Path) -> None:
    """Refuse to resume under a model config other than the one the run was saved with: the
    weights of e.g. other FAM or PTM settings can load strictly and train on silently. Files
    written before the config was saved (session 32) pass with a warning."""
    saved = payload.get("model_config")
    if saved is None:
        log.warning("%s holds no model config (an older file): resuming unchecked", path)
        return
    changed = sorted(key for key in set(saved) | set(current) if saved.get(key) != current.get(key))
    if changed:
        raise ResumeError(f"{path} was trained with another model config ({', '.join(changed)} "
                         "differ): resume with the run's own --config/--set, or use a new --out")


def restore(payload: dict[str, Any], *, model: nn.Module, optimizer: torch.optim.Optimizer,
            scheduler: Any, scaler: Any, rank: int, world_size: int
            ) -> tuple[TrainState, dict[str, Any] | None]:
    """Load everything back; returns the counters and this rank's sampler state (None when the
    world size changed, in which case the RNGs keep their fresh per-rank seeds)."""
    model.load_state_dict(payload["model"], strict=True)
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    if scaler is not None and payload.get("scaler") is not None:
        scaler.load_state_dict(payload["scaler"])
    state = TrainState(payload["step"], payload["best_jf"], payload.get("extra", {}))
    ranks = payload.get("ranks", [])
    if len(ranks) != world_size:
        log.warning("resuming with %d processes from a %d-process state: data order and "
                    "random streams are re-seeded, not continued", world_size, len(ranks))
        return state, None
    set_rng_state(ranks[rank]["rng"])
    return state, ranks[rank]["sampler"]


def truncate_log(path: Path, step: int) -> None:
    """Drop log.jsonl records past `step` (written after the state being resumed), and a line
    a crash cut short (it blocked every resume with a JSONDecodeError)."""
    path = Path(path)
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("step", 0) <= step:
            kept.append(line)
    path.write_text("".join(line + "\n" for line in kept))
