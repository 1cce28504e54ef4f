"""verify: machine checks of the gradient formulas of Homework 4.

    >>> import verify
    >>> verify.check("t1.db", lambda X, W, b, delta: delta.sum()).passed
    True

`check(result_id, candidate)` tests a NumPy gradient formula against the
forward operation by independent methods (see `verify.engine`);
`check_step(step)` tests one equality of a derivation (see `verify.steps`).
"""
from .engine import RESULTS, CheckResult, Counterexample, check
from .reference import formula

__all__ = ["RESULTS", "CheckResult", "Counterexample", "check", "formula"]
