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
