"""Question T2: back propagation through other functions of a vector x of R^d.

The question's own text is in templates/t2.tex.j2; each of its parts is a
module of its own (t2_tanh, t2_maxpool, t2_avgpool), attached by name.
Entries of x are numbered from 1, as the question numbers them.
"""
from __future__ import annotations

from verify.homework import Deduction, Question

QUESTION = Question("T2", 2, "Back propagation of other functions")



def other_setting(kept: str, points: int) -> Deduction:
    """The sample's error in tanh and average pooling: the backpropagation rule of a hidden layer, whose result
    depends on weights the question does not have; `kept` names the criteria that still hold."""
    return Deduction(r"The rule for a unit inside a network, $\delta_j = f'(a_j) \sum_k w_{kj} \delta_k$, whose "
                     rf"result depends on weights $w_{{kj}}$ the question does not have (it keeps {kept})", cap=points)

NO_DELTA = Deduction(r"$f'$ given without $\delta$ (the local derivative instead of the gradient of $L$): the two "
                     r"points of the chain rule", points=-2)
NO_STEPS = Deduction(r"A final expression without the steps that lead to it (as the question says)", cap=0)
