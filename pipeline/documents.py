"""The documents a build makes: one registry, light enough to import before anything else."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """A PDF the build makes: its main template, its title, and what it prints."""
    name: str
    template: str
    title: str
    answers: bool           # the solutions (exam's \printanswers)
    grading: bool           # the rubric and the grader's notes


DOCUMENTS = (
    Document("hw4", "handout.tex.j2", "Homework 4", answers=False, grading=False),
    Document("hw4-solutions", "solutions.tex.j2", "Homework 4 Solutions", answers=True, grading=False),
    Document("hw4-grading", "grading.tex.j2", "Homework 4 Grading Key", answers=True, grading=True),
)
REPORT = "verify-report.json"


def outputs() -> list[str]:
    """Every file a build puts into output/."""
    return [f"{d.name}.pdf" for d in DOCUMENTS] + [REPORT]
