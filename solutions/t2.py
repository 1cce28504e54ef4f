"""Question T2: back propagation through other functions of a vector x of R^d.

The question's own text is in templates/t2.tex.j2; each of its parts is a
module of its own (t2_tanh, t2_maxpool, t2_avgpool), attached by name.
Entries of x are numbered from 1, as the question numbers them.
"""
from __future__ import annotations

from verify.homework import Deduction, Question

QUESTION = Question("T2", 2, "Back propagation of other functions")

# The sample's error in all three parts: the chain rule of a unit inside a network, with the gradient
# multiplied by a sum over the weights w_kj of a next layer that the question does not have.
OTHER_SETTING = Deduction(r"The chain rule written for a unit inside a network, with $\sum_k w_{kj} \delta_k$ "
                          r"(weights of a layer the question does not have) where the question gives $\delta$: "
                          r"the two points of the chain rule; what follows from it is not charged again",
                          points=-2)

NO_DELTA = Deduction(r"$f'$ given without $\delta$ (the local derivative instead of the gradient of $L$): the two "
                     r"points of the chain rule", points=-2)
NO_STEPS = Deduction(r"A final expression without the steps that lead to it (as the question says)", cap=0)
