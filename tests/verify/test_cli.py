"""python -m verify: the grader's tool and the project's check table."""
import subprocess
import sys
import textwrap


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, cwd=cwd)


def test_check_accepts_a_correct_student_formula(tmp_path):
    (tmp_path / "student.py").write_text(textwrap.dedent("""
        import numpy as np
        def grad_b(X, W, b, delta):
            return np.sum(delta)
    """))
    out = run("check", "t1.db", f"{tmp_path / 'student.py'}:grad_b")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "correct" in out.stdout


def test_check_rejects_a_wrong_student_formula_with_a_counterexample(tmp_path):
    (tmp_path / "student.py").write_text(textwrap.dedent("""
        import numpy as np
        def grad(x, delta):
            return delta * (1 - np.tanh(x))
    """))
    out = run("check", "t2.tanh", f"{tmp_path / 'student.py'}:grad")
    assert out.returncode == 1
    assert "WRONG" in out.stdout and "counterexample" in out.stdout and "expected gradient" in out.stdout


def test_check_explains_a_bad_argument(tmp_path):
    out = run("check", "t1.dX", str(tmp_path / "missing.py:f"))
    assert out.returncode != 0 and "no such file" in out.stderr


def test_without_arguments_every_check_of_the_project_runs_as_a_table():
    out = run()
    assert out.returncode == 0, out.stderr
    assert "t1.dX.vectorized" in out.stdout and "t2.maxpool.ties" in out.stdout
    last = out.stdout.strip().splitlines()[-1]
    passed, total = last.split()[0], last.split()[2]
    assert last.endswith("checks passed") and passed == total
