"""The instructor's helper scripts: `make symbols` lists what a module may use, read from the code itself."""
from __future__ import annotations

import importlib.util
import inspect

import sympy as sp

import solutions.rubric
import solutions.symbols
import solutions.t2
from verify import symbolic
from verify.homework import Deduction
from verify.steps import Step

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
    table = out.split("\n\n")[0].splitlines()[2:]
    listed = [line.split()[0] for line in table]
    assert listed == defined   # every one, in the module's order, whatever the module defines by now
    kinds = {line.split()[0]: line for line in table}
    assert "size (positive integer)" in kinds["m"] and "index (integer)" in kinds["k"]
    assert "array, shape (d,)" in kinds["delta_v"] and "real variable" in kinds["t"]


def test_make_symbols_of_a_package_without_symbols_is_one_line(capsys):
    assert _script("symbols").main(["no_such_homework"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: no_such_homework/symbols.py:")


def _section(out: str, heading: str) -> list[str]:
    return next(block for block in out.split("\n\n") if block.startswith(heading)).splitlines()[1:]


def test_make_symbols_lists_the_shared_deductions_with_the_criteria_they_charge(capsys):
    assert _script("symbols").main(["solutions"]) == 0
    lines = _section(capsys.readouterr().out, "The shared deductions")
    for module in (solutions.rubric, solutions.t2):
        for name, value in vars(module).items():
            if isinstance(value, Deduction) and not name.startswith("_"):
                line = next(q for q in lines if q.strip().startswith(f"{name}:"))
                assert f"id {value.id!r}" in line
                assert (f"charges {', '.join(value.charges)}" if value.charges else "charges no criterion") in line
    routing = next(q for q in lines if q.strip().startswith("wrong_routing("))
    assert "charges: tuple[str, ...] = ('local', 'result')" in routing and "from .t2 import wrong_routing" in routing


def test_make_symbols_lists_every_step_constructor_and_every_node(capsys):
    assert _script("symbols").main(["solutions"]) == 0
    out = capsys.readouterr().out
    steps = "\n".join(_section(out, "The steps' constructors"))
    for name, raw in vars(Step).items():
        if isinstance(raw, classmethod) and not name.startswith("_"):
            assert f"Step.{name}(" in steps
            assert inspect.getdoc(getattr(Step, name)).splitlines()[0] in steps
    assert "operation: Operation" in steps and "'Operation'" not in steps    # annotations read as written
    nodes = _section(out, "The vocabulary of formulas")
    for name, value in vars(symbolic).items():
        if inspect.isclass(value) and issubclass(value, symbolic.Node) and value.__module__ == symbolic.__name__:
            assert sum(line.strip().startswith(f"{name} (") for line in nodes) == 1, name
    assert any(line.strip().startswith("Hadamard (2 arguments): ") for line in nodes)


def test_make_symbols_lists_the_declarations_and_the_homeworks_own_helpers(capsys):
    import dataclasses

    from verify import homework
    assert _script("symbols").main(["solutions"]) == 0
    out = capsys.readouterr().out
    declared = "\n".join(_section(out, "What a module declares"))
    for name, value in vars(homework).items():
        if inspect.isclass(value) and dataclasses.is_dataclass(value) and value.__module__ == homework.__name__:
            assert f"\n  {name}(" in "\n" + declared, name
    assert "  Operation(name: str, forward: " in declared and "  Gradient(operation: Operation, wrt: str" in declared
    # a default that is a function reads as its source, never as an object's address
    assert "allowed: Callable[[Sizes], bool] = lambda sizes: True," in declared and " at 0x" not in out
    helpers = "\n".join(_section(out, "The helpers of solutions"))
    assert "illustrations(part: Part, symbols: " in helpers and "(from .illustrations import illustrations)" in helpers
    assert "forward(" not in helpers      # a part's own functions are not the homework's helpers
