"""Loading the homework: a broken module or an operation that cannot be checked stops the build, named."""
from __future__ import annotations

import shutil
import sys

import pytest

from pipeline import load
from pipeline.errors import SolutionError

from ..conftest import ROOT


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A copy of solutions/ importable under another name, to break."""
    copy = tmp_path / "brokenhw"
    shutil.copytree(ROOT / "solutions", copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield copy
    for name in [m for m in sys.modules if m == "brokenhw" or m.startswith("brokenhw.")]:
        del sys.modules[name]


def test_a_module_that_raises_is_reported_with_its_file_and_line(package):
    text = (package / "t2_tanh.py").read_text()
    (package / "t2_tanh.py").write_text(text.replace("def forward(x):", "1 / 0\n\n\ndef forward(x):"))
    line = text[:text.index("def forward(x):")].count("\n") + 1
    with pytest.raises(SolutionError,
                       match=rf"brokenhw/t2_tanh.py:{line}: cannot load the homework: ZeroDivisionError"):
        load.load("brokenhw")


def test_an_operation_that_cannot_run_on_sympy_values_names_the_part_the_domain_and_the_reason(package):
    text = (package / "t2_tanh.py").read_text()
    (package / "t2_tanh.py").write_text(text.replace("return ops.tanh(x)", "return np.tanh(x)"))
    with pytest.raises(SolutionError) as failure:
        load.load("brokenhw")
    message = str(failure.value)
    assert "brokenhw/t2_tanh.py: operation t2.tanh cannot be evaluated on sympy values (exact checks)" in message


def test_a_part_without_a_result_names_its_module(package):
    text = (package / "t2_avgpool.py").read_text()
    (package / "t2_avgpool.py").write_text(text.replace('PART = Part("t2.avgpool", "Average pooling", 5, (RESULT,)',
                                                        'PART = Part("t2.avgpool", "Average pooling", 5, ()'))
    with pytest.raises(SolutionError,
                       match="brokenhw/t2_avgpool.py: part t2.avgpool has points but no gradable result"):
        load.load("brokenhw")
