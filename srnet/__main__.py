"""`python -m srnet {segment,bench,train,eval} ...`: one dispatcher, one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Subcommand → module exposing add_parser(subparsers); imported lazily so `segment` never pays for
# the training stack (and a missing optional piece breaks only its own subcommand).
SUBCOMMANDS = {
    "segment": "srnet.cli",
    "bench": "srnet.cli",
    "train": "srnet.train.cli",
    "eval": "srnet.eval.cli",
    "train-clicks": "srnet.interactive.cli",
    "clicks-eval": "srnet.interactive.cli",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m srnet", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    wanted = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    for module_name in dict.fromkeys(SUBCOMMANDS.values()):
        if wanted is not None and SUBCOMMANDS[wanted] != module_name:
            continue
        try:
            importlib.import_module(module_name).add_parser(subparsers)
        except ImportError as exc:  # only reachable for --help without a subcommand
            if wanted is not None:
                raise
            print(f"(subcommand module {module_name} unavailable: {exc})", file=sys.stderr)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
