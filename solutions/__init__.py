"""Homework 4 of CSCI-UA.473: its questions, parts and checked solutions, one module per unit.

Each module holds one question or one part (its forward operation, points,
steps, results, rubric and common wrong answers), next to the template of the
same name in templates/.  `verify.homework.Homework.discover("solutions")`
builds the registry from whatever modules are here; nothing lists them.
"""

# the file in which a student's submission defines one function per result (t1.dX -> t1_dX)
SUBMISSION_FILE = "hw4.py"
