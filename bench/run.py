"""make bench: the speed targets of the issues, measured in one run and printed as ratios.

Runs in a temporary copy of the project, with the interpreter that runs it
(`make PY=<this python> SETUP=`), so the developer's .venv, build/ and output/
are never touched.  Timings are wall-clock seconds, medians of a few runs: on
a shared machine expect noise, which is why no test asserts a timing.

    cold make / bare latexmk of the same three main files, all in parallel   <= 1.3x
      (and, for information, against a bare latexmk that precompiles the shared preamble as the build does)
    make with nothing changed                                                 <  0.2 s
    make after a prose-only edit / that bare latexmk                          <= 1.2x
    verify.check of each graded result, default cases, in-process (median)    <= 100 ms
    the same check in the sandbox, as grade makes it (median over the results)  <= 100 ms
    grading 40 submissions / a serial in-process loop of verify.check         <= 1.0x
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS: list[tuple[str, str, str]] = []


def report(name: str, value: str, target: str = "") -> None:
    ROWS.append((name, value, target))
    print(f"{name:<66} {value:<22} {target}", flush=True)


def seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_of(n: int, fn) -> float:
    return statistics.median(seconds(fn) for _ in range(n))


def copy_project(destination: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def run(cmd, cwd, env) -> None:
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bare_latexmk(tex_dir: Path, work: Path, names: list[str], precompiled: bool = False) -> float:
    """latexmk alone on the generated main files, all at once, from a clean folder.

    `precompiled`: first make the format of the shared preamble, and typeset with it, as the
    build does (this measures what the build adds to its own LaTeX).
    """
    from pipeline.templating import PREAMBLE
    from pipeline.typeset import latex_environment, latexmk_command, precompile, with_formats
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(tex_dir, work)
    env = latex_environment(0)

    def once():
        fmt = precompile(work / f"{PREAMBLE}.tex", work / "out", 0).wait() if precompiled else None
        assert fmt or not precompiled
        procs = [subprocess.Popen(latexmk_command(work / f"{name}.tex", work / "out", fmt=fmt), cwd=work,
                                  env=with_formats(env, work / "out") if fmt else env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in names]
        assert all(p.wait() == 0 for p in procs)
    return seconds(once)


def build_targets(tmp: Path) -> None:
    from pipeline.documents import documents
    from verify.identity import of
    names = [d.name for d in documents(of("solutions"))]
    project = copy_project(tmp / "project")
    env = dict(os.environ, PYTHONPATH=str(project))
    make = ["make", f"PY={sys.executable}", "SETUP="]

    def cold() -> float:
        shutil.rmtree(project / "build", ignore_errors=True)
        run(["make", "clean"], project, env)
        return seconds(lambda: run(make, project, env))
    colds = [cold() for _ in range(3)]
    bares = [bare_latexmk(project / "build" / "tex", tmp / "bare", names) for _ in range(3)]
    cold_s, bare_s = statistics.median(colds), statistics.median(bares)
    report("cold make / bare latexmk (3 documents in parallel)", f"{cold_s / bare_s:.2f}x", "target <= 1.3x")
    report("  seconds: cold make / bare latexmk", f"{cold_s:.2f} / {bare_s:.2f}")
    # the build typesets with its shared preamble precompiled; the same LaTeX alone shows what the
    # build's Python (loading, checks, rendering) adds to it
    same = statistics.median(bare_latexmk(project / "build" / "tex", tmp / "bare", names, precompiled=True)
                             for _ in range(3))
    report("  cold make / bare latexmk with the preamble precompiled too",
           f"{cold_s / same:.2f}x", "(no target)")
    report("  seconds: that bare latexmk", f"{same:.2f}")

    noop = median_of(5, lambda: run(make, project, env))
    report("make with nothing changed", f"{noop:.3f} s", "target < 0.2 s")

    template = project / "templates" / "t2_avgpool.tex.j2"
    words = ["Every entry receives the same share", "Each entry receives the same share"]

    def prose_edit() -> float:
        text = template.read_text()
        old, new = words if words[0] in text else words[::-1]
        template.write_text(text.replace(old, new))
        return seconds(lambda: run(make, project, env))
    prose = statistics.median(prose_edit() for _ in range(3))
    report("make after a prose-only edit / bare latexmk", f"{prose / bare_s:.2f}x", "target <= 1.2x")
    report("  seconds: prose rebuild", f"{prose:.2f}")


def check_budget() -> None:
    import verify
    homework = verify.load_homework()
    for result in homework.results.values():
        reference = result.gradient().compiled()
        first = seconds(lambda: verify.check(result, reference))    # noqa: B023 - called at once
        warm = median_of(5, lambda: verify.check(result, reference))  # noqa: B023
        report(f"verify.check('{result.id}'), every default case", f"{warm * 1000:.0f} ms (first {first * 1000:.0f})",
               "target <= 100 ms median")


SUBMISSION = """
import numpy as np
from scipy import signal


def t1_dX(X, W, b, delta):
    return signal.convolve2d(delta, W, mode="full"){dx_bug}


def t1_dW(X, W, b, delta):
    return signal.correlate2d(X, delta, mode="valid")


def t1_db(X, W, b, delta):
    return np.sum(delta){db_bug}


def t2_tanh(x, delta):
    return delta * (1 - np.tanh(x) ** 2)


def t2_maxpool(x, delta):
    g = np.zeros_like(x)
    g[np.argmax(x)] = delta
    return g


def t2_avgpool(x, delta):
    return np.full_like(x, delta / x.size){avg_bug}
"""


def sandboxed_check_budget(tmp: Path) -> None:
    """A check as `grade` makes it, with the isolation in force: a fresh fork of the sandbox's server, the
    file loaded in it, then every default case of one result."""
    import verify
    from verify import engine
    from verify.grade import Candidate
    from verify.sandbox import Sandbox, isolation
    student = tmp / "sandboxed" / "hw4.py"
    student.parent.mkdir(parents=True)
    student.write_text(textwrap.dedent(SUBMISSION).format(dx_bug="", db_bug="", avg_bug=""))
    homework = verify.load_homework()
    times = []
    with Sandbox(student) as box:
        for result in homework.results.values():
            gradient = result.gradient()
            engine.prepare(gradient)

            def once(result=result, gradient=gradient):
                box.fresh()
                box.function(result.function_name, gradient.arity)
                assert Candidate(box, result.function_name).check(gradient, seed=1, subject=result.id).passed
            once()
            times.append(median_of(5, once))
    report(f"a check in the sandbox ({isolation().name}, fresh fork + load), median",
           f"{statistics.median(times) * 1000:.0f} ms (slowest {max(times) * 1000:.0f})", "target <= 100 ms median")


def batch_ratio(tmp: Path, count: int = 40) -> None:
    import importlib.util

    import verify
    from verify import grade
    from verify.sandbox import isolation
    folder = tmp / "submissions"
    for number in range(count):
        student = folder / f"student{number:02d}"
        student.mkdir(parents=True)
        (student / "hw4.py").write_text(textwrap.dedent(SUBMISSION).format(
            dx_bug=" * 1.001" if number % 5 == 1 else "", db_bug=" / 2" if number % 7 == 2 else "",
            avg_bug=" * 2" if number % 3 == 0 else ""))
    homework = verify.load_homework()

    def serial() -> None:
        for student in sorted(folder.iterdir()):
            spec = importlib.util.spec_from_file_location(f"bench_{student.name}", student / "hw4.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for result in homework.results.values():
                verify.check(result, getattr(module, result.function_name), seed=1)
    serial_s = seconds(serial)
    batch_s = seconds(lambda: grade.grade(folder, seed=1))
    report(f"grade {count} submissions (isolated, every core) / serial in-process", f"{batch_s / serial_s:.2f}x",
           "target <= 1.0x")
    report("  seconds: grade / serial loop", f"{batch_s:.2f} / {serial_s:.2f}")
    report("  isolation", isolation().name, "(every result in a fresh fork of the sandbox's server)")


def main(argv: list[str]) -> int:
    """`bench/run.py` measures every target; `bench/run.py grading` only the checks and the batch;
    `bench/run.py variants` only the class of per-student variants (bench/variants.py)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if argv[1:] != ["grading"]:
            from bench import variants
            variants.measure(copy_project(tmp / "variants"), tmp, report)
            if argv[1:] == ["variants"]:
                return 0
            build_targets(tmp)
        check_budget()
        sandboxed_check_budget(tmp)
        batch_ratio(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
