"""`make symbols`: the shared symbols a part may import, read from the homework's own symbols module.

The list is never kept by hand: it is whatever `<package>/symbols.py` defines, in its order, with the
kind of each symbol (from its sympy assumptions) and how the documents print it.
"""
from __future__ import annotations

import importlib
import sys

import sympy as sp


def kind(value: sp.Basic) -> str:
    if isinstance(value, sp.IndexedBase):
        return "array" + (f", shape {tuple(value.shape)}" if value.shape is not None else "")
    if value.is_integer and value.is_positive:
        return "size (positive integer)"
    if value.is_integer:
        return "index (integer)"
    if value.is_real:
        return "real variable"
    return "number"


def rows(package: str) -> list[tuple[str, str, str]]:
    """(name to import, kind, LaTeX) of every sympy symbol and array the package's symbols module defines."""
    module = importlib.import_module(f"{package}.symbols")
    try:
        latex = importlib.import_module(f"{package}.notation").latex
    except (ImportError, AttributeError):
        latex = sp.latex
    return [(name, kind(value), latex(value)) for name, value in vars(module).items()
            if not name.startswith("_") and isinstance(value, (sp.Symbol, sp.IndexedBase))]


def main(argv: list[str]) -> int:
    package = argv[0] if argv else "solutions"
    try:
        found = rows(package)
    except ModuleNotFoundError as missing:
        print(f"error: {package}/symbols.py: cannot be imported ({missing}); a homework's shared symbols live "
              "there", file=sys.stderr)
        return 4
    table = [("name", "kind", "LaTeX"), *found]
    widths = [max(len(row[c]) for row in table) for c in range(2)]
    print(f"The shared symbols of {package} ({package}/symbols.py); a module imports them with "
          f"`from .symbols import <name>`:")
    for name, what, tex in table:
        print(f"  {name.ljust(widths[0])}  {what.ljust(widths[1])}  {tex}")
    return 0


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `make symbols | head` ends quietly
    sys.exit(main(sys.argv[1:]))
