"""`make symbols`: what a module of the homework may use, read from the code itself, never from a list.

It prints, in six sections:
- the shared symbols of `<package>/symbols.py`, in its order, with the kind of each symbol (from its sympy
  assumptions) and how the documents print it;
- the shared deductions: every public module-level `Deduction` of the package (with the criterion ids it
  charges, its penalty and cap) and every public function that returns one (with its signature);
- the constructors of `verify.steps.Step`, with their signatures and the first line of their docstrings;
- the declarations of `verify.homework` (Part, Question, Rubric, ...), `Operation` and `Gradient`, likewise;
- the homework's own helpers: the public functions of its modules that declare no unit (`illustrations`);
- the nodes of `verify.symbolic` (the vocabulary of formulas) and its public helpers, one line each.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import typing
from typing import Any

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


def _first_line(thing) -> str:
    return (inspect.getdoc(thing) or "").split("\n\n")[0].replace("\n", " ")


class _Annotation:
    """An annotation kept as the string the source wrote (`from __future__ import annotations`), shown unquoted."""
    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _default(value):
    """A default as its source says it (`lambda sizes: True`), never as an object's address."""
    if not inspect.isfunction(value):
        return value
    if value.__name__ != "<lambda>":
        return _Annotation(value.__qualname__)
    try:
        line = inspect.getsource(value)
    except (OSError, TypeError):
        return _Annotation("a function")
    return _Annotation(line[line.index("lambda"):].strip().rstrip(",)"))


def _signature(function) -> str:
    signature = inspect.signature(function)
    unquoted = [q.replace(annotation=_Annotation(q.annotation) if isinstance(q.annotation, str) else q.annotation,
                          default=_default(q.default))
                for q in signature.parameters.values()]
    returned = signature.return_annotation
    return str(signature.replace(parameters=unquoted, return_annotation=_Annotation(returned)
                                 if isinstance(returned, str) else returned))


def _returns_deduction(function, deduction_class) -> bool:
    try:
        hints = typing.get_type_hints(function)
    except Exception:   # an annotation that cannot be resolved: not a deduction's factory we can name
        return False
    return hints.get("return") is deduction_class


def deductions(package: str) -> list[str]:
    """One line per shared deduction of the package: each public Deduction at a module's top level (once,
    under the first module that holds it, with the others that re-export it) and each public function
    annotated to return one."""
    from verify.homework import Deduction
    from verify.wording import plural
    root = importlib.import_module(package)
    found: dict[int, tuple[str, list[str], Any]] = {}
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("_"):
                continue
            shared = isinstance(value, Deduction) or (
                inspect.isfunction(value) and value.__module__ == module.__name__
                and _returns_deduction(value, Deduction))
            if shared:
                found.setdefault(id(value), (name, [], value))[1].append(info.name)
    lines = []
    for name, modules, value in found.values():
        where = f"(from .{modules[0]} import {name})"
        if isinstance(value, Deduction):
            costs = [f"charges {', '.join(value.charges)}" if value.charges else "charges no criterion"]
            if value.points:
                costs.append(f"{plural(value.points, 'point')} off")
            if value.cap is not None:
                costs.append(f"caps the part at {value.cap}")
            lines.append(f"{name}: id {value.id!r}, {'; '.join(costs)}; {value.name}.  {where}")
        else:
            lines.append(f"{name}{_signature(value)}: {_first_line(value)}  {where}")
    return lines


def constructors() -> list[str]:
    """`Step.<kind>(signature)`: first docstring line, for every public classmethod of Step."""
    from verify.steps import Step
    return [f"Step.{name}{_signature(getattr(Step, name))}\n      {_first_line(getattr(Step, name))}"
            for name, raw in vars(Step).items()
            if not name.startswith("_") and isinstance(raw, classmethod)]


def _arguments(node) -> str:
    """"2 arguments" from sympy's nargs (a set of the counts a Function takes); "a new notation's base" for Node."""
    counts = node.nargs
    if isinstance(counts, sp.FiniteSet) and len(counts) == 1:
        count = int(next(iter(counts)))
        return f"{count} argument" + ("s" if count != 1 else "")
    return "the base of a new notation"


def declarations() -> list[str]:
    """Every public dataclass of verify.homework (what a module declares), then the Operation and Gradient the
    recipe imports: `Name(signature)` and the first line of its docstring."""
    import dataclasses

    from verify import homework
    from verify.engine import Gradient
    from verify.operation import Operation
    own = [value for name, value in vars(homework).items() if not name.startswith("_") and inspect.isclass(value)
           and value.__module__ == homework.__name__ and dataclasses.is_dataclass(value)]
    lines = []
    for value in (*own, Operation, Gradient):
        signature = _signature(value).removesuffix(" -> None")
        written = _first_line(value)
        # a dataclass without a docstring of its own gets one that repeats its signature: no line then
        lines.append(f"{value.__name__}{signature}" + ("" if written.startswith(f"{value.__name__}(") else
                                                      f"\n      {written}"))
    return lines


def helpers(package: str) -> list[str]:
    """The public functions of the package's modules that declare no question, part or remark (its shared
    helpers, such as `illustrations`), with the line that imports each."""
    root = importlib.import_module(package)
    lines = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        if any(hasattr(module, unit) for unit in ("QUESTION", "PART", "REMARK")):
            continue
        for name, value in vars(module).items():
            if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__:
                written = _first_line(value)
                lines.append(f"{name}{_signature(value)}  (from .{info.name} import {name})"
                             + (f"\n      {written}" if written else ""))
    return lines


def vocabulary() -> list[str]:
    """Every Node of verify.symbolic (`Name/nargs`: first docstring line), then its public functions."""
    from verify import symbolic
    own = [(name, value) for name, value in vars(symbolic).items()
           if not name.startswith("_") and getattr(value, "__module__", None) == symbolic.__name__]
    nodes = [f"{name} ({_arguments(value)}): {_first_line(value)}"
             for name, value in own if inspect.isclass(value) and issubclass(value, symbolic.Node)]
    functions = [f"{name}{_signature(value)}: {_first_line(value)}"
                 for name, value in own if inspect.isfunction(value)]
    return nodes + ["functions:"] + functions


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
    sections = [
        (f"The shared deductions of {package} (give a part's rubric a criterion of each id a deduction charges):",
         deductions(package)),
        ("The steps' constructors (verify.steps.Step), one per kind:", constructors()),
        ("What a module declares (verify.homework), and its forward operation (verify.operation, verify.engine):",
         declarations()),
        (f"The helpers of {package} (its modules that declare no unit):", helpers(package)),
        ("The vocabulary of formulas (verify.symbolic): its nodes, then its functions:", vocabulary()),
    ]
    for title, lines in sections:
        print(f"\n{title}")
        for line in lines:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `make symbols | head` ends quietly
    sys.exit(main(sys.argv[1:]))
