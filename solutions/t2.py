"""Question T2: back propagation through other functions of a vector x of R^d.

The question's own text is in templates/t2.tex.j2; each of its parts is a
module of its own (t2_tanh, t2_maxpool, t2_avgpool), attached by name.
Entries of x are numbered from 1, as the question numbers them.
"""
from __future__ import annotations

from verify.homework import Deduction, Question

QUESTION = Question("T2", 2, "Back propagation of other functions")

# Shared by the parts' rubrics: the sample solution answers in the setting of a dense layer.
OTHER_SETTING = Deduction(r"An answer written for another setting (weights $w_{kj}$ of a dense layer, a squared "
                          r"loss) that is right once read in the question's terms", points=-1)
NO_DELTA = Deduction(r"$f'$ given without $\delta$ (the local derivative instead of the gradient of $L$): the two "
                     r"points of the chain rule", points=-2)
NO_STEPS = Deduction(r"A final expression without the steps that lead to it (as the question says)", cap=0)
