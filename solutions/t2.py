"""Question T2: back propagation through other functions of a vector x of R^d.

The question's own text is in templates/t2.tex.j2; each of its parts is a
module of its own (t2_tanh, t2_maxpool, t2_avgpool), attached by name.
Entries of x are numbered from 1, as the question numbers them.
"""
from __future__ import annotations

from verify.homework import Deduction, Question

from .rubric import LOSS

# the deductions every part of T2 has; the handout asks for steps under T1 only, so T2 has no cap for them
__all__ = ["LOSS", "NO_DELTA", "OTHER_SETTING", "QUESTION", "RANGE", "SAMPLE_LOSS", "window_sizes", "wrong_routing"]


def window_sizes(*large: int) -> dict:
    """The sizes of x an operation of T2 is checked at, as its `exact_sizes` and `float_sizes`.

    Every window of up to 16 entries and every square one up to 8 x 8: exactly up to 9 (every tie pattern of those
    is a kink case), in floating point beyond, then the part's `large` ones; a fresh seed adds one random size.  A
    fresh attacker's tanh and average pooling, wrong only in the usual window of 4 (or twice the gradient in every
    window from 6 to 15), passed when d = 1, 2, 3 and 5 alone were checked exactly, as a max pooling wrong only at
    ties in that window did when d = 4 was no exact size."""
    return {"exact_sizes": tuple({"d": q} for q in range(1, 10)),
            "float_sizes": tuple({"d": q} for q in (*range(10, 17), 25, 36, 49, 64, *large))}


QUESTION = Question("T2", 2, "Back propagation of other functions", keywords=("backpropagation",))

# In all three parts the sample writes the gradient inside a network, with sum_k w_kj delta_k for the
# gradient with respect to the unit's output.  The key reads that sum one way everywhere: as that
# gradient, which the question's delta is (the rule is stated once, in the grading key's preface).
OTHER_SETTING = Deduction("other-setting", "the network setting",
                          r"A sum $\sum_\mu w_{\mu j} g_\mu$ over a next layer in place of the output's gradient, "
                          r"never identified with it (the network setting, rule~7 at the front)",
                          charges=("chain",))

NO_DELTA = Deduction("no-delta", r"the missing $\delta$",
                     r"An answer that gives the local derivative ($f'$, or $\partial z/\partial x$ in a pooling) "
                     r"as the gradient of $L$, without $\delta$, misses $\delta$. Four cases decide it, by whose "
                     r"derivative each line says it is."
                     r"\begin{enumerate}\renewcommand{\labelenumi}{(\alph{enumi})}"
                     r"\item A line that names it as a derivative of $f$ or of $z$ gives it as a step, and a step "
                     r"costs nothing wherever it stands when another line gives the gradient of $L$; in an answer "
                     r"with no such line, (d) decides. The names are $f'$ or $\partial z/\partial x$, ``the local "
                     r"derivative'' or ``the local gradient'', and ``the derivative'' or ``the gradient'' of $f$ or "
                     r"of $z$, by any name that means $f$ or $z$ in the part, a letter, a name or a description "
                     r"(``the gradient of $\tanh$'', $\tanh'$, ``the derivative of the function'', ``of the "
                     r"activation'', ``of the nonlinearity'', ``of the output''). A bare ``the derivative is "
                     r"\dots'' or ``the derivative with respect to $x$ is \dots'' is such a name: the question's "
                     r"word for what it asks is ``gradient'', and the derivative of $z$ with respect to $x$ is the "
                     r"local one. A member of a chain of equalities has the name of the chain's left side, on a "
                     r"line of its own or not: the last line $= 1 - \tanh^2(x)$ of a chain that begins with "
                     r"$\frac{d}{dx} \tanh(x)$ is named as a derivative of $f$."
                     r"\item Words before or after such a step that multiply it by $\delta$, with $\delta$ named "
                     r"as rule~7 at the front asks, count as the chain rule in words, a line of the answer "
                     r"(rule~1(g) at the front), and nothing is missing. Examples are ``multiply this by the incoming "
                     r"gradient $\delta$'' after the step and ``multiply the incoming gradient $\delta$ by the "
                     r"derivative of $\tanh$:'' before it."
                     r"\item A line that gives it as the gradient misses $\delta$, also after right lines with "
                     r"$\delta$, since it stands beside them as a second answer (rule~4(c) at the front), and no "
                     r"words beside it supply $\delta$. A line gives it as the gradient when it writes it as "
                     r"$\partial L/\partial x$ (also beside one of the names of (a), as in $\partial L/\partial x "
                     r"= f'(x)$), calls it the gradient of $L$ (``of the loss''), a bare gradient (``the gradient "
                     r"is \dots'' or ``the gradient with respect to $x$ is \dots'', which names the gradient the "
                     r"question asks for), the answer or the result, or is a last or boxed line without a name."
                     r"\item An answer that has no line for the gradient of $L$, and offers the local derivative "
                     r"(named as in (a) or not) as its answer, misses $\delta$ as in (c), so a true name never "
                     r"scores below a false one. So an answer whose only line is ``the derivative is "
                     r"$1 - \tanh^2(x)$'' misses $\delta$."
                     r"\end{enumerate}"
                     r"\noindent In cases (c) and (d) the answer misses $\delta$, as the common answer without "
                     r"$\delta$ does; what follows from that error (the result, and the share in average pooling) "
                     r"is not charged again (rule~3(c) at the front).",
                     charges=("chain",))

# A range of the result's index with another number of values than d is a wrong shape (rule 5(e)): one
# deduction in every part, at the result, as any other wrong shape (review53 c row 6: stated where deductions are);
# a shape that follows from a charged error is not charged (review61 c row 5: the inner product's one number)
RANGE = Deduction("range", "a wrong range",
                  r"A wrong shape of the result that follows from an error already charged, such as the one "
                  r"number that the inner product gives in T2.1, is never charged again (rule~5(g) at the front). "
                  r"Every other wrong shape of the result is charged here. So is a range of the result's index "
                  r"with another number of values than the $d$ entries of $x$, such as $0 \le k \le d$, also "
                  r"beside a vector of $d$ entries (rule~5(e) at the front).",
                  charges=("result",))

# The sample writes a squared loss in every part of T2 and never uses it: rule 9 says so, and each sample's
# note says why the assumed loss costs nothing (review53 c row 7)
SAMPLE_LOSS = (r" The sample's squared loss is written down but never used, since its result is "
               r"written with the gradients of a next layer: the assumed loss costs nothing (rule~9 at the front).")

# Where delta goes is what a pooling is: an answer that routes it as the other pooling (or as a sum) computes
# the gradient of another function.  That is one error with one cost in both poolings, the local derivative
# and the result, like the dense-layer reading of T1; never a slip whose result "follows" (rule 3).
# In max pooling a formula that routes delta wrongly is also wrong at a tie, whatever the words say: its
# deduction names the tie point too, so that the points it takes are exactly the criteria it names.
def wrong_routing(routing: str, charges: tuple[str, ...] = ("local", "result"), then: str = "",
                  as_in: str = "") -> Deduction:
    """The deduction for a wrong routing in a pooling; `routing` says, in LaTeX, what the wrong formula does,
    `then` adds a sentence on what follows from it, and `charges` the criteria it takes; `as_in` names the part whose
    deduction says how it is read, where it was said before.  Said in sentences, one idea each: the key states its
    cost after them."""
    how = (rf"It is one error, read and counted as in {as_in}." if as_in else
           r"It is one error, read from the formulas whatever the words say (rules~3(d) and~4(g) at the front). It "
           r"counts also beside right lines, and whatever words introduce it, such as ``in practice''. A chain "
           r"rule that sums over the $d$ entries, and so gives $\delta$ to every entry, is not charged here: it "
           r"is charged at the chain rule (rule~1(i) at the front), and its tie point is graded by its own line, as "
           r"the note ``A case graded apart'' under the common answer ``All of $\delta$ to every entry'' says. Every "
           r"other wrong "
           r"routing is charged as follows.")
    return Deduction("routing", "a wrong routing", rf"A formula that {routing}, makes a wrong routing. {then}{how}",
                     charges=charges)
