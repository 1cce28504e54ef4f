"""verify.grade.plain: the key's LaTeX as the text a student reads in a feedback file (no sandbox needed)."""
from __future__ import annotations

import pytest

from verify import grade
from verify.homework import load

HW = load("solutions")


@pytest.mark.parametrize("latex, text", [
    (r"$\hat{y} - y$ without $\delta$", "ŷ - y without δ"),
    (r"$\partial \hat{y}_i / \partial z_k$ is not $0$ when $i \ne k$", "∂ŷ_i / ∂z_k is not 0 when i ≠ k"),
    (r"$a \le b$, $a \leq b$, $a \geq b$, $x \in S$, $x \notin S$, $x \to 0$, $a \approx b$",
     "a ≤ b, a ≤ b, a ≥ b, x ∈ S, x ∉ S, x → 0, a ≈ b"),
    (r"$\partial \ell / \partial z$", "∂ℓ / ∂z"),
    (r"$\bar{x}$, $\tilde{x}$, $\hat x$, $\left(x\right)$, $\int$, $\infty$", "x̄, x̃, x̂, (x), int, ∞"),
])
def test_plain_text_keeps_accents_and_relations(latex, text):
    assert grade.plain(latex) == text


@pytest.mark.parametrize("latex, text", [
    (r"$p - \mathbf{e}_c$", "p - e_c"),
    (r"$\delta (p - \mathbf{1})$", "δ (p - 1)"),
    (r"$\mathbf 1$", "1"),
    (r"$\boldsymbol{\delta} \odot x$", "δ ⊙ x"),
    (r"$\bm{x}$", "x"),
    (r"$\mathrm{d}x$", "dx"),
    (r"$\mathit{AB}$", "AB"),
    (r"$\mathsf{T}$", "T"),
    (r"$\mathtt{z}$", "z"),
    (r"$\mathcal{L}$", "L"),
    (r"$z \in \mathbb{R}^K$", "z ∈ ℝ^K"),
    (r"$\operatorname{softmax}(z)$", "softmax(z)"),
    (r"$\operatorname*{arg\,max}_j z_j$", "arg max_j z_j"),
    (r"$x_k$ \text{if} $x_k > 0$", "x_k if x_k > 0"),
    (r"\textbf{not} the gradient, \emph{only} its sign", "not the gradient, only its sign"),
    (r"\texttt{delta.sum()} or \textit{a loop}", "delta.sum() or a loop"),
    (r"$\frac{\mathbf{1}}{d}$", "1/d"),
])
def test_plain_text_reads_the_argument_of_a_font_command(latex, text):
    assert grade.plain(latex) == text


@pytest.mark.parametrize("latex, text", [
    (r"$\sum_{\nu=1}^N (y_\nu - t_\nu)$", "Σ_ν=1^N (y_ν - t_ν)"),
    (r"$\beta + \eta$", "β + η"),              # \eta is not the end of \beta
    (r"$\mu$, $\lambda$, $\Lambda$, $\Delta$", "μ, λ, Λ, Δ"),
    (r"$\varepsilon \ne \epsilon$", "ε ≠ ε"),
    (r"$\nabla_x f$", "∇_x f"),
])
def test_plain_text_writes_greek_letters_as_letters(latex, text):
    assert grade.plain(latex) == text


def test_plain_text_of_every_note_leaves_no_latex():
    for part in HW.parts:
        for wrong in part.wrong_answers:
            for latex in (wrong.title, wrong.why, wrong.decision):
                assert not set(grade.plain(latex)) & set("\\${}"), latex
