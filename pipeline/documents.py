"""The documents a build makes, named from the homework's identity; light enough to import before anything else."""
from __future__ import annotations

from dataclasses import dataclass

from verify.identity import HomeworkIdentity


@dataclass(frozen=True)
class Document:
    """A PDF the build makes: its main template, its title, and what it prints."""
    name: str
    template: str
    title: str
    answers: bool           # the solutions (exam's \printanswers)
    grading: bool           # the rubric and the grader's notes


REPORT = "verify-report.json"


def documents(identity: HomeworkIdentity) -> tuple[Document, ...]:
    """The handout, the solutions and the grading key of a homework (hw4.pdf, hw4-solutions.pdf, ...)."""
    return (Document(identity.name, "handout.tex.j2", identity.title, answers=False, grading=False),
            Document(f"{identity.name}-solutions", "solutions.tex.j2", f"{identity.title} Solutions",
                     answers=True, grading=False),
            Document(f"{identity.name}-grading", "grading.tex.j2", f"{identity.title} Grading Key",
                     answers=True, grading=True))


def outputs(identity: HomeworkIdentity) -> list[str]:
    """Every file a build puts into output/."""
    return [f"{d.name}.pdf" for d in documents(identity)] + [identity.starter_file, REPORT]
