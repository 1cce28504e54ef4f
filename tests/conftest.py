"""Shared fixtures: a copy of the templates to break, and one warm check cache per session."""
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory):
    """A verify cache filled once, so that each test build does not re-run every check."""
    from pipeline import load
    from verify.project import run_checks
    cache = tmp_path_factory.mktemp("cache") / "verify-cache.json"
    run_checks(load.load_solutions().steps.values(), cache)
    return cache


@pytest.fixture
def paths(tmp_path, warm_cache):
    """Build paths under tmp_path with their own copy of the templates."""
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
