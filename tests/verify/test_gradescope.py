"""Gradescope's autograder: autograder/run_autograder on a fake /autograder, and the zip that carries it."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.verify.test_grade import ANSWERED, CORRECT, FULL, replace_function
from verify import grade
from verify.homework import load

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
HW = load("solutions")
RESULTS = list(HW.results)


def run_autograder(root: Path, *args: str) -> subprocess.CompletedProcess:
    """autograder/run_autograder with AUTOGRADER_ROOT=root and this interpreter; returns the process."""
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PYTHON=sys.executable, PYTHONPATH=str(ROOT))
    return subprocess.run([str(ROOT / "autograder" / "run_autograder"), *args], env=env, capture_output=True,
                          text=True, timeout=300)


def fake_root(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "autograder"
    for name, text in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    (root / "submission").mkdir(parents=True, exist_ok=True)
    return root


def results_of(root: Path) -> dict:
    return json.loads((root / "results" / "results.json").read_text())


def title(result_id: str) -> str:
    part = HW.part_of(result_id)
    return f"{part.label} {result_id}: {part.title}"


def test_a_correct_submission_gets_every_point(tmp_path):
    root = fake_root(tmp_path, {"hw4.py": CORRECT})
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr
    results = results_of(root)
    assert results["score"] == FULL
    assert [t["name"] for t in results["tests"]] == [title(r) for r in RESULTS]
    for test, result in zip(results["tests"], RESULTS):
        assert test["max_score"] == HW.part_of(result).points
        if result in ANSWERED:
            assert test["score"] == test["max_score"]
            assert f"{result}: correct" in test["output"] and test["status"] == "passed"


def test_a_partly_wrong_submission_gets_counterexamples_and_its_output(tmp_path):
    wrong = replace_function(CORRECT, "t1_dX", "return delta")
    wrong = replace_function(wrong, "t2_tanh", 'print("tanh here")\nraise ValueError("not done yet")')
    root = fake_root(tmp_path, {"hw4.py": wrong})
    done = run_autograder(root, "--timeout", "5", "--seed", "77")
    assert done.returncode == 0, done.stderr
    results = results_of(root)
    tests = {t["name"]: t for t in results["tests"]}
    assert len(tests) == len(RESULTS) and all(t["max_score"] == HW.part_of(r).points
                                              for t, r in zip(results["tests"], RESULTS))
    lost = HW.part_of("t1.dX").points + HW.part_of("t2.tanh").points
    assert results["score"] == FULL - lost == sum(t["score"] for t in results["tests"])
    dX, tanh = tests[title("t1.dX")], tests[title("t2.tanh")]
    assert dX["score"] == 0 and "counterexample" in dX["output"] and "expected" in dX["output"]
    assert tanh["score"] == 0 and "the candidate raised ValueError: not done yet" in tanh["output"]
    assert "  | tanh here" in tanh["output"]
    assert "random seed 77" in results["output"]


def test_no_hw4_py_gives_every_test_0_with_a_clear_output(tmp_path):
    root = fake_root(tmp_path, {"homework4.py": CORRECT})
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr
    results = results_of(root)
    assert results["score"] == 0 and len(results["tests"]) == len(RESULTS)
    assert all(t["score"] == 0 and "no hw4.py" in t["output"] for t in results["tests"])
    assert "No hw4.py was found in your submission" in results["output"]


def test_hw4_py_in_an_uploaded_folder_is_found(tmp_path):
    root = fake_root(tmp_path, {"my-homework/hw4.py": replace_function(CORRECT, "t1_db", "return 0.0")})
    assert run_autograder(root).returncode == 0
    results = results_of(root)
    assert results["score"] == FULL - HW.part_of("t1.db").points


def test_the_zip_has_the_scripts_at_its_root_executable_and_the_source_to_install(tmp_path):
    target = tmp_path / "out" / "autograder.zip"
    done = subprocess.run([str(ROOT / "scripts" / "build-autograder.sh"), str(target)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(target) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(infos[script].external_attr >> 16) == 0o755
        assert (infos[script].external_attr >> 16) & stat.S_IFREG
    tops = {name.split("/")[0] for name in infos}
    assert tops == {"setup.sh", "run_autograder", "pyproject.toml", "README.md", "verify", "solutions", "pipeline"}
    for needed in ("verify/_sandbox_server.py", "verify/gradescope.py", "verify/__main__.py", "solutions/__init__.py"):
        assert needed in infos
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in infos)
    assert stat.S_IMODE(infos["pyproject.toml"].external_attr >> 16) == 0o644


def test_the_scripts_are_executable_and_parse():
    for script, shell in (("autograder/setup.sh", "bash"), ("autograder/run_autograder", "sh"),
                          ("scripts/build-autograder.sh", "bash")):
        assert os.access(ROOT / script, os.X_OK), script
        assert subprocess.run([shell, "-n", str(ROOT / script)]).returncode == 0, script


def test_the_build_script_needs_an_output(tmp_path):
    done = subprocess.run([str(ROOT / "scripts" / "build-autograder.sh")], capture_output=True, text=True)
    assert done.returncode == 2 and "usage:" in done.stderr


@pytest.mark.parametrize("script", ["autograder/setup.sh", "autograder/run_autograder"])
def test_the_scripts_follow_gradescopes_layout(script):
    text = (ROOT / script).read_text()
    assert text.startswith("#!")
    if script.endswith("setup.sh"):
        assert "apt-get install -y -qq python3 python3-venv python3-pip" in text and '"$root/venv"' in text
    else:
        assert '-m verify gradescope --root "$root"' in text and "AUTOGRADER_ROOT:-/autograder" in text


def test_a_true_convolution_submission_gets_every_point_without_flags(tmp_path):
    from tests.verify.test_grade import CONVOLUTION
    root = fake_root(tmp_path, {"hw4.py": CONVOLUTION})
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr
    results = results_of(root)
    assert results["score"] == FULL
    for test in results["tests"][:2]:     # dL/dX and dL/dW; dL/db is the same in both readings
        assert "judged in the convolution convention" in test["output"] and "convolution" in test["tags"]


def test_a_convention_can_be_forced_by_argument_or_by_the_environment(tmp_path):
    from tests.verify.test_grade import CONVOLUTION
    root = fake_root(tmp_path, {"hw4.py": CONVOLUTION})
    worth = {r: HW.part_of(r).points for r in RESULTS}
    done = run_autograder(root, "--convention", "correlation")
    assert done.returncode == 0, done.stderr
    # forced to the correlation, the convolution's dX and dW are the key's "kernel not turned" and
    # "gradient turned", with the key's points for them
    common = {w.id: HW.part_of(w.result).points_for(w, forced="correlation") for p in HW.parts for w in p.wrong_answers}
    assert results_of(root)["score"] == (FULL - worth["t1.dX"] - worth["t1.dW"] + common["no-flip"]
                                         + common["dW-rotated"])
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PYTHON=sys.executable, PYTHONPATH=str(ROOT),
               CONVENTION="convolution")
    done = subprocess.run([str(ROOT / "autograder" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert results_of(root)["score"] == FULL
    env["CONVENTION"] = "upside-down"
    done = subprocess.run([str(ROOT / "autograder" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and done.stderr.startswith("error: no result has the convention 'upside-down'")


def test_a_common_wrong_answer_carries_the_keys_note(tmp_path):
    root = fake_root(tmp_path, {"hw4.py": replace_function(CORRECT, "t2_tanh", "return delta * (1 - np.tanh(x))")})
    assert run_autograder(root).returncode == 0
    part = HW.part_of("t2.tanh")
    wrong = next(w for w in part.wrong_answers if w.id == "tanh-prime")
    test = next(t for t in results_of(root)["tests"] if "t2.tanh" in t["name"])
    assert test["score"] == part.points_for(wrong) and "common error: tanh-prime" in test["tags"]
    assert grade.plain(wrong.title) in test["output"] and "counterexample" in test["output"]


def test_results_json_is_valid_utf_8_whatever_the_candidate_prints(tmp_path):
    noisy = replace_function(CORRECT, "t2_tanh", """
        import sys
        sys.stdout.buffer.write(b"\\xff\\xfe bytes \\xed\\xa0\\x80 and text\\n")
        print("\\udcff lone", flush=True)
        return delta * (1 - np.tanh(x) ** 2)
    """)
    root = fake_root(tmp_path, {"hw4.py": noisy})
    assert run_autograder(root).returncode == 0
    raw = (root / "results" / "results.json").read_bytes()
    text = raw.decode("utf-8")                                     # strict: valid UTF-8
    results = json.loads(text)

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
    for s in strings(results):
        s.encode("utf-8")                                          # no lone surrogate anywhere
    assert results["score"] == FULL


def test_text_only_turns_lone_surrogates_into_text():
    from verify.gradescope import text_only
    cleaned = text_only({"a\udcff": ["b\ud800", 1, {"c": "\udcfe"}]})
    assert json.dumps(cleaned, ensure_ascii=False).encode("utf-8")
    assert cleaned == {"a\\udcff": ["b\\ud800", 1, {"c": "\\udcfe"}]}
