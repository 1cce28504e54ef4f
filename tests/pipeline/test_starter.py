"""The students' starter file: generated from the registry, graded cleanly (every result wrong, none an error)."""
from __future__ import annotations

import ast
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.starter import starter

ROOT = Path(__file__).resolve().parents[2]


def test_the_starter_defines_each_result_with_the_graders_signature_and_no_formula(homework):
    tree = ast.parse(starter(homework))
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert list(functions) == [r.function_name for p in homework.parts for r in p.results]
    for result in homework.results.values():
        function = functions[result.function_name]
        assert [a.arg for a in function.args.args] == list(result.gradient().operation.candidate_arguments)
        assert ast.get_docstring(function)
        assert [type(s) for s in function.body] == [ast.Expr, ast.Raise]   # a docstring, then no formula


@pytest.mark.sandbox
def test_the_grader_judges_the_starter_cleanly(homework, tmp_path):
    (tmp_path / "class" / "student").mkdir(parents=True)
    (tmp_path / "class" / "student" / homework.submission_file).write_text(starter(homework))
    done = subprocess.run([sys.executable, "-m", "verify", "grade", "class", "--csv", "grades.csv", "--jobs", "1"],
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    with open(tmp_path / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["result"] for r in rows] == list(homework.results)
    assert {r["verdict"] for r in rows} == {"wrong"} and {r["points"] for r in rows} == {"0"}
    feedback = (tmp_path / "feedback" / "student.txt").read_text()
    assert "NotImplementedError" in feedback


def test_an_integer_setting_is_documented_with_its_range(homework):
    """Each setting's line gives its range from the operation's data (the registry's parts, and a label c)."""
    import sympy as sp

    from pipeline.starter import _function
    from verify import ops
    from verify.engine import Gradient
    from verify.homework import Criterion, Part, Result, Rubric
    from verify.operation import Operation
    d = sp.Symbol("d", integer=True, positive=True)
    op = Operation("t9.ce", lambda z, c: ops.log(ops.exp(z).sum()) - z[c], ("z", "c"), {"z": (d,)}, "ell",
                   exact_sizes=({"d": 2, "c": 0},), float_sizes=({"d": 3, "c": 1},),
                   size_ranges={"d": (2, 5000), "c": (0, 4999)}, allowed=lambda s: s["c"] < s["d"])
    result = Result("t9.ce", {"default": Gradient(op, "z", None)})
    label = Part("t9.ce", "Cross-entropy", 2, (result,), Rubric((Criterion("all", 2, "all", "All."),)), question="T9",
                 number=1)
    assert "        c: an integer setting, 0 to 4999, passed as the forward pass takes it" in \
        _function(homework, label, result).splitlines()
    for part in homework.parts:
        for res in part.results:
            op = res.gradient().operation
            lines = _function(homework, part, res).splitlines()
            for name in op.settings:
                low, high = op.size_ranges[name]
                assert f"        {name}: an integer setting, {low} to {high}, passed as the forward pass takes it" \
                    in lines
