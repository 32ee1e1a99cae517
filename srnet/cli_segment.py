"""`python -m srnet segment`'s files: the frames (a folder or a video), the annotations (`--mask`
or `--masks DIR`), and the output folder of palette PNGs and overlay.mp4. Each problem with
them is one line naming the argument (exit code 2), and the user's files are never written
over."""

from __future__ import annotations

import argparse
import collections
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from srnet import Predictor, fit_index_mask, load_index_mask, save_index_mask
from srnet.cli_args import fail, first_line
from srnet.eval.metrics import VOID, without_void  # DAVIS's uncertain pixels
from srnet.io import FrameFolder, iter_video, natural_key, overlay, write_mp4
from srnet.train.adapt import adapt_session

log = logging.getLogger(__name__)
STAGING = ".segment-"  # the prefix of a run's own folder inside --out, until it is complete


def segment_clip(args: argparse.Namespace, predictor: Predictor) -> int:
    """Frames stream from disk through the predictor to PNGs and the overlay mp4: memory stays
    flat however long the clip (the memory bank is capped too)."""
    try:
        if args.frames is not None:
            folder = FrameFolder(args.frames)
            frames, fps, names = iter(folder), 24.0, folder.names
        else:
            frames, fps = iter_video(args.video)
            names = None  # a video's frames are named 00000, 00001, ... as they are decoded
        annotations = _load_annotations(args, names)
    except (OSError, ValueError) as exc:  # FileNotFoundError is an OSError
        log.error("%s", first_line(exc))
        return 2
    problem = _output_problem(args, names)
    if problem:
        return fail("--out", problem, "segment")
    # the results go to a folder of their own first and replace files in --out only once the
    # whole clip ran: a frame that fails to decode halfway left a half-new folder and a short
    # overlay.mp4 in place of the last run's
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=args.out))
        results = _segment_frames(predictor, frames, names, annotations, staging)
        if args.no_video:
            collections.deque(results, maxlen=0)  # run the generator to the end
        else:
            write_mp4(staging / "overlay.mp4",
                      (overlay(frame, mask) for frame, mask in results), fps)
        for path in sorted(staging.iterdir()):
            os.replace(path, args.out / path.name)
    except ValueError as exc:  # a frame that cannot be decoded or does not fit the video
        log.error("%s (nothing in %s was changed)", exc, args.out)
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a folder where a PNG goes
        return fail("--out", f"cannot write the results: {exc}", "segment")
    finally:  # also after Ctrl-C: OUT keeps the last complete run's files
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("wrote the masks to %s", args.out)
    return 0


def _output_problem(args: argparse.Namespace, names: list[str] | None) -> str | None:
    """Why `--out` cannot take the results (None: it can, and it exists now). Results already
    there from another run are named, as new ones would mix with them. `names`: the frames'
    names (None: a video's, 00000, 00001, ...)."""
    out = Path(args.out).resolve()
    for flag, folder in (("--frames", args.frames), ("--masks", args.masks)):
        if folder is not None and out == Path(folder).resolve():
            return f"it is the {flag} folder: its files would be overwritten by the masks"
    mask = None if args.mask is None else Path(args.mask).resolve()
    if mask is not None and mask.parent == out and _is_output_name(mask.name, names):
        return f"{mask.name} would be overwritten by the result of its frame: choose another"
    stale = sorted(p.name for p in out.glob(STAGING + "*")) if out.is_dir() else []
    if stale:  # a run killed outright (Ctrl-C and errors clear theirs)
        log.warning("%s holds %d unfinished run folder(s) (%s): a killed run's masks; "
                    "delete them", out, len(stale), ", ".join(stale))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create it: {exc}"
    earlier = sorted((p.name for p in out.glob("*.png")), key=natural_key)
    if earlier:
        log.warning("%s already holds %d PNG(s) (e.g. %s): this run's masks replace those of "
                    "its own frame names only", out, len(earlier), earlier[0])
    return None


def _is_output_name(name: str, names: list[str] | None) -> bool:
    """Whether segment writes a file called `name` into --out: a frame's PNG or the video."""
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    if name == "overlay.mp4":
        return True
    return suffix == ".png" and (stem in names if names is not None else stem.isdigit())


def _segment_frames(predictor: Predictor, frames: Iterator[np.ndarray], names: list[str] | None,
                    annotations: dict[str, np.ndarray], out_dir: Path
                    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Segment frame after frame, one step at a time, writing each palette PNG; yields
    (frame, index mask). An annotated frame adds or corrects its objects; frames before the
    first annotation get empty masks."""
    session, started, unused = predictor.new_session(), False, set(annotations)
    for frame_idx, frame in enumerate(frames):
        name = names[frame_idx] if names is not None else f"{frame_idx:05d}"
        mask = annotations.get(name)
        unused.discard(name)
        if mask is not None:  # a mask drawn on a smaller copy of the frames is enlarged
            try:
                mask, note = fit_index_mask(mask, frame.shape[:2])
            except ValueError as exc:
                raise ValueError(f"the mask of frame {name}: {exc}") from None
            if note:
                log.info("frame %s: %s", name, note)
        started = started or mask is not None
        if not started:  # nothing to follow yet
            result = np.zeros(frame.shape[:2], np.uint8)
        else:
            if mask is not None and not session.has_memory:  # no-op unless --adapt-steps
                adapt_session(predictor, session, [(frame, mask)])
            try:
                result = predictor.step(session, frame_idx, frame, mask).mask
            except ValueError as exc:  # e.g. a frame of another size: name its file
                raise ValueError(f"frame {name}: {exc}") from None
        save_index_mask(out_dir / f"{name}.png", result)
        yield frame, result
    if not started:
        raise ValueError(f"the clip has no frame {', '.join(sorted(annotations))}: nothing to "
                         "follow")
    if unused:
        log.warning("the clip ended before the annotated frame(s) %s", ", ".join(sorted(unused)))


def _annotation(path: Path) -> np.ndarray:
    """One annotation file as an index mask, DAVIS's void pixels (255) dropped with a note."""
    mask = load_index_mask(path)
    if (mask == VOID).any():
        log.warning("%s: %d void pixels (255) ignored", path.name, int((mask == VOID).sum()))
        mask = without_void(mask)
    return mask


def _load_annotations(args: argparse.Namespace, names: list[str] | None
                      ) -> dict[str, np.ndarray]:
    """frame name → index mask, from `--mask` (the first frame) or `--masks DIR` (by name)."""
    if args.mask is not None:
        first = _annotation(args.mask)
        if not first.any():
            raise ValueError(f"the mask {args.mask} is empty: mark at least one object")
        return {names[0] if names else "00000": first}
    if not args.masks.is_dir():
        raise FileNotFoundError(f"--masks: no folder {args.masks}")
    pngs = sorted((p for p in args.masks.iterdir() if p.suffix.lower() == ".png"),
                  key=lambda p: natural_key(p.name))
    known = set(names) if names is not None else None
    unknown = [p.name for p in pngs if (p.stem not in known if known is not None
                                        else not p.stem.isdigit())]
    if unknown:
        example = names[0] if names else "00000"
        raise ValueError(f"--masks: {len(unknown)} file(s) name no input frame, e.g. "
                         f"{unknown[0]} (frames are named like {example})")
    frame_of = {p: f"{int(p.stem):05d}" if names is None else p.stem for p in pngs}
    if len(set(frame_of.values())) < len(pngs):  # 35.png and 035.png: one was dropped
        twins = [p.name for p in pngs if list(frame_of.values()).count(frame_of[p]) > 1]
        raise ValueError(f"--masks: {', '.join(twins[:2])} name the same frame: keep one")
    annotations = {frame_of[p]: _annotation(p) for p in pngs}
    empty = [name for name, mask in annotations.items() if not mask.any()]
    if empty:
        log.warning("--masks: %d file(s) mark no object and are skipped, e.g. %s", len(empty),
                    empty[0])
    annotations = {name: mask for name, mask in annotations.items() if mask.any()}
    if not annotations:
        raise ValueError(f"--masks: no non-empty mask PNG in {args.masks}")
    return annotations
