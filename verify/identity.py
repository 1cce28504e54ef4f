"""Who a homework is: course, number, instructor, and the file names that follow from them.

A homework package declares `IDENTITY = HomeworkIdentity(...)` in its `__init__.py`.  Everything that
names the homework reads it: the documents' titles, header and PDF metadata, the names of the
PDFs (hw4.pdf, hw4-solutions.pdf, ...), the file a student submits (hw4.py) and the starter
file handed out (hw4-starter.py).  This module imports nothing heavy, so the build can read a
package's identity before it loads the homework's mathematics.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class HomeworkIdentity:
    """course: the course's name; code: its catalogue code; number: the homework's number.

    What the homework is about (the PDFs' keywords) is not identity: it follows from the questions and
    parts (`verify.homework.Homework.keywords`), so an added part or question brings its own."""
    course: str
    code: str
    number: int
    instructor: str

    @property
    def name(self) -> str:
        """The stem of every file named after the homework: "hw4"."""
        return f"hw{self.number}"

    @property
    def title(self) -> str:
        return f"Homework {self.number}"

    @property
    def submission_file(self) -> str:
        """Where a student's submission defines one function per result (t1.dX -> t1_dX)."""
        return f"{self.name}.py"

    @property
    def starter_file(self) -> str:
        """The file handed to students: the functions of the submission file, without their bodies."""
        return f"{self.name}-starter.py"


class IdentityError(Exception):
    """A package without a usable IDENTITY; the message names the file to fix."""


def of(package: str) -> HomeworkIdentity:
    """The IDENTITY of a homework package, read from its __init__.py alone (no question module is imported)."""
    root = importlib.import_module(package)
    identity = getattr(root, "IDENTITY", None)
    if not isinstance(identity, HomeworkIdentity):
        raise IdentityError(f"{package}/__init__.py: declare IDENTITY = verify.identity.HomeworkIdentity(course=..., "
                            "code=..., number=..., instructor=...); it names the documents and "
                            "the student's files")
    return identity
