"""A course roster, as Gradescope exports it: one student per row, found by email.

Gradescope's roster export (Course > Roster > Download Roster) has the columns
`First Name, Last Name, SID, Email, Role, Sections`; a roster written by hand may have `Name` in
place of the two names.  Only `Email` is required: it is what the autograder learns about a
student (submission_metadata.json, users[].email) and what a student's variant is drawn from.
Rows whose Role is not Student (instructors, TAs, readers) are left out.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path


class RosterError(Exception):
    """A roster that cannot be read; the message names the file and the line to fix."""


@dataclass(frozen=True)
class Student:
    first: str
    last: str
    sid: str
    email: str

    @property
    def name(self) -> str:
        return " ".join(q for q in (self.first, self.last) if q)

    @property
    def key(self) -> str:
        """The email in lower case: a student's identity for the variants."""
        return self.email.strip().lower()

    @property
    def file_stem(self) -> str:
        """A file name for the student's own handout: the SID, else the email, as plain characters."""
        return re.sub(r"[^A-Za-z0-9._@+-]", "_", self.sid or self.email)[:120]


def read(path: str | Path) -> list[Student]:
    """The students of a roster CSV, in its order (RosterError with the file and line if it cannot be read)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")    # a spreadsheet's byte order mark is no column name
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot read the roster: {exc}") from None
    rows = csv.reader(text.splitlines())
    header = [h.strip().lower() for h in next(rows, [])]
    if "email" not in header:
        raise RosterError(f"{path}:1: no Email column (Gradescope's roster export has First Name, Last Name, SID, "
                          f"Email); the columns are: {', '.join(header) or 'none'}")
    column = {name: header.index(name) for name in header}
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            return row[column[name]].strip() if name in column and column[name] < len(row) else ""
        if cell("role") and cell("role").lower() != "student":
            continue
        email = cell("email")
        if "@" not in email:
            raise RosterError(f"{path}:{line}: {'no email' if not email else repr(email) + ' is not an email'}; "
                              "every student needs one (their variant is drawn from it)")
        first, last = cell("first name"), cell("last name")
        if not (first or last) and cell("name"):
            first, _, last = cell("name").partition(" ")
        if email.lower() in seen:
            raise RosterError(f"{path}:{line}: {email} is also on line {seen[email.lower()]}; an email names one "
                              "student")
        seen[email.lower()] = line
        students.append(Student(first, last, cell("sid"), email))
    if not students:
        raise RosterError(f"{path}: no student in the roster")
    return students
