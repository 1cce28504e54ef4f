"""Deductions that every part of Homework 4 shares: one text and one cost, wherever they apply."""
from __future__ import annotations

from verify.homework import Deduction

NO_STEPS = Deduction("no-steps", "no steps",
                     r"A final expression without the steps that lead to it, however many of its forms the "
                     r"answer writes (an entry-wise sum and its vectorized form are one final expression, "
                     r"rule~1(c) at the front)", cap=0)

# the question's results hold for any loss: a result written through one particular loss is not the answer
LOSS = Deduction("loss", "the assumed loss",
                 r"A result written through one particular loss, such as a squared error with targets, where "
                 r"the question gives $\delta$ for any loss (rule~9 at the front says when a loss costs nothing)",
                 points=1)
