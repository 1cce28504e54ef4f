"""The students' starter file (output/hw4-starter.py): one function per result, as the grader calls it.

Generated from the registry, so it always matches what `python -m verify grade` expects: the
function names, their arguments in the grader's order, the shapes of the arrays, the convention
graded by default, and the points.  It holds no formula: each body raises NotImplementedError,
which the grader judges "wrong" for that result, never an error of the file.
"""
from __future__ import annotations

import sympy as sp

from verify.homework import Homework, Result
from verify.wording import plural


def starter(homework: Homework) -> str:
    """The text of the starter file."""
    identity, first = homework.identity, homework.parts[0].results[0]
    lines = [f'"""{identity.title} of {identity.course} ({identity.code}): your answers.',
             "",
             f"Rename this file {identity.submission_file} and replace each `raise NotImplementedError` by your",
             "formula, written with NumPy.  The grader calls each function with NumPy arrays (and plain",
             "numbers where an argument is a scalar) and compares what it returns with the gradient of",
             "the forward pass described in its docstring.  Check one function with",
             "",
             f"    python -m verify check {first.id} {identity.submission_file}:{first.function_name}",
             '"""',
             "import numpy as np  # noqa: F401  (your formulas use it)",
             ""]
    for part in homework.parts:
        for result in part.results:
            lines += ["", _function(homework, part, result)]
    return "\n".join(lines) + "\n"


def _function(homework: Homework, part, result: Result) -> str:
    gradient = result.gradient()
    op = gradient.operation
    arguments = op.candidate_arguments
    described = []
    for name in arguments:
        if name == "delta":
            shape = "a number" if op.scalar_output else f"an array shaped like the output {op.output}"
            described.append(f"        delta: dL/d{op.output}, {shape}")
        elif name in op.inputs:
            described.append(f"        {name}: {_shape(op.inputs[name])}")
        else:
            # its range from the operation's data, and its numbering: the forward pass's, never shifted
            span = op.size_ranges.get(name)
            described.append(f"        {name}: an integer setting" + (f", {span[0]} to {span[1]}" if span else "")
                             + ", passed as the forward pass takes it")
    returns = "a number" if not op.inputs[gradient.wrt] else f"an array shaped like {gradient.wrt}"
    forward = (op.forward.__doc__ or "").strip().splitlines()
    others = [c for c in result.conventions if c != result.default]
    body = [f"def {result.function_name}({', '.join(arguments)}):",
            f'    """{part.label} ({plural(part.points, "point")}), {part.title}: dL/d{gradient.wrt}, {returns}.',
            ""]
    if forward:
        body += [f"    The forward pass: {forward[0]}"]
    if op.index_base:
        body += [f"    The question numbers entries from {op.index_base}; NumPy arrays from 0."]
    body += [f"    Graded as the {result.default} convention" + (f" (also: {', '.join(others)})." if others else "."),
             "",
             "    Arguments:",
             *described,
             '    """',
             "    raise NotImplementedError"]
    return "\n".join(body) + "\n"


def _shape(shape: tuple) -> str:
    if not shape:
        return "a number"
    dims = ", ".join(str(sp.sympify(dim)) for dim in shape)
    return f"an array of shape ({dims}{',' if len(shape) == 1 else ''})"
