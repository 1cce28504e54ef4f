"""verify: machine checks of gradient formulas, and the library of a verified homework.

    >>> import verify
    >>> verify.check("t1.db", lambda X, W, b, delta: delta.sum()).passed
    True

`check(result, candidate)` tests a NumPy gradient formula, in this process,
against the forward operation by independent methods (see `verify.engine`);
use it for trusted code such as a key's own formulas.  Students' files go
through `python -m verify`, which runs them in a separate, limited process
(see `verify.sandbox`).  `check_step(step)` tests one displayed step of a
derivation (see `verify.steps`).  A homework is a package of question and
part modules (see `verify.homework`).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Counterexample, Gradient, Verdict
    from .engine import check as check_gradient
    from .homework import Homework, HomeworkError, Result
    from .homework import load as load_homework
    from .operation import Operation
    from .steps import Kind, Step, check_step

# The names above, imported on first use: `python -m verify` imports this package before its own
# code runs, and sympy alone takes ~0.4 s, during which a Ctrl-C would end the grader with a
# traceback instead of its one line (verify.cli installs its handlers first, then imports).
_WHERE = {"Counterexample": ("engine", "Counterexample"), "Gradient": ("engine", "Gradient"),
          "Verdict": ("engine", "Verdict"), "check_gradient": ("engine", "check"),
          "Homework": ("homework", "Homework"), "HomeworkError": ("homework", "HomeworkError"),
          "Result": ("homework", "Result"), "load_homework": ("homework", "load"),
          "Operation": ("operation", "Operation"), "Kind": ("steps", "Kind"), "Step": ("steps", "Step"),
          "check_step": ("steps", "check_step")}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value
    return value


def check(result: str | Result | Gradient, candidate: Callable, *, convention: str | None = None,
          seed: int | None = None, exact: bool = True, float_sizes=None, homework: Homework | None = None) -> Verdict:
    """Check a candidate gradient formula for a result of the installed homework (e.g. "t1.dX").

    `convention` picks the forward pass the candidate is judged against (e.g.
    "convolution" for t1.dX, t1.dW, t1.db); by default the result's first.
    `seed` repeats the random case of an earlier run.  In-process: for
    trusted code only.
    """
    from .engine import Gradient
    from .engine import check as check_gradient
    from .homework import Result
    from .homework import load as load_homework
    if isinstance(result, Gradient):
        if convention is not None:
            raise ValueError("a convention applies to a result, not to a single gradient")
        return check_gradient(result, candidate, exact=exact, seed=seed, float_sizes=float_sizes)
    found = result if isinstance(result, Result) else (homework or load_homework()).result(result)
    return check_gradient(found.gradient(convention), candidate, exact=exact, seed=seed, float_sizes=float_sizes,
                          subject=found.id)


__all__ = ["Counterexample", "Gradient", "Homework", "HomeworkError", "Kind", "Operation", "Result", "Step",
           "Verdict", "check", "check_gradient", "check_step", "load_homework"]
