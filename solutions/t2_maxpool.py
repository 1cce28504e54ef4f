"""T2, part 2: max pooling, f(x) = max_i x_i, and what happens at ties."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import sympy as sp
from sympy import KroneckerDelta

from verify import ops
from verify.engine import Gradient
from verify.homework import Case, Criterion, Deduction, Part, Result, Rubric, WrongAnswer
from verify.operation import Operation
from verify.steps import Kind, Step
from verify.symbolic import (
    ArgMax,
    ConvexHull,
    Entries,
    MaxMask,
    MaxOver,
    OneHot,
    Ones,
    Partial,
    Subdifferential,
    SumOver,
    product,
    shown,
)

from .illustrations import illustrations
from .notation import latex
from .symbols import L, d, delta_s, f, i, istar, j, k, x, z_s
from .t2 import LOSS, NO_DELTA, OTHER_SETTING, RANGE, SAMPLE_LOSS, window_sizes, wrong_routing


def forward(x):
    """z = max_i x_i, one number."""
    return ops.max_all(x)


MAXPOOL = Operation("t2.maxpool", forward, ("x",), {"x": (d,)}, "z",
                    **window_sizes(100, 4096, 20000),
                    size_ranges={"d": (1, 5000)}, index_base=1, names={istar: ArgMax(x)})

# the function f itself, whose generalized gradient Step 5 shows: the same forward pass with its output named f,
# since a check differentiates an operation's named output only (the value of f is z everywhere else)
MAX_FUNCTION = dataclasses.replace(MAXPOOL, name="t2.maxpool.function", output="f")

FORMULA = product(delta_s, OneHot(x, ArgMax(x)))     # at a tie the first maximizer takes all of delta
RESULT = Result("t2.maxpool", {"default": Gradient(MAXPOOL, "x", FORMULA)})

_ALL_K = ((k, 1, d),)
UNIQUE = r"($i^*$ the only maximizer)"


def _step(id_, *sides, kind=Kind.DERIVATION, **extra):
    return Step.of(kind)(id_, *sides, operation=MAXPOOL, **extra)


STEPS = [
    _step("t2.maxpool.forward", z_s, MaxOver(x[i], i, 1, d), kind=Kind.DEFINITION),
    _step("t2.maxpool.chain", Partial(L, x[k]), product(delta_s, Partial(z_s, x[k])), over=_ALL_K),
    _step("t2.maxpool.local", Partial(z_s, x[k]), KroneckerDelta(k, istar), over=_ALL_K, note=UNIQUE),
    _step("t2.maxpool.chain_rule", Partial(L, x[k]), product(delta_s, Partial(z_s, x[k])),
          product(delta_s, KroneckerDelta(k, istar)), over=_ALL_K, note=UNIQUE),
    _step("t2.maxpool.vectorized", Partial(L, x), FORMULA, kind=Kind.RESULT, gradient=RESULT.gradient()),
    Step.of(Kind.SUBDIFFERENTIAL)("t2.maxpool.ties", Subdifferential(f, x),
                                  ConvexHull(OneHot(x, i), sp.Eq(x[i], MaxOver(x[j], j, 1, d)), i, 1, d),
                                  boxed=True, operation=MAX_FUNCTION),
]

# ---- the worked example: a tie -------------------------------------------------------------------------------
EXAMPLE: dict[str, Any] = {"x": np.array([0.5, 2.0, -1.0, 2.0]), "delta": 3.0}


def _column(values):
    return sp.ImmutableMatrix([[shown(q)] for q in values])


def _example_steps():
    x_, delta_ = EXAMPLE["x"], EXAMPLE["delta"]
    first = np.zeros_like(x_)
    first[np.argmax(x_)] = delta_
    tied = x_ == x_.max()
    split = delta_ * tied / tied.sum()

    def example(id_, *sides, relation="="):
        return Step.example(id_, *sides, operation=MAXPOOL, at=EXAMPLE, relation=relation)
    return [
        example("t2.maxpool.example.inputs", sp.Tuple(x, delta_s), sp.Tuple(_column(x_), shown(delta_))),
        example("t2.maxpool.example.first", FORMULA, _column(first), Subdifferential(L, x), relation="in"),
        example("t2.maxpool.example.split", _column(split), Subdifferential(L, x), relation="in"),
    ]


STEPS += _example_steps()

# ---- the sample solution and other common wrong answers ---------------------------------------------------
_w, _ds = sp.IndexedBase("w"), sp.IndexedBase("deltasample")
_js = sp.Symbol("j", integer=True)
# the sample writes k for its maximizer and for the next layer's units: the key writes the maximizer i*, as
# everywhere in T2, and the units mu, as in rule 7, so that k keeps one meaning, the running entry index
_mu = sp.Symbol("mu", integer=True)
SAMPLE = Entries(sp.Piecewise((0, sp.Ne(istar, _js)), (SumOver(product(_w[_mu], _ds[_mu]), _mu, 1, d),
                                                       sp.Eq(istar, _js)), evaluate=False), _js, 1, d)

WRONG = (
    WrongAnswer("sample.maxpool", "t2.maxpool", "The sample solution's answer",
                r"The sample sends the gradient to the maximizer and $0$ elsewhere, written inside a network "
                r"with the weights of a next layer (its $w_{kj}$). It uses $k$ both for the maximizer and for the "
                r"index of its sum over a "
                r"next layer's units. The key writes the maximizer $i^*$, as everywhere in T2, and the units "
                r"$\mu$ (rules~7 and~8 at the front). What it writes $\delta_k$ is a next layer's "
                r"$\partial L/\partial h_\mu$, which the key writes $g_\mu$. Its weights $w_{kj}$ carry the $j$ of an "
                r"entry of $x$, but a pooling has one output, $z$, so the key drops $j$ and writes $w_\mu$. The "
                r"display below writes them so. "
                r"Unlike its tanh answer, it never says what its sum $\sum_\mu w_\mu g_\mu$ "
                r"is. "
                r"Read as the gradient "
                r"with respect to the output (rule~8 at the front), which the question calls "
                r"$\delta$, the rule is the one of Step~4, and it is checked so below.",
                FORMULA, quote=SAMPLE,
                reading={_w: Ones(x), _ds: product(delta_s, OneHot(x, ArgMax(x)))},
                decision=r"The routing earns the local derivative and the result. Its $i^*$ (its $k$) is one "
                         r"maximizer: fixed once, by its ``Assuming'' line, it is read as one chosen "
                         r"maximizer, by the key's convention for a letter fixed once (the tie point's true rules). "
                         r"The sample's other uses of $k$ do not undo that: the $k$ of its general case, before the "
                         r"``Assuming'' line, indexes a next layer, and its equations hold for every $k$ and fix no "
                         r"value of it. The $k$ of its sum is bound by the sum. So neither fixes the letter again "
                         r"nor is compared with $j$. "
                         r"The letter fixed once, compared with the running index $j$, names one entry. So at a "
                         r"tie its "
                         r"formula gives all of the gradient to one entry, which earns the tie point. The sum "
                         r"is not identified with $\partial L/\partial z$." + SAMPLE_LOSS,
                deductions=("other-setting",), accepted=True),
    WrongAnswer("max-all-ties", "t2.maxpool", r"All of $\delta$ to every tied entry",
                r"At a tie the weights on the tied entries must add up to $1$; this answer gives each of "
                r"them all of $\delta$, so they add up to the number of tied entries. This is the usual answer "
                r"``$\partial L/\partial x_k = \delta$ if $x_k = \max x$, $0$ otherwise'', as a vector: below, "
                r"$\mathbb{I}[x = \max x]$ is the vector with $1$ where $x_i$ is the maximum and $0$ elsewhere.",
                product(delta_s, MaxMask(x)),
                decision=r"The answer is right away from ties. At a tie its mask gives every tied entry all of "
                         r"$\delta$, a false rule, and the answer loses the tie point: the false rule stands beside "
                         r"any other (rule~4(c) at the front). The exceptions are those of the list ``False rules: the "
                         r"point is lost'': the answer withdraws the mask, or tie words take its place at a tie (the "
                         r"tie point's test says when they do). The answer's other rules then decide the point.",
                deductions=("all-ties",)),
    WrongAnswer("max-as-mean", "t2.maxpool", r"Max pooling answered as average pooling",
                r"Every entry receives $\delta/d$, the gradient of the mean. Only the maximizer affects the "
                r"maximum, so the other entries must receive $0$.",
                product(delta_s / d, Ones(x)),
                decision=r"This is the gradient of the mean: the local derivative $\frac{1}{d}$ and the result "
                         r"$\delta/d$ route $\delta$ as a mean does, so the result does not count as following "
                         r"from a charged error (rule~3(d) at the front). At a tie too, whenever some entry is "
                         r"not a maximizer, the same formula sends it a share, so the deduction for a wrong routing "
                         r"also takes the "
                         r"tie point, whatever the answer says of ties. A formula that routes so is "
                         r"graded so, also beside words or lines that route $\delta$ to the maximizer (rule~4(g) at "
                         r"the front).",
                deductions=("routing",)),
    WrongAnswer("max-every-entry", "t2.maxpool", r"All of $\delta$ to every entry",
                r"Every entry receives $\delta$ unchanged, as if the maximum had slope $1$ in every entry. "
                r"Entries other than the maximizer do not move the maximum and must receive $0$.",
                product(delta_s, Ones(x)),
                decision=r"This is the gradient of the sum of the entries, graded as max pooling answered as "
                         r"average pooling is, the tie point included.",
                case=Case(r"A chain rule that sums over the $d$ entries, and so gives $\delta$ to every entry, errs "
                          r"in the chain rule instead (rule~1(i) at the front): the routing follows from it and is "
                          r"not charged again. The tie point is graded by its own line (rule~4(g) at the front): "
                          r"read at a tie, the formula gives every tied entry all of $\delta$, a false rule.",
                          ("chain", "ties"), deductions=()),
                deductions=("routing",)),
    WrongAnswer("max-no-delta", "t2.maxpool", r"The derivative $\partial z/\partial x$ without $\delta$",
                r"This one-hot vector is the gradient of the maximum itself, before the chain rule "
                r"multiplies it by $\delta$.",
                OneHot(x, ArgMax(x)),
                decision=r"As in T2.1, leaving out $\delta$ is an error of the chain rule. The result follows "
                         r"from it and is not charged again (rule~3(c) at the front). At a tie the one-hot vector "
                         r"gives all to one maximizer, a true rule of its own, which earns the tie point. So does "
                         r"any other true rule at ties without $\delta$, such as an even split.",
                deductions=("no-delta",)),
    WrongAnswer("max-mask-no-delta", "t2.maxpool", r"The mask without $\delta$",
                rf"The mask ${latex(MaxMask(x))}$, with $1$ where $x_i$ is the maximum and $0$ elsewhere, is "
                r"given for the gradient of $L$ without $\delta$.",
                MaxMask(x),
                decision=r"Leaving out $\delta$ is an error of the chain rule, and the result follows from it, "
                         r"as for the one-hot vector. At a tie the mask gives every tied entry a $1$, so that each "
                         r"would receive all of $\delta$, a false rule that does not follow from the missing "
                         r"$\delta$.",
                deductions=("no-delta", "all-ties")),
)

PART = Part("t2.maxpool", "Max pooling", 5, (RESULT,), Rubric(
    criteria=(Criterion("chain", 2, "the chain rule", r"It multiplies by $\delta$: one output, so one term (Step~1)."),
              Criterion("local", 1, "the local derivative",
                        r"It is $1$ at the maximizer and $0$ elsewhere (Step~2). A T2 answer is graded from the "
                        r"lines it shows (rule~1(a) at the front), so the value is shown wherever it is written, "
                        r"also as a factor of the result alone, as the one-hot vector of $\delta\,\mathbf{e}_{i^*}$ "
                        r"or the cases of a formula that gives $\delta$ to the maximizer and $0$ elsewhere."),
              Criterion("result", 1, "the result",
                        r"All of $\delta$ goes to the maximizer and $0$ elsewhere, with the shape of $x$ (Steps~3 "
                        r"and~4). "
                        r"When words and a formula disagree on where $\delta$ goes, the formula is graded for this "
                        r"criterion; at a tie, the tie point's test below decides. A formula "
                        r"written for the vector $\partial L/\partial x$ in the symbols of one entry is read entry "
                        r"by entry, as in T2.1."),
              Criterion("ties", 1, "the tie point",
                        r"Every rule the answer gives at a tie is true. The handout asks that the answer's formula "
                        r"or words say what the tied entries get, and a formula says it when, read at a tie, it gives "
                        r"each tied entry its share of $\delta$ (in an answer that leaves out $\delta$, its weight). "
                        r"The formula, read at a tie, is one rule. So $\delta\,\mathbf{e}_{i^*}$, with $i^*$ a "
                        r"letter fixed "
                        r"once or never defined, says what the tied entries get, all of $\delta$ to one of them and "
                        r"$0$ to the others, and earns the point with no word on ties (the true rules below). With no "
                        r"formula, the "
                        r"words that describe the routing are that rule (rule~4(g) at the front). Tie words are "
                        r"another rule: words that speak of a tie explicitly (``at a tie'', ``if several entries "
                        r"share the maximum'', ``when the maximum is not unique'') and say what the tied entries "
                        r"get. One test, on meaning and not on tone, decides whether tie words take the formula's "
                        r"place at a tie. They keep the formula in force beside them when they call its rule valid "
                        r"at a tie, or when they set their rule beside the formula's, as a further rule or as "
                        r"another choice: ``too'', ``also'', ``as well'', an ``or'' whose other member is the "
                        r"formula, ``alternatively'' and ``one may also'' are frequent examples, not a list to "
                        r"match. Both rules then stand, and a false one loses the point. Words that withdraw the "
                        r"formula (``instead'', ``rather'', ``correction:'', ``actually'') take its place, and so do "
                        r"tie words that refer to no other rule, whatever their mood or modal verb: the formula then "
                        r"gives no rule at a tie. So, after ``$\partial L/\partial x_k = \delta$ if "
                        r"$x_k = \max x$, $0$ otherwise'', the words ``at a tie, split $\delta$ evenly among the "
                        r"tied entries'', ``at a tie one can split $\delta$ evenly'' and ``ties may be handled by "
                        r"an even split'' take its place. The words ``at a tie the even split is valid too'' and "
                        r"``or, at a tie, split $\delta$ evenly'' keep it in force, and so does ``if several entries "
                        r"share the maximum, alternatively split $\delta$ evenly'', which offers the even split as "
                        r"another choice beside the formula. The line is drawn on purpose: "
                        r"such words say that the formula's own rule holds at "
                        r"a tie as well as theirs, so the answer states that rule at a tie, a false one for the mask "
                        r"(rule~4(c) at the front). Without them, tie words state their own rule alone. "
                        r"The statements below the table "
                        r"and the common answers apply this test and no other. A rule the answer withdraws "
                        r"(rule~4(b) at the front) is none of its rules. Remarks that set ties aside (``assuming a "
                        r"unique maximum'') give no rule: they neither earn the point nor lose it, and the formula "
                        r"decides. The statements below the table say which rules are true. A wrong routing's "
                        r"deduction takes the point whatever the words (rule~3(d) at the front). An answer that "
                        r"gives no routing at all, neither a formula nor words for where $\delta$ goes, and no tie "
                        r"words, states "
                        r"nothing about ties and does not earn the point: the handout asks for a statement, and "
                        r"saying nothing never scores better than saying something true. An answer that stops at "
                        r"$\partial L/\partial x_k = \delta\, \partial z/\partial x_k$ gives no routing at all: it "
                        r"earns the chain rule and loses the local derivative and the result. Tie words are a rule "
                        r"of their own, so it earns the tie point when it adds tie words that state a true rule "
                        r"(``at a tie, split $\delta$ evenly''), and loses it otherwise. "
                        r"A local derivative that the answer offers as its answer (the missing $\delta$, case~(d)) "
                        r"routes as its formula does.",
                        statements=(
                            ("True rules", (
                                r"One maximizer takes all of $\delta$ (the first, the last, or another one chosen). "
                                r"A formula in symbols states this rule when it compares the running index $k$ with "
                                r"one index: $k = i^*$, $k = \arg\max_i x_i$ and $\delta\,\mathbf{e}_{i^*}$ do. "
                                r"A formula is read at a tie by its value there, which is the same for every reader: "
                                r"the value test $x_k = \max x$ and the membership $k \in \arg\max x$ hold for every "
                                r"tied entry, so they state the mask, a false rule (last list below). "
                                r"A definition of $\arg\max$ that the answer adds (``$\arg\max$ is the set of "
                                r"maximizers'') does not change this reading: it says nothing of what the tied entries "
                                r"get, and $k = \arg\max_i x_i$ still compares $k$ with one index. By a "
                                r"convention of this key, a letter fixed once stands for one value: an index fixed "
                                r"once by an equation (``let $x_{i^*} = \max x$'') is read as one chosen maximizer, "
                                r"although at a tie several indices solve that equation. A letter that the answer uses "
                                r"for the maximizer's index and never defines (a bare $i^*$, in $k = i^*$ or in "
                                r"$\delta\,\mathbf{e}_{i^*}$) is read the same way, as one chosen maximizer. Read "
                                r"at a tie, a formula that states this rule gives all of $\delta$ to one entry and "
                                r"$0$ to the other tied entries. So it says what the tied entries get, as the handout "
                                r"asks, with no word on ties. Words in the singular that name the entry receiving "
                                r"$\delta$ state this rule too, by the same convention (``No formula: the words are "
                                r"the rule'' below).",
                                r"The tied entries get weights $\ge 0$ that add up to $1$ (an even split, or any "
                                r"other): the result lies in the convex hull of Step~5.")),
                            ("No rule: the formula, read at a tie, decides", (
                                r"A remark that sets ties aside gives no rule: ties have probability $0$ for "
                                r"continuous inputs, are rare or may be ignored; a unique maximum is assumed; $f$ is "
                                r"not differentiable at a tie. Beside the mask $\mathbb{I}[x_k = \max x]$, a false "
                                r"rule (last "
                                r"list below), such a remark leaves that false rule standing, unless tie words take "
                                r"its place (the tie point's test).",
                                r"Words that restate the formula say nothing of ties: ``the maximum entry gets "
                                r"$\delta$'', ``only the winning input gets the gradient'', ``a one-hot vector with "
                                r"a $1$ at the position of the maximum''. Beside a formula that gives the routing, "
                                r"words that say where $\delta$ goes, and do not speak of a tie explicitly, restate "
                                r"it, whatever their grammar: ``the max element(s)'' beside $\delta\,\mathbb{I}[k = "
                                r"i^*]$, and "
                                r"``every entry equal to the maximum gets $\delta$'' beside "
                                r"$\delta \mathbf{e}_{i^*}$. Words decide only where no formula in symbols gives "
                                r"the routing. A routing may be spread over two lines: the chain rule "
                                r"$\partial L/\partial x_k = \delta\, \partial z/\partial x_k$ and, in another line, "
                                r"the local derivative in cases, ``$\partial z/\partial x_k = 1$ if $x_k = \max_i "
                                r"x_i$, "
                                r"$0$ otherwise'', together give it in symbols. Their value test $x_k = \max_i x_i$ "
                                r"is the mask, and the singular words ``$\delta$ goes to whichever entry is "
                                r"largest'' after them restate it.",
                                r"Words about $f$ alone say nothing of ties either: ``the max depends only on the "
                                r"largest entry'', and ``not differentiable everywhere'', which names no tie.")),
                            ("No formula: the words are the rule", (
                                r"With no formula in symbols for the routing, the words that say where $\delta$ goes "
                                r"are the rule. Words that name the entry receiving $\delta$ are decided by one test, "
                                r"on number alone: do they give $\delta$ to one entry or to several? Words that give "
                                r"it to one entry, in the singular, state the true rule of one maximizer taking all "
                                r"of $\delta$, with full credit. The key reads the maximizer they describe as one "
                                r"chosen maximizer, as it reads a letter $i^*$ (above). Their article (``the'', "
                                r"``a'', ``one'', ``some'', ``whichever''), their preposition (``for'', ``to'') and a "
                                r"left side (``$\partial L/\partial x_k =$'') change nothing. So ``$\delta$ goes to "
                                r"the maximizer'', ``$\delta$ goes to a maximizer'', ``$\delta$ for the largest "
                                r"entry'', ``one of the maximizers gets $\delta$'', ``a maximizer receives "
                                r"$\delta$'', ``some maximizer gets $\delta$'' and ``whichever entry is largest'' "
                                r"each state the true rule. Words that instead state a condition that every entry is "
                                r"tested against (with ``if'', ``where'' or ``when'' on the running index $k$ or the "
                                r"entry $x_k$, or a case for the other entries, ``$0$ otherwise'') are a formula read "
                                r"aloud. They score as that formula in symbols, by the test of the true rules above. "
                                r"A condition that compares $k$ with one index states the true rule, as $k = "
                                r"\arg\max_i x_i$ does: ``if $k$ is the argmax'', ``if $k$ is the index of the "
                                r"maximum'' and ``$\delta$ if $x_k$ is the largest entry''. A value test or a "
                                r"membership holds for every tied entry and states the mask, as $x_k = \max x$ and "
                                r"$k \in \arg\max x$ do: ``$\delta$ where $x_k$ equals the maximum'', ``if $k$ is "
                                r"an argmax'', ``if $k$ is the index of a maximum'', and both ``$\delta$ for a "
                                r"maximizer, $0$ otherwise'' and ``$\delta$ if $k$ is a maximizer, $0$ otherwise'', "
                                r"whose case gives $\delta$ to each entry that is a maximizer. "
                                r"Where the answer's own tie words say "
                                r"otherwise, those are its rule at a tie (the tie point's test).",
                                r"Words that give $\delta$ to several entries state the mask "
                                r"$\mathbb{I}[x_k = \max x]$, a false rule (last list below): what receives $\delta$ "
                                r"is in the plural or has ``(s)'', or ``each'', ``every'', ``all'' or ``any'' (not "
                                r"``any one''). Examples are ``the entries equal to the maximum'', ``the max "
                                r"element(s)'', ``each input equal to the maximum'', ``all the maximizers get "
                                r"$\delta$'' and ``any entry that attains the maximum''.")),
                            ("False rules: the point is lost", (
                                r"A formula, or code (a formula too, rule~1(c) at the front), is false when it does "
                                r"one of three things at a tie. It gives all of $\delta$ to every tied entry, as "
                                r"the mask $\mathbb{I}[x_k = \max x]$ does, and so does the indicator of "
                                r"the set of maximizers, $\mathbb{I}[k \in \arg\max x]$. Words that give $\delta$ to "
                                r"several entries, and words that state a value test or a membership, state the mask "
                                r"(the list above). Or it gives every tied entry $0$. "
                                r"Or its weights "
                                r"do not add "
                                r"up to $1$, or are negative (Step~5). Such a formula loses the point beside a true "
                                r"formula too, and beside true tie words that keep it in force (``at a tie the even "
                                r"split is valid too'', by the tie point's test): the answer contradicts itself "
                                r"(rule~4(c) at the front), and the false rule stands. Two exceptions set it aside: "
                                r"the answer withdraws the formula, or tie words take its place (the tie point's "
                                r"test). The point is then decided by the answer's other rules: tie words earn it "
                                r"when they are true, and an answer left with no routing does not earn it (above).",
                                r"Tie words (defined in the tie point's line) that state one of these rules, or "
                                r"offer one as a valid choice, alone or among true ones (``at a tie, split it evenly, "
                                r"or give all of "
                                r"$\delta$ to each tied entry: both are valid''), are false. Unless withdrawn, they "
                                r"lose the point whatever else the answer says of ties. Tie words are read by the "
                                r"number "
                                r"of the lists above: tied entries in the plural, or with ``each'', ``every'' or "
                                r"``all'', that receive $\delta$ with no share stated (``at a tie, $\delta$ goes to "
                                r"the "
                                r"tied entries'', ``if several entries share the maximum, the gradient flows to all of "
                                r"them'') each get all of $\delta$, a false rule; words that split or share $\delta$ "
                                r"among them state weights that add up to $1$, a true rule. Words that do not speak "
                                r"of a "
                                r"tie are no such rule: beside a formula they restate it, and with no formula they "
                                r"are the rule, graded by their number (the lists above)."))))),
    deductions=(NO_DELTA, OTHER_SETTING, LOSS, RANGE,
                wrong_routing(r"sends $\delta$, or a share of it, to an entry that is not a maximizer, as the "
                              r"gradients of a mean and of a sum do", charges=("local", "result", "ties"),
                              then=r"At a tie too, whenever some entry is not a maximizer, such a formula sends it a "
                                   r"share, so the deduction also takes the tie point. "),
                Deduction("all-ties", "a wrong rule at ties",
                          r"A wrong rule at ties, that is, a rule of the list ``False rules: the point is lost'' "
                          r"under the tie point above, such as all of $\delta$ to every tied entry, in a formula "
                          r"or in words, "
                          r"unless the answer withdraws it or tie words take its place at a tie (the tie point's "
                          r"test)",
                          charges=("ties",))),
    full_credit=(r"any rule of Step~5: weights $\ge 0$ on the tied entries that add up to $1$, such as one "
                 r"maximizer (the first, the last, or another one chosen) or an even split",
                 r"the switch description: remember where the maximum was, send $\delta$ there, with $\delta$ named "
                 r"(rule~7 at the front: ``send the gradient there'' names it too)",
                 r"indices from $0$ or from $1$ and, where a range is written, $d$ values in it (rule~5(e) at "
                 r"the front)",
                 r"the gradient of a smooth maximum, such as $\delta\,\operatorname{softmax}(\beta x)$, taken to "
                 r"its limit $\beta \to \infty$ in a formula: the lines before the limit are the steps of that "
                 r"route, not a routing of $\delta$ of their own, and the criteria are graded on the limit; at a tie "
                 r"it is the "
                 r"even split, a rule of Step~5. A final formula at a finite $\beta$ (boxed or last) is the "
                 r"answer's routing, a wrong one, whatever its words say of the limit (rule~4(g) at the front)",
                 r"the sum $\sum_\mu w_\mu g_\mu$ (with its $j$ dropped: one output) in place of $\delta$, when the "
                 r"answer identifies it with $\partial L/\partial z$ (rule~7 at the front)")),
    WRONG, question="T2", number=2)

# the grading key's illustrative example: three entries
ILLUSTRATION: dict[str, Any] = {"x": np.array([0.5, 2.0, -1.0]), "delta": 3.0}
STEPS += illustrations(PART, (x, delta_s), x, ILLUSTRATION)
