"""Stage 1: load the homework (the checked mathematics) and make sure it can be checked at all."""
from __future__ import annotations

import importlib
import traceback
from pathlib import Path

from verify import variants
from verify.homework import Homework, HomeworkError

from .errors import SolutionError


def load(package: str = "solutions", variant: str = "") -> Homework:
    """Import the homework package (or one of its variants, by name: verify.variants); a broken module is
    reported with its file and line."""
    try:
        importlib.invalidate_caches()
        homework = Homework.discover(package) if not variant else variants.load(package, variant)
    except (HomeworkError, variants.VariantError) as exc:
        raise SolutionError(str(exc)) from None
    except KeyError as exc:   # no variant of that name
        raise SolutionError(f"{package}/__init__.py: {exc.args[0]}") from None
    except Exception as exc:
        frame = _innermost_own_frame(exc)
        raise SolutionError(f"{frame}: cannot load the homework: {type(exc).__name__}: {exc}") from None
    problems = [problem for unit in homework.units for problem in _domains(package, unit)]
    if problems:
        raise SolutionError("\n".join(problems))
    return homework


def _innermost_own_frame(exc: BaseException) -> str:
    """The deepest frame in the homework's own files (not in the libraries it calls)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/site-packages/" not in f.filename and "/lib/python" not in f.filename]
    frame = (own or frames)[-1]
    path = Path(frame.filename)
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    return f"{shown}:{frame.lineno}"


def _domains(package: str, unit) -> list[str]:
    """Every operation of a unit must run on floats, complex numbers and sympy values."""
    operations = {id(s.operation): s.operation for s in unit.steps if s.operation is not None}
    for part in [unit.part] if unit.part else (unit.question.parts if unit.question else ()):
        for result in part.results:
            operations.update({id(g.operation): g.operation for g in result.conventions.values()})
    problems = []
    for op in operations.values():
        for domain, reason in op.domain_failures():
            problems.append(f"{package}/{unit.module}.py: operation {op.name} cannot be evaluated on {domain}: "
                            f"{reason}")
    return problems
