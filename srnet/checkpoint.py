"""Checkpoints: one file = {format_version, model_config, state_dict, meta}.

Loading is strict: a missing, corrupt or mismatched file raises CheckpointError with a clear
message. A hub id is accepted only through the explicit `hub_id` argument (never at import).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import uuid
import zipfile
from pathlib import Path
from typing import Any

import torch

from srnet.config import ModelConfig
from srnet.model import SRNet

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
# Renamed parameters of older checkpoints → current names (one documented table).
KEY_REMAP: dict[str, str] = {}


class CheckpointError(ValueError):
    """The checkpoint file is missing, unreadable or does not fit the model."""


def storage_state(model: torch.nn.Module, half: bool = True) -> dict[str, torch.Tensor]:
    """The model's state dict on the CPU, floating tensors in fp16 when `half` (storage form)."""
    return {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
            for k, v in model.state_dict().items()}


def save_atomic(payload: dict[str, Any], path: str | Path) -> Path:
    """torch.save to a temporary file, flushed to disk, then rename: a crash mid-save never
    leaves a truncated checkpoint. The temporary name is the process's own, so two writers
    never share one (a second writer truncated the first's half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())  # some filesystems keep a rename without the data
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_checkpoint(path: str | Path, model: SRNet, meta: dict[str, Any] | None = None,
                    half: bool = True) -> Path:
    """Write config + weights (fp16 storage for floating tensors when `half`)."""
    payload = {"format_version": FORMAT_VERSION, "model_config": model.cfg.to_dict(),
               "state_dict": storage_state(model, half), "meta": meta or {}}
    return save_atomic(payload, path)


def total_steps(meta: dict[str, Any]) -> int:
    """Training steps behind a checkpoint (SRNet or click model): its meta's `total_steps`,
    else its `step` (checkpoints written before `total_steps` existed), else 0."""
    return int(meta.get("total_steps", meta.get("step", 0)) or 0)


def stream_seed(seed: int, init: str | Path | None) -> int:
    """A training run's data-stream seed: `seed`, mixed with the bytes of the `--init`
    checkpoint when the run continues one. Both trainings draw their samples from (seed, step
    or index), and a continuation starts at 0, so with one seed every continuation replayed
    the same stream (found in session 30 for SRNet, in session 31 for the click model)."""
    if not init:
        return seed
    digest = hashlib.blake2b(Path(init).read_bytes(), digest_size=4).digest()
    return seed + (int.from_bytes(digest, "little") << 8)


def load_payload(path: str | Path, label: str = "checkpoint", hint: str = "") -> Any:
    """`torch.load` (CPU, weights only) with a CheckpointError naming `label` when the file is
    missing or unreadable; `hint` is added to the unreadable message."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{label} not found: {path}")
    damaged = damaged_member(path)
    if damaged:
        raise CheckpointError(f"{label} {path} is corrupt: its part {damaged} fails its checksum "
                              "(a damaged copy or download)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's own text spans paragraphs; say it in one
        raise CheckpointError(f"{label} {path} is corrupt{hint}, or holds Python objects other "
                              "than tensors, which are never loaded (weights only)") from exc
    except Exception as exc:  # torch raises many types for truncated or foreign files
        raise CheckpointError(f"{label} {path} is corrupt{hint}: {exc}") from exc


def damaged_member(path: Path) -> str | None:
    """The first part of a torch zip file whose CRC fails, else None. torch.load does not
    check them: a file with 4 KiB overwritten loaded and gave empty masks (found in session
    33). Reading the checksums of a 20 MB file takes ~0.04 s."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.CRC == 0 and info.file_size:  # saved without checksums: a torch
                    continue  # option (torch.serialization.set_crc32_options(False))
                try:
                    with archive.open(info) as member:
                        while member.read(1 << 22):  # the CRC is checked at the end
                            pass
                except zipfile.BadZipFile:
                    return info.filename
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):  # torch.load says what it is
        return None
    return None


def checked_weights(payload: dict[str, Any], path: str | Path, what: str
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The payload's state dict (floating tensors as fp32) and meta, or a CheckpointError when
    either is malformed or a weight is not finite. `what` names the network in messages."""
    state, meta = payload.get("state_dict"), payload.get("meta") or {}
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{path} holds no {what} weights (a state_dict of tensors)")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: its meta is a {type(meta).__name__}, not a dict")
    state = {KEY_REMAP.get(k, k): v.float() if v.is_floating_point() else v
             for k, v in state.items()}
    broken = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise CheckpointError(f"{path} is corrupt: {len(broken)} weight tensor(s) hold NaN or "
                              f"infinite values ({broken[0]}{', ...' if len(broken) > 1 else ''})")
    return state, dict(meta)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and validate the raw payload."""
    payload = load_payload(path, hint=" or not an SRNet file")
    if not isinstance(payload, dict) or "model_config" not in payload:
        raise CheckpointError(f"{path} is not an SRNet checkpoint (no model_config)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format {payload.get('format_version')}, "
                              f"this code reads {FORMAT_VERSION}")
    return payload


def load_model(path: str | Path | None = None, *, hub_id: str | None = None,
               expect_config: str | None = None) -> tuple[SRNet, dict[str, Any]]:
    """Build the model stored in a checkpoint and load its weights strictly (as fp32).

    Args:
        path: local checkpoint file.
        hub_id: "user/repo/file.pt" on the Hugging Face Hub, downloaded only when given.
        expect_config: raise if the stored config's name differs (e.g. "lite").
    Returns:
        the model (eval mode, CPU) and the checkpoint's `meta` dict.
    """
    if hub_id is not None and path is not None:
        raise CheckpointError(f"give a checkpoint path or a hub_id, not both ({path}, {hub_id})")
    if hub_id is not None:
        path = _download_from_hub(hub_id)
    if path is None:
        raise CheckpointError("give a checkpoint path (or an explicit hub_id)")
    payload = read_checkpoint(path)
    try:
        cfg = ModelConfig.from_dict(payload["model_config"])
        if expect_config is not None and cfg.name != expect_config:
            raise CheckpointError(f"{path} holds a {cfg.name!r} model, not {expect_config!r}")
        model = SRNet(cfg)  # a stored value of the wrong type can fail here (e.g. "128")
    except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{path}: stored config does not match this code: {exc}") from exc
    state, meta = checked_weights(payload, path, "SRNet")
    missing, unexpected = _key_mismatch(model, state)
    if missing or unexpected:
        raise CheckpointError(f"{path} does not fit the {cfg.name} model: missing "
                              f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected "
                              f"{unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise CheckpointError(f"{path}: weights do not fit the stored config: {exc}") from exc
    return model.eval(), meta


def average_checkpoints(paths: list[str | Path]) -> dict[str, Any]:
    """The uniform weight average ("model soup", Wortsman et al. 2022) of checkpoints that share
    one architecture, as a payload for `save_atomic`: floating tensors are averaged in fp32 and
    stored in fp16, integer buffers (BatchNorm counters) are taken from the first file. Only
    weights fine-tuned from one common ancestor average into a working model."""
    if len(paths) < 2:
        raise CheckpointError("averaging needs at least two checkpoints")
    payloads = [read_checkpoint(p) for p in paths]
    first = payloads[0]
    for path, payload in zip(paths[1:], payloads[1:]):
        if payload["model_config"] != first["model_config"]:
            raise CheckpointError(f"{path} holds another architecture than {paths[0]}")
        if set(payload["state_dict"]) != set(first["state_dict"]):
            raise CheckpointError(f"{path} has other weight names than {paths[0]}")
    state = {}
    for key, value in first["state_dict"].items():
        if value.is_floating_point():
            total = sum(p["state_dict"][key].float() for p in payloads)
            state[key] = (total / len(payloads)).half()
        else:
            state[key] = value
    steps = [total_steps(p.get("meta", {})) for p in payloads]
    meta = {"total_steps": max(steps), "soup_of": [str(p) for p in paths],
            "soup_steps": steps,
            "summary": f"average of {len(paths)} checkpoints ({max(steps)} steps in the longest)"}
    return {"format_version": FORMAT_VERSION, "model_config": first["model_config"],
            "state_dict": state, "meta": meta}


def _key_mismatch(model: SRNet, state: dict[str, Any]) -> tuple[list[str], list[str]]:
    own = set(model.state_dict())
    return sorted(own - set(state)), sorted(set(state) - own)


def _download_from_hub(hub_id: str) -> Path:
    parts = hub_id.split("/")
    if len(parts) < 3:
        raise CheckpointError("hub_id must look like 'user/repo/path/to/file.pt'")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise CheckpointError("hub ids need `pip install huggingface_hub`") from exc
    log.info("downloading %s (asked for explicitly)", hub_id)
    try:
        return Path(hf_hub_download("/".join(parts[:2]), "/".join(parts[2:])))
    except Exception as exc:  # offline, unknown repo or file, no access: many types
        raise CheckpointError(f"could not download {hub_id}: {' '.join(str(exc).split())[:200]}"
                              ) from exc
