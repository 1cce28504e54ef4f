"""Per-student variants of a homework: what its parts may vary, what varies this term, who gets which.

A unit module declares what may vary, each as a finite set whose first value is the base homework's:

    VARIES = {"example": (0, 1, 2, 3, 4)}        # values the module reads itself:
    VARIANT = variants.chosen(__name__, VARIES)  # {"example": 3} in the variant that chose 3

    VARIES = {"activation": {"tanh": "t2_tanh", "sigmoid": "t2_sigmoid"}}
        # values that are modules: under "sigmoid" the unit is t2_sigmoid (a part of its own, with its
        # template, steps, rubric and common answers) in place of t2_tanh; the base discovers t2_tanh alone

The homework package's __init__.py says which of them vary this term, and gives the course's seed:

    TERM = variants.Term(seed=4732026, vary=("t1.example", "t2_tanh.activation"))

The variants are every combination of the varied parameters' values (the base homework is the first);
a student's is drawn from the seed and the student's email by a hash, so adding a student never moves
another.  `load(package, variant)` builds a variant's registry in this process: the package's modules
are imported afresh with the variant's values selected, every step and result then follows from them,
and the modules already imported (the base's) are left as they were.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import pkgutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np


class VariantError(Exception):
    """A declaration of variants that does not make sense; the message names the file to fix."""


@dataclass(frozen=True)
class Term:
    """This term's variants: the course's seed and the parameters that vary ("unit.name", as declared)."""
    seed: int
    vary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parameter:
    """What a unit declares may vary: its values (the first is the base's), and for a parameter whose
    values are modules, the module of each value."""
    unit: str
    name: str
    values: tuple[Any, ...]
    modules: Mapping[Any, str] | None = None

    @property
    def id(self) -> str:
        return f"{self.unit}.{self.name}"

    def label(self, value: Any) -> str:
        """The value in a variant's name: a word as it is, a number after the parameter's name."""
        return str(value) if isinstance(value, str) else f"{self.name}{value}"


@dataclass(frozen=True)
class Variant:
    """One choice of a value for every parameter that varies this term."""
    choice: tuple[tuple[str, Any], ...]
    name: str

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.choice)


# ---- what a module reads while it is imported -----------------------------------------------------------
_SELECTED: dict[str, Any] = {}     # parameter id -> value, for the variant being imported


def _first(values) -> Any:
    return next(iter(values))


def chosen(module: str, varies: Mapping[str, Any]) -> dict[str, Any]:
    """The values a unit module reads: those of the variant being imported, else the base's (the first)."""
    unit = module.rsplit(".", 1)[-1]
    return {name: _SELECTED.get(f"{unit}.{name}", _first(values)) for name, values in varies.items()}


def left_out(modules: Mapping[str, Any]) -> set[str]:
    """The modules that stand for a value not chosen (`Homework.discover` leaves them out)."""
    out: set[str] = set()
    for unit, module in modules.items():
        for name, values in (getattr(module, "VARIES", None) or {}).items():
            if isinstance(values, Mapping):
                selected = values[_SELECTED.get(f"{unit}.{name}", _first(values))]
                out |= {m for m in values.values() if m != selected}
    return out


def generator(module: str, value: Any) -> np.random.Generator:
    """Numbers drawn from the course's seed for one value of a unit's parameter (a worked example's)."""
    package, unit = module.rsplit(".", 1)
    digest = hashlib.sha256(f"{term(package).seed}\x1f{unit}\x1f{value}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


# ---- the declarations -------------------------------------------------------------------------------------
def term(package: str) -> Term:
    """The package's TERM (no variants when it declares none)."""
    declared = getattr(importlib.import_module(package), "TERM", None)
    if declared is None:
        return Term(seed=0)
    if not isinstance(declared, Term):
        raise VariantError(f"{package}/__init__.py: TERM is a {type(declared).__name__}, not a "
                           "verify.variants.Term(seed=..., vary=(...))")
    return declared


def parameters(package: str) -> dict[str, Parameter]:
    """Every parameter the package's units declare, by id ("t1.example"), in the modules' order."""
    root = importlib.import_module(package)
    found: dict[str, Parameter] = {}
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        for name, values in (getattr(module, "VARIES", None) or {}).items():
            modules = dict(values) if isinstance(values, Mapping) else None
            listed = tuple(values)
            if not listed or len(set(map(repr, listed))) != len(listed):
                raise VariantError(f"{package}/{info.name}.py: VARIES[{name!r}] must be a finite set of distinct "
                                   f"values, the base's first")
            found[f"{info.name}.{name}"] = Parameter(info.name, name, listed, modules)
    return found


def varied(package: str) -> list[Parameter]:
    """The parameters that vary this term, in the order of TERM.vary."""
    declared, chosen_ = parameters(package), term(package).vary
    unknown = [pid for pid in chosen_ if pid not in declared]
    if unknown:
        import difflib
        close = difflib.get_close_matches(unknown[0], list(declared), n=1)
        raise VariantError(f"{package}/__init__.py: TERM varies {unknown[0]!r}, which no unit declares"
                           + (f" (did you mean {close[0]!r}?)" if close else f"; declared: {', '.join(declared)}"))
    return [declared[pid] for pid in chosen_]


def variants(package: str) -> list[Variant]:
    """Every variant of this term, the base homework's first."""
    params = varied(package)
    return [Variant(tuple((p.id, v) for p, v in zip(params, values)),
                    "-".join(p.label(v) for p, v in zip(params, values)) or "base")
            for values in itertools.product(*(p.values for p in params))]


def named(package: str, name: str) -> Variant:
    """The variant of this term with that name (KeyError, with the names, if none)."""
    found = {v.name: v for v in variants(package)}
    if name not in found:
        raise KeyError(f"no variant {name!r} this term" + (f"; there are {len(found)}: {', '.join(found)}"
                                                           if len(found) < 40 else ""))
    return found[name]


def assign(email: str, package: str, among: Sequence[Variant] | None = None) -> Variant:
    """A student's variant: a hash of the course's seed and the email (trimmed, in lower case), so that
    adding or removing a student never moves another."""
    among = list(among) if among is not None else variants(package)
    key = f"{term(package).seed}\x1f{email.strip().lower()}".encode()
    return among[int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % len(among)]


# ---- a variant's registry -----------------------------------------------------------------------------------
@contextlib.contextmanager
def selected(variant: Variant) -> Iterator[None]:
    """The variant's values, for the modules imported meanwhile to read."""
    saved = dict(_SELECTED)
    _SELECTED.clear()
    _SELECTED.update(variant.values)
    try:
        yield
    finally:
        _SELECTED.clear()
        _SELECTED.update(saved)


_LOADED: dict[tuple[str, str], Any] = {}


def load(package: str, variant: Variant | str | None = None):
    """The registry (a `verify.homework.Homework`) of a variant, built once per process; the base
    homework's own registry (`verify.homework.load`) when the variant is the base."""
    from .homework import Homework
    from .homework import load as load_base
    if variant is None:
        return load_base(package)
    if isinstance(variant, str):
        variant = named(package, variant)
    key = (package, variant.name)
    if key not in _LOADED:
        if variant == variants(package)[0]:
            _LOADED[key] = replace(load_base(package), variant=variant.name)
        else:
            _LOADED[key] = replace(fresh(package, variant, Homework.discover), variant=variant.name)
    return _LOADED[key]


def fresh(package: str, variant: Variant, discover) -> Any:
    """discover(package) with the package's modules imported anew under the variant's values; the
    modules imported before (the base's) are put back afterwards, so other code keeps seeing them."""
    prefix = package + "."
    root = importlib.import_module(package)
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if name.startswith(prefix)}
    attributes = dict(vars(root))   # importing a submodule binds it on the package too: put those back
    try:
        with selected(variant):
            return discover(package)
    finally:
        for name in [name for name in sys.modules if name.startswith(prefix)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name in [name for name in vars(root) if name not in attributes]:
            delattr(root, name)
        for name, value in attributes.items():
            setattr(root, name, value)


# ---- grading a class against its variants ----------------------------------------------------------------
def by_variant(package: str, folders: Sequence[Any], students: Sequence[Any]) -> list[tuple[Variant, list[Any]]]:
    """The submission folders grouped by their students' variants, in the term's order.  A folder is named
    after its student's email (Gradescope's export) or SID; VariantError names a folder the roster lacks."""
    every = variants(package)
    known: dict[str, Any] = {}
    for student in students:
        known[student.email.strip().lower()] = student
        if student.sid:
            known.setdefault(student.sid.strip().lower(), student)
    groups: dict[str, list[Any]] = {}
    for folder in folders:
        student = known.get(folder.name.strip().lower())
        if student is None:
            raise VariantError(f"{folder}: no student of the roster has this email or SID (a submission folder is "
                               "named after its student's email or SID)")
        groups.setdefault(assign(student.email, package, every).name, []).append(folder)
    return [(v, groups[v.name]) for v in every if v.name in groups]
