"""Argument types shared by the `python -m srnet` subcommands: a malformed value is answered at
parse time with one line that names the argument and what it expects (exit code 2), never a
traceback.

Each type raises `argparse.ArgumentTypeError`; argparse prefixes the argument's name. Subparsers
passed through `one_line_errors` print that message as a single line (no usage block).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from srnet.config import MIN_SHORT_SIDE


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make `parser.error` print `PROG: error: MESSAGE (see PROG --help)` and exit 2."""

    def error(message: str) -> NoReturn:
        text = " ".join(message.split())  # one line, whatever the message held
        parser.exit(2, f"{parser.prog}: error: {text} (see {parser.prog} --help)\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message squeezed onto one line (torch's load errors span paragraphs)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer in [low, high] (high None = unbounded)."""
    span = f"an integer ≥ {low}" if high is None else f"an integer from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {span}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {span}, got {value}")
        return value

    return parse


positive_int = bounded_int(1)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def probability(text: str) -> float:
    """A share or probability from 0 to 1 (both included)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to 1, got {text!r}")
    return value


def short_side(text: str) -> int:
    """An internal short side: ≥ 64 pixels (4 cells of the network's stride-16 grid; at 32
    the shipped model lost its objects after the first frame)."""
    return bounded_int(MIN_SHORT_SIDE, 4096)(text)


def frame_size(text: str) -> tuple[int, int]:
    """HxW, e.g. 480x854, both sides 32 to 4096 pixels."""
    parts = text.lower().split("x")
    expects = f"expected HxW with both sides from 32 to 4096 pixels, e.g. 480x854; got {text!r}"
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(expects)
    height, width = (int(p) for p in parts)
    if not (32 <= height <= 4096 and 32 <= width <= 4096):
        raise argparse.ArgumentTypeError(expects)
    return height, width


def _existing(text: str, is_kind: str, noun: str, other: str) -> Path:
    """`text` as a Path when `Path.<is_kind>()` holds, else an argparse error naming what it is."""
    path = Path(text)
    if not getattr(path, is_kind)():
        what = other if path.exists() else "missing"
        raise argparse.ArgumentTypeError(f"expected an existing {noun}, {text!r} is {what}")
    return path


def existing_file(text: str) -> Path:
    return _existing(text, "is_file", "file", "a folder")


def existing_dir(text: str) -> Path:
    return _existing(text, "is_dir", "folder", "a file")


def device_name(text: str) -> str:
    """cpu or cuda; cuda only where torch sees a CUDA device (checked at parse time, so every
    subcommand answers the same one line instead of failing later inside the engine)."""
    if text not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"expected cpu or cuda, got {text!r}")
    import torch

    if text == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError("cuda was requested but this machine has no CUDA "
                                         "device; use --device cpu (or leave --device out)")
    return text


def backend_name(text: str) -> str:
    """torch, onnxruntime, openvino or auto; a compiled runtime must be installed (checked at
    parse time, so a missing package is one line naming the pip package)."""
    from srnet.inference.backends import BACKENDS, backend_available

    if text != "auto" and text not in BACKENDS:
        raise argparse.ArgumentTypeError(
            f"expected one of auto, {', '.join(BACKENDS)}; got {text!r}")
    if text != "auto" and not backend_available(text):
        raise argparse.ArgumentTypeError(
            f"{text} is not installed here (pip install {text}); use --backend torch")
    return text


def output_dir(text: str) -> Path:
    """A folder to write into: may not exist yet, but must not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"expected an output folder, {text!r} is a file")
    return path


def checkpoint_file(text: str) -> Path:
    """An SRNet checkpoint: an existing file in torch's zip format (`torch.save`). The full
    validation (config, weights) happens at load time, also reported in one line."""
    path = existing_file(text)
    if not zipfile.is_zipfile(path):
        raise argparse.ArgumentTypeError(
            f"expected an SRNet checkpoint (.pt written by srnet, e.g. assets/srnet_lite.pt), "
            f"{text!r} is not a torch checkpoint file")
    return path


def davis_root(text: str) -> Path:
    """A DAVIS-layout root: a folder with JPEGImages/ and Annotations/."""
    path = existing_dir(text)
    missing = [name for name in ("JPEGImages", "Annotations") if not (path / name).is_dir()]
    if missing:
        raise argparse.ArgumentTypeError(
            f"expected a DAVIS-layout root with JPEGImages/ and Annotations/, {text!r} has no "
            f"{' or '.join(name + '/' for name in missing)}")
    return path


def name_list(text: str) -> list[str]:
    """Comma-separated non-empty names, e.g. bear,car-turn."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def int_list(text: str) -> list[int]:
    """Comma-separated positive integers, e.g. 480,384."""
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers, e.g. 480,384; got {text!r}")
    return values


class ArgumentValueError(ValueError):
    """A value that parsed but does not fit (the data, the checkpoint, another flag); reported
    as `argument NAME: message` by `fail`. `argument` None = a combination of flags."""

    def __init__(self, argument: str | None, message: str) -> None:
        super().__init__(message)
        self.argument = argument


def fail(argument: str | None, message: str, command: str | None = None) -> int:
    """Report a value that only turned out bad after parsing (e.g. a checkpoint that does not
    load) on one line to stderr, in argparse's format; returns the exit code 2."""
    prog = " ".join(filter(None, ("python -m srnet", command)))
    where = f"argument {argument}: " if argument else ""
    print(f"{prog}: error: {where}{first_line(Exception(message))}", file=sys.stderr)
    return 2


MEMORY_KNOBS = {  # flag → (InferenceConfig field, help)
    "--mem-every": ("mem_every", "a processed frame joins global memory every N frames "
                                 "(default 5)"),
    "--top-k": ("top_k", "top-k of the memory read (default 20)"),
    "--local-interval": ("local_interval", "the local memory is frame t - N (default 1)"),
    "--max-working": ("max_working_frames", "at most N working-memory frames (default 10)"),
}


def add_memory_args(parser: argparse.ArgumentParser, adapt: bool = True) -> None:
    """The memory knobs of `InferenceConfig` as flags (unset = the config's default);
    `adapt`: also `--adapt-steps` (not for `bench`, which times propagation alone)."""
    group = parser.add_argument_group("memory (as the demo's Advanced panel)")
    for flag, (_, text) in MEMORY_KNOBS.items():
        group.add_argument(flag, type=positive_int, default=None, metavar="N", help=text)
    group.add_argument("--mirror-average", action="store_true",
                       help="average every frame with its mirror image (test-time "
                            "augmentation: half the speed, about +0.2-0.5 J&F)")
    if not adapt:
        return
    group.add_argument("--adapt-steps", type=positive_int, default=None, metavar="N",
                       help="online adaptation: fine-tune a copy of the network for N steps "
                            "on the first annotated frame before propagating (100: about +1 "
                            "J&F on the holdout, 76 s on a 2-core CPU)")


def memory_kwargs(args: argparse.Namespace) -> dict[str, int | bool]:
    """The memory flags that were given, as `InferenceConfig` keyword arguments."""
    given = {field: getattr(args, flag[2:].replace("-", "_"))
             for flag, (field, _) in MEMORY_KNOBS.items()}
    given["mirror_average"] = args.mirror_average or None
    given["adapt_steps"] = getattr(args, "adapt_steps", None)
    return {field: value for field, value in given.items() if value is not None}
