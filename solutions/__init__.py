"""Homework 4 of CSCI-UA.473: its questions, parts and checked solutions, one module per unit.

Each module holds one question or one part (its forward operation, points,
steps, results, rubric and common wrong answers), next to the template of the
same name in templates/.  `verify.homework.Homework.discover("solutions")`
builds the registry from whatever modules are here; nothing lists them.
"""

# the file in which a student's submission defines one function per result (t1.dX -> t1_dX)
SUBMISSION_FILE = "hw4.py"

# the key's rule for mixing conventions within one submission (read by verify.grade.convention_scope):
# a student writes down one forward pass per question, and the key judges every part against it, so
# all the results of a question are judged in one convention, the one that earns the most points
CONVENTION_SCOPE = "question"
