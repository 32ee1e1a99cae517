"""Predictor: owns the (stateless) model, the device and the InferenceConfig; runs one frame
at a time against an explicit InferenceSession. `propagate` returns a generator, so a UI can
stream or stop.

`step` is a short orchestrator over named phases: _prepare → _encode → _read_and_segment →
merge_user_mask (preprocess) → _memorize → _finalize (see architecture-conventions §3.4).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch

from srnet.config import InferenceConfig
from srnet.inference.backends import adapted_network, build_stages, resolve_backend
from srnet.inference.cpu_allocator import reuse_freed_memory
from srnet.inference.device import autocast_for, cpu_has_fast_bf16, resolve_device
from srnet.inference.memory_bank import MemoryBank, MemoryEntry
from srnet.inference.outputs import StepOutput, step_output
from srnet.inference.preprocess import (
    FrameGeometry,
    absent_ids,
    flip_valid,
    image_to_tensor,
    merge_user_mask,
    needed_upscale,
    plan_geometry,
)
from srnet.inference.session import InferenceSession
from srnet.inference.visuals import collect_visuals
from srnet.model import MemoryInputs, SRNet
from srnet.model.memory_ops import aggregate_groups

log = logging.getLogger(__name__)


class Predictor:
    """Frame-by-frame SRNet inference. Never mutated by a step: all state is in the session."""

    def __init__(self, model: SRNet, config: InferenceConfig | None = None,
                 device: str | torch.device | None = None, backend: str | None = None) -> None:
        """`backend`: torch, onnxruntime, openvino, or auto (the fastest installed for the
        device); None = $SRNET_BACKEND, else torch (see `srnet.inference.backends`).

        `model` is moved to the device, made channels-last and put in eval mode in place
        (torch's `Module.to` semantics): the app shares one model between all sessions'
        predictors, so a copy per predictor would only cost memory."""
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            reuse_freed_memory()  # no per-frame page faults on the large activations
        # channels_last: ~1.5x faster convolutions on the CPU (oneDNN) and with AMP on GPUs.
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        self.config = config or InferenceConfig()
        if self.device.type == "cpu" and self.config.cpu_bf16 and not cpu_has_fast_bf16():
            # Emulated bf16 was measured 14x slower than fp32 on an AVX2-only CPU: never wanted.
            log.warning("cpu_bf16 ignored: this CPU has no AMX / AVX512-BF16, where bf16 is far "
                        "slower than fp32; running in fp32")
            self.config = dataclasses.replace(self.config, cpu_bf16=False)
        bf16 = self.device.type == "cpu" and self.config.cpu_bf16
        # "auto" leaves the unit-test network on torch: exporting it would never pay.
        self.backend = resolve_backend(backend, self.device, bf16, model.cfg.name != "tiny")
        # The stage methods come from the network itself (torch) or from compiled graphs of it;
        # either way the network stays stateless and `self.model` is the torch reference.
        self.stages = build_stages(self.model, self.backend)

    def new_session(self, config: InferenceConfig | None = None) -> InferenceSession:
        """A fresh per-video state. `config` overrides the predictor's default knobs for this
        session only (memory interval, top-k, local interval, caps, internal size)."""
        cfg = config or self.config

        def bare() -> InferenceSession:
            return InferenceSession(memory=MemoryBank(cfg.max_working_frames,
                                                      cfg.max_permanent_frames),
                                    recent=deque(maxlen=cfg.local_interval), config=cfg)

        session = bare()
        session.mirror = bare() if cfg.mirror_average else None  # its memory of mirrored frames
        return session

    small_object_scale = staticmethod(needed_upscale)

    def fit_small_objects(self, session: InferenceSession,
                          masks: Sequence[np.ndarray]) -> float:
        """Before a session's first memory, size it for the smallest object of all `masks`,
        not only of the first annotation a pass meets: an object first marked on a later frame
        counts too. Returns the factor; ValueError once memory exists (one key size per
        memory)."""
        return session.fit_small_objects(masks)

    # ----------------------------------------------------------------------------- public API
    def step(self, session: InferenceSession, frame_idx: int, image: np.ndarray,
             mask: np.ndarray | None = None, *, return_visuals: bool = False,
             absent: Iterable[int] = ()) -> StepOutput:
        """Segment one frame. With `mask` ([H, W] of user object ids) its objects are memorised as
        permanent memory; objects absent from a partial mask are still propagated, unless
        listed in `absent`: the user says they are not on this frame (the mask may then be
        all background), and memory stores them as absent here. The mask
        replaces the frame's earlier annotation (it is not merged with it), and working memory
        that a pass predicted from that frame's earlier mask is forgotten. Without a mask
        (and no stored annotation for this frame) the frame is segmented from memory. A session
        with a mirror twin (`InferenceConfig.mirror_average`) also runs the mirrored frame against
        the twin's memory and returns the average; visuals are the plain pass's. A pass left
        open on the session stops (RuntimeError on its next frame): it would have read this
        frame as its previous frame's memory."""
        session.pass_id += 1
        return self._step(session, frame_idx, image, mask, return_visuals, origin=None,
                          absent=absent)

    @torch.inference_mode()
    def _step(self, session: InferenceSession, frame_idx: int, image: np.ndarray,
              mask: np.ndarray | None, return_visuals: bool,
              origin: tuple[int, bool] | None, absent: Iterable[int] = ()) -> StepOutput:
        """`step`, with the (start, reverse) of the pass it belongs to (None = a single step)."""
        mirrored = None if session.mirror is None else np.ascontiguousarray(image[:, ::-1])
        geom = self._register(session, frame_idx, image, mask, mirrored, absent)
        mask = session.annotations.get(frame_idx)
        if mask is None and not session.has_memory:
            raise ValueError("no object to follow yet: annotate a frame with a mask first")
        held = session.memory_timeline()  # what this frame reads, before it joins memory
        with autocast_for(self.device, self.config):
            image_t, feats = self._encode(session, image, geom)
            covered = mask is not None and session.covers(frame_idx, mask)
            prob, visuals = (None, None) if covered else self._read_and_segment(
                session, feats, geom, return_visuals)
            if session.mirror is not None:
                mirror_t, mirror_feats = self._encode(session.mirror, mirrored, geom)
                if prob is not None:  # average with the mirrored twin's read, flipped back
                    mirror_prob, _ = self._read_and_segment(session.mirror, mirror_feats, geom,
                                                            False)
                    prob = (prob + flip_valid(mirror_prob, geom)) / 2  # [1, K+1, H'', W'']
            prob = merge_user_mask(prob, mask, session.obj_ids, geom, self.device,
                                   session.absent.get(frame_idx, ()))  # [1, K+1, H'', W'']
            self._memorize(session, frame_idx, image_t, feats, prob, origin)
            if session.mirror is not None:  # both memories store the same (averaged) masks
                self._memorize(session.mirror, frame_idx, mirror_t, mirror_feats,
                               flip_valid(prob, geom), origin)
        return self._finalize(session, frame_idx, prob, mask if covered else None, geom,
                              visuals, held, from_user=mask is not None)

    def propagate(self, session: InferenceSession, frames: Sequence[np.ndarray], start: int,
                  end: int | None = None, *, reverse: bool = False, mask: np.ndarray | None = None,
                  return_visuals: bool = False, absent: Iterable[int] = ()) -> Iterator[StepOutput]:
        """Yield one StepOutput per frame from `start` to `end` (inclusive), forward or backward.

        With `mask` ([H, W] of object ids) and `absent` (ids not on that frame, as in `step`),
        frame `start` is annotated with them first, as `step` would do; when the mask holds or
        marks absent every object, its frame is encoded once, by the pass
        (`step` then `propagate` from the same frame encodes it twice), otherwise exactly as
        `step` then `propagate` (the objects it leaves out are read twice). Frames that carry
        a user annotation in the session use it. Working-memory frames ahead of `start` (left
        by an earlier pass) are dropped, so a correction on frame `start` wins.
        `frames` may be any indexable sequence (for example one that decodes lazily). Bad
        bounds raise here; the pass itself begins with the first frame drawn, and a pass
        started later on the same session stops this one (RuntimeError on its next frame).
        """
        absent_ids(absent, mask)  # absent objects come with the frame's mask, as in `step`
        last = len(frames) - 1
        end = (0 if reverse else last) if end is None else end
        if not (0 <= start <= last and 0 <= end <= last):
            raise ValueError(f"start/end must lie in 0..{last}, got {start}/{end}")
        if (end < start) != reverse and end != start:
            raise ValueError("end lies behind start for this direction")
        if mask is not None:
            self._register(session, start, frames[start], mask, absent=absent)
            if not session.covers(start, mask):
                # objects the mask leaves out are read from memory on this frame: do that
                # read now, as `step` does, while the previous frame is still local memory
                # (the pass's own read, after it, then also sees this frame's entry)
                self._step(session, start, frames[start], None, False, origin=None)
        return self._run_pass(session, frames, start, end, reverse, return_visuals)

    def _run_pass(self, session, frames, start, end, reverse, return_visuals):
        pass_id = session.start_pass(start, reverse)
        for frame_idx in range(start, end - 1, -1) if reverse else range(start, end + 1):
            if session.pass_id != pass_id:  # two passes would read each other's local memory
                raise RuntimeError(f"another propagation (or a step) ran on this session; "
                                   f"this one stopped before frame {frame_idx}")
            yield self._step(session, frame_idx, frames[frame_idx], None, return_visuals,
                             origin=(start, reverse))

    def remove_object(self, session: InferenceSession, obj_id: int) -> None:
        session.remove_object(obj_id)

    def reset_memory(self, session: InferenceSession, keep_permanent: bool = True) -> None:
        session.reset_memory(keep_permanent)

    @property
    def model_name(self) -> str:
        """The network's config name ("lite", "paper", "tiny")."""
        return self.model.cfg.name

    def share_adaptation(self, session: InferenceSession, adapted: dict | None) -> None:
        """Give `session` and its mirror twin another session's fine-tuned weights, those this
        predictor's network has (an ablated network lacks the disabled module's). ValueError
        once the session has memory: that memory was encoded by its current network (and the
        network it had built would have gone on running while `adapted` named others)."""
        session.check_no_memory("share an adaptation")
        names = {name for name, _ in self.model.named_parameters()}
        kept = None if adapted is None else {k: v for k, v in adapted.items() if k in names}
        for twin in session.with_mirror():
            twin.adapted, twin.network = kept, None  # rebuilt from `kept` on first use

    def pin_frame(self, session: InferenceSession, frame_idx: int) -> bool:
        """Make a remembered frame permanent memory (False when it is not in memory)."""
        return session.pin_frame(frame_idx)

    def warm_up(self, frame_size: tuple[int, int], config: InferenceConfig | None = None) -> None:
        """Prepare the backend for frames of `frame_size` (H, W) now: a compiled backend exports
        (first time per checkpoint and size, ~25 s on 2 cores) or loads its cached graphs, which
        it otherwise does on the first frame. Nothing to do for torch."""
        warm = getattr(self.stages, "warm_up", None)
        if warm is not None:
            warm(plan_geometry(frame_size, (config or self.config).short_side).padded_size)

    # ----------------------------------------------------------------------------- phases
    def _register(self, session: InferenceSession, frame_idx: int, image: np.ndarray,
                  mask: np.ndarray | None, mirrored: np.ndarray | None = None,
                  absent: Iterable[int] = ()) -> FrameGeometry:
        """Check the frame, and record `mask` (if any) as the frame's annotation, in the session
        and its mirror twin (`mirrored`: the flipped frame, when the caller has it); nothing is
        encoded yet."""
        mask = None if mask is None else np.asarray(mask)  # a list mask flips below too
        absent = tuple(sorted(absent_ids(absent, mask)))  # checked; read twice (mirror twin)
        geom = self._prepare(session, frame_idx, image, mask, absent)
        if session.mirror is not None:
            flipped = np.ascontiguousarray(image[:, ::-1]) if mirrored is None else mirrored
            self._prepare(session.mirror, frame_idx, flipped,
                          None if mask is None else np.ascontiguousarray(mask[:, ::-1]), absent)
        return geom

    def _prepare(self, session: InferenceSession, frame_idx: int, image: np.ndarray,
                 mask: np.ndarray | None, absent: Iterable[int] = ()) -> FrameGeometry:
        session.accept_frame(frame_idx, image, mask, absent)
        return plan_geometry(image.shape[:2], session.config.short_side, session.upscale)

    def _stages(self, session: InferenceSession):
        """The network this session runs: the shared one through the predictor's backend, or
        (online adaptation) a torch copy with the session's adapted weights, built once and
        kept in the session and its mirror twin."""
        if session.adapted is None:
            return self.stages
        if session.network is None:
            network = adapted_network(self.model, session.adapted)
            for twin in session.with_mirror():
                twin.network = network
        return session.network

    def _encode(self, session: InferenceSession, image: np.ndarray, geom: FrameGeometry):
        image_t = image_to_tensor(image, geom, self.device)  # [1, 3, H'', W''], channels-last
        return image_t, self._stages(session).encode_frame(image_t)

    def _read_and_segment(self, session, feats, geom, want_vis):
        """Read memory per object group; returns prob [1, K+1, H'', W''] and visuals."""
        obj_ids = session.obj_ids
        group_outputs = []
        for ids, entries in session.memory.groups(obj_ids):
            # local memory: the frame segmented last (t - s within a pass; README, deviations)
            local = next((e for e in session.recent if all(o in e.values for o in ids)), None)
            memory = dataclasses.replace(
                self._global_memory(session, ids, entries),
                local_key=None if local is None else local.key[None],  # [1, C_k, h, w]
                local_value=None if local is None else torch.stack(
                    [local.values[o] for o in ids])[None])  # [1, K, C_v, h, w]
            out = self._stages(session).segment(feats, memory, top_k=session.config.top_k,
                                                want_vis=want_vis)
            group_outputs.append((ids, entries, local, out))
        if not group_outputs:  # only objects new on this frame: nothing to read yet
            return None, None
        if len(group_outputs) == 1 and group_outputs[0][0] == obj_ids:
            prob = group_outputs[0][3].prob
        else:  # objects with different memory frames (or brand new): one aggregation of all
            prob = aggregate_groups([([obj_ids.index(o) for o in ids], out.logits)
                                     for ids, _, _, out in group_outputs],
                                    len(obj_ids))  # [1, K+1, H'', W'']
        covered = sum(len(ids) for ids, *_ in group_outputs) == len(obj_ids)
        visuals = (collect_visuals(group_outputs, obj_ids, geom, self.model.cfg.fam.grid_factor)
                   if want_vis and covered else None)
        return prob, visuals

    def _global_memory(self, session: InferenceSession, ids: list[int],
                       entries: list[MemoryEntry]) -> MemoryInputs:
        """Global key/value of `ids`, prepared (P_0, augmented keys, token-major values). They
        change only when the bank does (§6 #16): built once per bank version, not per frame."""
        key = (session.memory.version, tuple(ids))
        cached = session.memory_cache.get(key)
        if cached is None:
            session.memory_cache = {k: v for k, v in session.memory_cache.items()
                                    if k[0] == session.memory.version}
            global_key, global_value = MemoryBank.stack(entries, ids)
            cached = self._stages(session).prepare_memory(
                MemoryInputs(global_key, global_value, None, None))
            session.memory_cache[key] = cached
        return cached

    def _memorize(self, session, frame_idx, image_t, feats, prob, origin) -> None:
        """Encode this frame's value (always: it is the next local memory) and let the policy
        decide whether it also joins global memory. A frame with a user annotation is
        permanent; `origin` is the pass that predicted it (see MemoryEntry.origin)."""
        permanent = frame_idx in session.annotations
        values = self._stages(session).encode_value(image_t, feats,
                                                    prob[:, 1:].to(feats.key.dtype))[0]
        entry = MemoryEntry(frame_idx, feats.key[0],
                            {obj_id: values[i] for i, obj_id in enumerate(session.obj_ids)},
                            permanent=permanent, origin=None if permanent else origin)
        session.recent.append(entry)
        session.frames_since_memory += 1
        due = session.config.working_memory and \
            session.frames_since_memory >= session.config.mem_every
        if permanent or not session.has_memory or due:
            lookup = torch.tensor([0, *session.obj_ids], dtype=torch.uint8)
            entry.held = lookup[prob[0, :, ::4, ::4].argmax(0).cpu()].numpy()  # [H''/4, W''/4]
            session.memory.add(entry)
            session.frames_since_memory = 0

    def _finalize(self, session, frame_idx, prob, mask, geom, visuals, held,
                  from_user: bool) -> StepOutput:
        """The frame's StepOutput; `mask`: the user's annotation when it settles every object
        (it is returned exactly), else None."""
        return step_output(frame_idx, tuple(session.obj_ids), prob, mask, geom,
                           visuals=visuals, memory_held=held, from_user=from_user)
