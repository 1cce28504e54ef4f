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
