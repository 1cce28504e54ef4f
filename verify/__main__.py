"""Command line of verify.

    python -m verify                                   every check of the project, as a table
    python -m verify check t1.dX path/to/file.py:func  one candidate formula: verdict, exit 0 or 1
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .engine import RESULTS, check


def _load(spec: str):
    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise SystemExit(f"error: expected path/to/file.py:function, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"error: no such file: {file}")
    module_spec = importlib.util.spec_from_file_location(file.stem, file)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    try:
        return getattr(module, name)
    except AttributeError:
        raise SystemExit(f"error: {file} has no function {name!r}") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("check", help="check one candidate gradient formula")
    one.add_argument("result", choices=sorted(RESULTS), metavar="RESULT",
                     help="result id: " + ", ".join(RESULTS))
    one.add_argument("candidate", help="path/to/file.py:function")
    args = parser.parse_args(argv)
    if args.command == "check":
        outcome = check(args.result, _load(args.candidate))
        print(f"signature: {RESULTS[args.result].signature}")
        print(outcome)
        return 0 if outcome.passed else 1
    from solutions import STEPS

    from .project import run_checks, table
    reports = run_checks(STEPS.values())
    print(table(reports))
    for r in reports:
        if not r.passed:
            print(f"\n{r.question} {r.id} FAILED\n{r.counterexample}", file=sys.stderr)
    return 0 if all(r.passed for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
