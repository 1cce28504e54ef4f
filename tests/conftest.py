"""Shared fixtures: the homework, a warm check cache, and copies of the project to break.

Nothing here touches the developer's .venv, build/ or output/: builds go to
temporary folders, and a copy of the project is made for anything that runs make.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

# Property tests draw 50 examples each in the everyday loop (`make test-fast`) and 400 in `make test`,
# which sets HYPOTHESIS_PROFILE=full; a test sets no count of its own.
settings.register_profile("fast", max_examples=50, deadline=None)
settings.register_profile("full", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def pytest_configure(config):
    """The tests' candidates are our own files: where no sandbox can be made (bwrap refused its
    namespaces, and no candidate user), they run unprotected, and the tests of the isolation skip."""
    from verify.sandbox import NoIsolation, isolation
    try:
        isolation()
    except NoIsolation:
        os.environ["VERIFY_SANDBOX"] = "none"
        isolation.cache_clear()


def pytest_collection_modifyitems(items):
    """Tests that need every check of the homework run last: one worker pays for those checks (see
    `checked`) while the others run tests that need none, rather than waiting for them."""
    items.sort(key=lambda item: "checked" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def homework():
    from pipeline import load
    return load.load("solutions")


@pytest.fixture(scope="session")
def checked(tmp_path_factory, homework):
    """Every check of the homework, run once per test run: (a warm check cache, the Verification).

    A warm cache spares each test build from running every check again; the Verification (steps
    and judged notes) serves every test that only reads it.  Filled once for all of pytest-xdist's
    workers: the first fills it under a lock in the run's shared temporary folder, the others copy
    it and read their Verification from it (every step checked once, not once per worker).
    """
    import fcntl

    from pipeline import checks
    cache = tmp_path_factory.mktemp("cache") / "verify-cache.json"
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")   # set by pytest-xdist, the same in every worker of a run
    if run is None:
        return cache, checks.run(homework, cache)
    shared = tmp_path_factory.getbasetemp().parent / f"warm-verify-cache-{run}.json"
    verification = None
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shared.exists():
            verification = checks.run(homework, shared)
    shutil.copy(shared, cache)
    if verification is None:
        verification = checks.run(homework, cache)   # from the cache: fast, and it proves the cache whole
    return cache, verification


@pytest.fixture(scope="session")
def warm_cache(checked):
    return checked[0]


@pytest.fixture(scope="session")
def verification(checked):
    """The homework's Verification: every step's verdict and every judged note of the grading key."""
    return checked[1]


@pytest.fixture
def paths(tmp_path, warm_cache):
    """Build paths under tmp_path, with their own copy of the templates and the warm cache."""
    import build
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    p = build.Paths(templates=templates, build=tmp_path / "build", output=tmp_path / "output")
    p.build.mkdir()
    shutil.copy(warm_cache, p.cache)
    return p


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in a file by `new`; returns the 1-based line of the change."""
    text = path.read_text()
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):])
    return text[:at].count("\n") + 1


def copy_project(destination: Path, warm_cache: Path | None = None) -> Path:
    """The project's tracked and new files (no .venv, build/, output/) copied to `destination`.

    With `warm_cache`, the copy's build/ starts with it, so that its `make` checks only what the test
    changed: verdicts are keyed by the content they depend on, which the copy shares.
    """
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    if warm_cache is not None:
        (destination / "build").mkdir(exist_ok=True)
        shutil.copy(warm_cache, destination / "build" / "verify-cache.json")
    return destination


def make_env(project: Path) -> dict[str, str]:
    """An environment in which `make PY=<this python> SETUP=` builds the copy with the running interpreter.

    The copy comes first on the import path; the developer's .venv is never used or touched.
    """
    return dict(os.environ, PYTHONPATH=str(project))


def make_args() -> list[str]:
    return [f"PY={sys.executable}", "SETUP="]


def typeset_now(documents: dict[str, Path], outdir: Path, source_date_epoch: int):
    """Typeset documents at once and wait for them, as a build does: `pipeline.typeset.start(...).wait()`,
    every LaTeX process stopped on any exception."""
    from pipeline import typeset
    with typeset.start(documents, outdir, source_date_epoch) as job:
        return job.wait()


def page_images(pdf: Path, folder: Path, dpi: int = 50) -> list[bytes]:
    """Each page of a PDF as a grayscale image (poppler's pdftoppm), to compare pages as a reader sees them."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(pdf), str(folder / "page")], check=True)
    return [page.read_bytes() for page in sorted(folder.glob("page*.pgm"))]
