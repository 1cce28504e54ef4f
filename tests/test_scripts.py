"""The instructor's helper scripts: `make symbols` lists what the homework's symbols module defines."""
from __future__ import annotations

import importlib.util

import sympy as sp

import solutions.symbols

from .conftest import ROOT


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_symbols_lists_every_shared_symbol_with_its_kind(capsys):
    symbols = _script("symbols")
    assert symbols.main(["solutions"]) == 0
    out = capsys.readouterr().out
    defined = [name for name, value in vars(solutions.symbols).items()
               if not name.startswith("_") and isinstance(value, (sp.Symbol, sp.IndexedBase))]
    listed = [line.split()[0] for line in out.splitlines()[2:]]
    assert listed == defined   # every one, in the module's order, whatever the module defines by now
    kinds = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "size (positive integer)" in kinds["m"] and "index (integer)" in kinds["k"]
    assert "array, shape (d,)" in kinds["delta_v"] and "real variable" in kinds["t"]


def test_make_symbols_of_a_package_without_symbols_is_one_line(capsys):
    assert _script("symbols").main(["no_such_homework"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: no_such_homework/symbols.py:")
