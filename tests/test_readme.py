"""The README's recipe runs as written: its code blocks, put together, are a part whose every step passes.

(tests/test_build.py adds the README's example part, examples/relu, to a copy of the project with make;
this checks that the README's own code has not drifted from a working part.)
"""
from __future__ import annotations

import re
import types

from verify.steps import check_step

from .conftest import ROOT


def _recipe_module() -> types.ModuleType:
    readme = (ROOT / "README.md").read_text()
    recipe = readme[readme.index("### What a module defines"):readme.index("### 5. The template")]
    source = "\n\n".join(re.findall(r"```python\n(.*?)```", recipe, re.S))
    module = types.ModuleType("solutions.readme_recipe")
    module.__package__ = "solutions"          # its `from .symbols import ...` is the homework's
    exec(compile(source, "README.md (the recipe's code)", "exec"), module.__dict__)
    return module


def test_the_recipes_code_is_a_part_whose_every_step_passes():
    recipe = _recipe_module()
    part, steps = recipe.PART, recipe.STEPS
    assert sum(c.points for c in part.rubric.criteria) == part.points
    assert {answer.result for answer in part.wrong_answers} <= {result.id for result in part.results}
    failed = {step.id: verdict.reason for step in steps if not (verdict := check_step(step)).passed}
    assert not failed


def test_the_readmes_symbol_lines_append_one_symbol_of_each_kind():
    """The lines the README tells an instructor to append to solutions/symbols.py run there as written, and
    give the kinds `make symbols` reports: a number, a size, an index, arrays, one printed like a taken name."""
    import importlib.util

    from solutions.notation import latex
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"cat >> solutions/symbols.py <<'EOF'\n(.*?)\nEOF\n", readme, re.S)
    assert block is not None
    namespace: dict = {}
    source = (ROOT / "solutions" / "symbols.py").read_text() + block[1] + "\n"
    exec(compile(source, "solutions/symbols.py with the README's lines", "exec"), namespace)
    spec = importlib.util.spec_from_file_location("symbols_script", ROOT / "scripts" / "symbols.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    added = [line.split(" = ")[0] for line in block[1].splitlines() if " = " in line]
    kinds = [script.kind(namespace[name]) for name in added]
    assert kinds[:3] == ["number", "size (positive integer)", "index (integer)"]
    assert all(kind.startswith("array") for kind in kinds[3:]) and len(kinds) == 5
    assert latex(namespace[added[-1]]) == latex(namespace["p"]) and added[-1] != "p"   # a taken name, printed alike
