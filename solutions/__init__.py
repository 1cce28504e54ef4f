"""Homework 4 of CSCI-UA.473: its questions, parts and checked solutions, one module per unit.

Each module holds one question or one part (its forward operation, points,
steps, results, rubric and common wrong answers), next to the template of the
same name in templates/.  `verify.homework.Homework.discover("solutions")`
builds the registry from whatever modules are here; nothing lists them.

IDENTITY is the one place that names the homework: the documents' header, titles and PDF
metadata, the PDFs' file names (hw4.pdf, ...), the student's file (hw4.py) and the starter
file (hw4-starter.py) all follow from it.  The PDFs' keywords follow from the questions' and
parts' own data (their titles, or their `keywords=`).
"""
from verify.identity import HomeworkIdentity
from verify.variants import Term

IDENTITY = HomeworkIdentity(course="Introduction to Machine Learning", code="CSCI-UA.473", number=4,
                    instructor="Sumit Chopra")

# the key's rule for mixing conventions within one submission (rule 2(a) of the grading key; read by
# verify.grade.convention_scope): each part of T1 is graded on its own, so each result is judged in
# the convention that earns it the most points, whatever the other parts used
CONVENTION_SCOPE = "part"

# per-student variants (verify.variants): which of what the parts declare may vary (their VARIES) varies
# this term, and the course's seed, from which each student's variant and a variant's numbers follow
TERM = Term(seed=4732026, vary=("t1.reading", "t1.example", "t2_tanh.activation"))
