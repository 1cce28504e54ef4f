"""Rendering: template mistakes name their file and line; unchecked mathematics stops the build."""
from __future__ import annotations

import dataclasses

import pytest

from pipeline import render
from pipeline.errors import CoverageError, TemplateError

from ..conftest import edit

ORIGIN = {"commit": "abc1234", "checks": 1}


@pytest.fixture(scope="module")
def notes(verification):
    return verification.notes   # judged once per test run (conftest)


def render_all(homework, paths, notes):
    renderer = render.Renderer(homework, paths.templates, paths.tex)
    renderer.units()
    renderer.documents(ORIGIN)
    renderer.grading(notes)
    renderer.finish()
    return renderer


def test_every_display_carries_the_marker_of_its_step(homework, paths, notes):
    render_all(homework, paths, notes)
    for tex in paths.tex.glob("*.tex"):
        lines = tex.read_text().splitlines()
        starts = [n for n, line in enumerate(lines) if line.startswith((r"\begin{align*}", r"\begin{empheq}"))]
        assert all(lines[n - 1].startswith(("% verified: ", "% definition: ")) for n in starts), tex.name


def test_an_undefined_name_is_reported_at_the_template_line(homework, paths, notes):
    line = edit(paths.templates / "t1.tex.j2", r"\stephead{Step 2: the local derivative.}",
                r"((( delta_hat ))) \stephead{Step 2: the local derivative.}")
    with pytest.raises(TemplateError, match=rf"templates/t1.tex.j2:{line}: 'delta_hat' is undefined"):
        render_all(homework, paths, notes)


def test_a_syntax_error_is_reported_at_the_template_line(homework, paths, notes):
    line = edit(paths.templates / "t2_tanh.tex.j2", r"\stephead{Step 1: the chain rule.}",
                r"((* if *)) \stephead{Step 1: the chain rule.}")
    with pytest.raises(TemplateError, match=rf"templates/t2_tanh.tex.j2:{line}:"):
        render_all(homework, paths, notes)


def test_an_unknown_step_suggests_the_nearest_ids_not_all_of_them(homework, paths, notes):
    line = edit(paths.templates / "t1.tex.j2", 'step("t1.dW.local")', 'step("t1.dW.locl")')
    with pytest.raises(TemplateError) as failure:
        render_all(homework, paths, notes)
    message = str(failure.value)
    assert message.startswith(f"templates/t1.tex.j2:{line}: unknown step 't1.dW.locl'")
    assert "'t1.dW.local'" in message and message.count("'t1.") <= 4


@pytest.mark.parametrize("display", ["equation", "alignat*", "xalignat", "flalign*", "dmath", " equation*"])
def test_a_display_typed_by_hand_is_refused_at_its_template_line(homework, paths, notes, display):
    opening = f"\\begin{{{display.strip()}}}" + ("{1}" if "alignat" in display else "")
    if display.startswith(" "):   # "\\begin {equation*}": TeX reads it as \\begin{equation*}
        opening = opening.replace("\\begin{", "\\begin {")
    display = display.strip()
    line = edit(paths.templates / "t2_avgpool.tex.j2", r"\stephead{Step 2: the local derivative.}",
                f"{opening} f = 0 \\end{{{display}}}\n\\stephead{{Step 2: the local derivative.}}")
    with pytest.raises(CoverageError, match=rf"templates/t2_avgpool.tex.j2:{line}: a display without"):
        # the whole build's render for the first, the scan of the one unit (as the build scans it) for the rest
        render_all(homework, paths, notes) if display == "equation" else scan_one(homework, paths, "t2_avgpool")


def test_a_marker_over_another_formula_is_refused(homework, paths, notes):
    edit(paths.templates / "t1.tex.j2", '((( step("t1.db.local") )))',
         '% verified: t1.db.local\n\\begin{align*}\n\\frac{\\partial Y}{\\partial b} &= 2\n\\end{align*}')
    with pytest.raises(CoverageError, match="is not that step's checked formula"):
        render_all(homework, paths, notes)


@pytest.mark.parametrize("typed", ["$a = b$", "\\begin{center}$a = b$\\end{center}",
                                   "\\begin{center}\n$(0, 3, 0, 0)^T$\n\\end{center}", "\\(x = 2\\).",
                                   "\\centerline{$\\frac{\\partial L}{\\partial x} = 2x$}",
                                   "\\par\\hfill$a = b$\\hfill\\par", "\\noindent\\hspace{2em}\\(a = b\\)\\\\[4pt]",
                                   "\\fbox{$a = 7777\\,\\delta$}", "\\ensuremath{a = b}",
                                   "\\begin{math}a = b\\end{math}"])
def test_mathematics_set_apart_without_a_step_is_refused(homework, paths, notes, typed):
    line = edit(paths.templates / "t2_tanh.tex.j2", r"\stephead{Step 2: the local derivative.}",
                f"\n{typed}\n\n\\stephead{{Step 2: the local derivative.}}")
    with pytest.raises(CoverageError, match=r"templates/t2_tanh.tex.j2:\d+: mathematics set apart") as failure:
        # the whole build's render for the first, the scan of the one unit (as the build scans it) for the rest
        render_all(homework, paths, notes) if typed == "$a = b$" else scan_one(homework, paths, "t2_tanh")
    assert f":{line + 1}:" in str(failure.value) or f":{line + 2}:" in str(failure.value)


def test_a_quotation_marked_unchecked_may_show_displays_and_only_inside_its_environment(homework, paths, notes):
    quoted = "\\begin{unchecked}\n\\[\ny = W \\cdot X + b\n\\]\n$$L = 1$$\n\\end{unchecked}\n"
    edit(paths.templates / "t2_tanh.tex.j2", r"\stephead{Step 2: the local derivative.}",
         quoted + "\\stephead{Step 2: the local derivative.}")
    render_all(homework, paths, notes)
    line = edit(paths.templates / "t2_tanh.tex.j2", "\\end{unchecked}\n", "\\end{unchecked}\n\\[ y = 1 \\]\n") + 1
    with pytest.raises(CoverageError, match=rf"templates/t2_tanh.tex.j2:{line}: a display without"):
        render_all(homework, paths, notes)


# Ways to set a formula apart from the text (29), each refused by the positive rule of the scan (a formula
# with a relation is allowed only in a sentence of running text), or by the display and lone-math rules
SET_APART = [
    "{\\centering $a = b$\\par}",
    "\\begin{tabular}{c} $a = b$ \\end{tabular}",
    "\\begin{tabular}{c}\n$a = b$\n\\end{tabular}",
    "Here $\\begin{array}{c} a = b \\end{array}$ as shown.",
    "\\fbox{\\parbox{5cm}{Here we find $a = b$ for all values.}}",
    "\\begin{minipage}{3cm}\\centering $a = b$ for all values\\end{minipage}",
    "\\begin{minipage}{0.5\\linewidth}$a = b$\\end{minipage}",
    "\\makebox[\\linewidth]{$a = b$} for all values.",
    "$\\vcenter{\\hbox{$a = b$}}$",
    "Thus \\hfill $a = b$ \\hfill holds here.",
    "Thus \\\\ $a = b$ \\\\ holds here.",
    "Then \\newline $a = b$ \\newline follows here.",
    "\\begin{flushright}$a = b$\\end{flushright}",
    "\\begin{quote}$a = b$ holds for all entries\\end{quote}",
    "\\begin{itemize}\n\\item $a = b$\n\\end{itemize}",
    "So $\\boxed{a = b}$ is what we get.",
    "\\raisebox{2pt}{$a = b$} and so on.",
    "\\colorbox{yellow}{$a = b$} we note here.",
    "{\\large $a = b$}",
    "\\begin{tabbing}\n$a = b$ holds in each row\n\\end{tabbing}",
    "\\vspace{1em}\\noindent $a \\le b$ \\vspace{1em}",
    "\\hspace*{\\fill}$a \\in B$\\hspace*{\\fill}",
    "\\par\\noindent\\hfil $x \\to 0$ \\hfil\\par",
    "Note that $a\n= b$ holds.",
    "\\begin{center} we have $a = b$ here \\end{center}",
    "\\begin{displaymath} a = b \\end{displaymath}",
    "\\[ a \\ne b \\]",
    "{\\centering\nWe find $a = b$ for all values.\n\\par}",
    "\\begin{minipage}{\\linewidth}\\raggedleft\nWe find $a = b$ for all values.\n\\end{minipage}",
]


def scan_one(homework, paths, module: str) -> None:
    """Render one unit's template and scan it as the build does (the whole build's scan, for one file)."""
    renderer = render.Renderer(homework, paths.templates, paths.tex)
    renderer.calls.template = f"{module}.tex.j2"
    path = render.templating.render_file(renderer.env, f"{module}.tex.j2", paths.tex / f"{module}.tex",
                                         {"homework": render._homework_context(homework)})
    problems = render._scan(path, f"{module}.tex.j2", renderer.calls.steps, {})
    if problems:
        raise CoverageError("\n".join(problems))


def test_the_unit_scan_passes_the_homework_as_it_is(homework, paths):
    scan_one(homework, paths, "t2_tanh")


@pytest.mark.parametrize("typed", SET_APART)
def test_every_way_to_set_a_formula_apart_is_refused(homework, paths, typed):
    edit(paths.templates / "t2_tanh.tex.j2", r"\stephead{Step 2: the local derivative.}",
         f"\n{typed}\n\n\\stephead{{Step 2: the local derivative.}}")
    with pytest.raises(CoverageError, match=r"templates/t2_tanh.tex.j2:\d+: (mathematics set apart|a display without)"):
        scan_one(homework, paths, "t2_tanh")


@pytest.mark.parametrize("typed", ["so that $a = b$ holds for every entry.", "\\emph{so that $a \\le b$ holds}.",
                                   "The rubric: \\textbf{Note.} $x_k > 0$ where it is positive.",
                                   "\\begin{itemize}\n\\item the gradient is $a = b$ for every entry\n\\end{itemize}",
                                   "{\\small\nso that $a = b$ holds for every entry.\n}"])
def test_a_relation_in_a_sentence_is_running_text(homework, paths, typed):
    edit(paths.templates / "t2_tanh.tex.j2", r"\stephead{Step 2: the local derivative.}",
         f"\n{typed}\n\n\\stephead{{Step 2: the local derivative.}}")
    scan_one(homework, paths, "t2_tanh")


def test_inline_mathematics_in_a_sentence_is_prose(homework, paths, notes):
    edit(paths.templates / "t2_tanh.tex.j2", r"\stephead{Step 2: the local derivative.}",
         "$z$ is the output of $\\tanh$.\n\n\\stephead{Step 2: the local derivative.}")
    render_all(homework, paths, notes)


def test_a_step_shown_nowhere_is_reported(homework, paths, notes):
    edit(paths.templates / "t1.tex.j2", '((( step("t1.dW.shape") )))', "")
    with pytest.raises(CoverageError, match="shown nowhere.*t1.dW.shape"):
        render_all(homework, paths, notes)


def test_a_part_written_twice_or_out_of_order_is_reported(homework, paths, notes):
    text = (paths.templates / "t1.tex.j2").read_text()
    swapped = text.replace('part("t1.dW")', "PLACEHOLDER").replace('part("t1.db")', 'part("t1.dW")') \
        .replace("PLACEHOLDER", 'part("t1.db")')
    (paths.templates / "t1.tex.j2").write_text(swapped)
    with pytest.raises(CoverageError, match="their numbers give"):
        render_all(homework, paths, notes)


def test_a_part_without_its_grading_material_is_reported(homework, paths, notes):
    edit(paths.templates / "t2_avgpool.tex.j2", '((( grading("t2.avgpool") )))', "")
    with pytest.raises(CoverageError, match="without their grading material.*t2.avgpool"):
        render_all(homework, paths, notes)


def test_the_questions_and_parts_follow_the_registry(homework, paths, notes):
    render_all(homework, paths, notes)
    main = (paths.tex / f"{homework.identity.name}.tex").read_text()
    files = [next(u.module for u in homework.units if u.question and u.question.id == q.id) for q in homework.questions]
    inputs = [main.index(rf"\input{{{module}}}") for module in files]
    assert inputs == sorted(inputs)
    for question, module in zip(homework.questions, files):
        text = (paths.tex / f"{module}.tex").read_text()
        attached = [text.index(rf"\input{{{unit.module}}}") for unit in homework.attached(question.id)[0]]
        assert attached == sorted(attached)
    for unit in homework.units:
        if unit.part is not None:
            assert (paths.tex / f"{unit.module}.tex").read_text().count(rf"\part[{unit.part.points}]") == 1


def test_a_question_is_printed_with_the_title_of_its_question(homework, paths, notes):
    unit = next(u for u in reversed(homework.units) if u.question is not None)
    module, question = unit.module, unit.question
    retitled = dataclasses.replace(question, title="A title of its own")
    units = [dataclasses.replace(u, declares=retitled) if u.module == module else u for u in homework.units]
    render_all(type(homework).assemble("solutions", units), paths, notes)
    text = (paths.tex / f"{module}.tex").read_text()
    assert r"\renewcommand{\qtitle}{A title of its own}" in text and f"Question {question.id}: A title of its own" in text


def test_a_question_started_without_question_is_reported(homework, paths, notes):
    module = next(u.module for u in homework.units if u.question is not None)
    qid = next(u.question.id for u in homework.units if u.module == module)
    edit(paths.templates / f"{module}.tex.j2", f'((( question("{qid}") )))', rf"\titledquestion{{{qid}}}")
    with pytest.raises(CoverageError, match=r"start each exactly once with \(\(\( question"):
        render_all(homework, paths, notes)


def test_the_documents_name_the_homework_from_its_identity(homework, paths, notes):
    from verify.identity import HomeworkIdentity
    other = HomeworkIdentity("Deep Learning", "CSCI-GA.2572", 5, "Ada Lovelace")
    renamed = type(homework).assemble("solutions", list(homework.units), other)
    renderer = render.Renderer(renamed, paths.templates, paths.tex)
    renderer.units()
    written = renderer.documents(ORIGIN)
    assert sorted(written) == ["hw5", "hw5-grading", "hw5-solutions"]
    text = written["hw5-grading"].read_text()
    assert "Deep Learning (CSCI-GA.2572): Homework 5" in text and "Instructor: Ada Lovelace" in text
    assert "pdfauthor={Ada Lovelace}" in text
    assert f"pdfkeywords={{{', '.join(homework.keywords)}; source commit abc1234}}" in text   # from the units
    assert "abc1234" not in written["hw5-solutions"].read_text()     # students' files carry no build information
    assert "Chopra" not in text and "473" not in text


def test_unchanged_files_are_not_rewritten(homework, paths, notes):
    render_all(homework, paths, notes)
    before = {f: f.stat().st_mtime_ns for f in paths.tex.iterdir()}
    render_all(homework, paths, notes)
    assert before == {f: f.stat().st_mtime_ns for f in paths.tex.iterdir()}


def test_provenance_goes_into_the_grading_keys_metadata_alone_never_onto_a_page(homework, paths, notes):
    render_all(homework, paths, notes)
    handout = homework.identity.name
    for name in (handout, f"{handout}-solutions", f"{handout}-grading"):
        text = (paths.tex / f"{name}.tex").read_text()
        preamble, body = text.split(r"\begin{document}")
        # students receive the handout and the solutions: no build information in them
        assert "pdftitle={" in preamble and ("abc1234" in preamble) == (name == f"{handout}-grading")
        assert "abc1234" not in body and "checks" not in body


def test_a_unit_may_not_take_the_name_of_the_shared_preamble(homework, paths):
    units = [dataclasses.replace(u, module="preamble") if u.module == "t1_remarks" else u for u in homework.units]
    renamed = type(homework).assemble("solutions", units)
    with pytest.raises(TemplateError, match=r"solutions/preamble.py: 'preamble' names the documents' shared preamble"):
        render.Renderer(renamed, paths.templates, paths.tex).units()


@pytest.mark.parametrize("typed, why", [("$a = b$:", "a line that is one formula and nothing else"),
                                        ("$x_k$.", "a line that is one formula and nothing else"),
                                        ("\\begin{center}\nwe see $x$ here\n\\end{center}", "a formula in a center")])
def test_a_formula_set_apart_by_its_line_or_a_centering_environment_is_told_why(homework, paths, typed, why):
    edit(paths.templates / "t2_tanh.tex.j2", r"\stephead{Step 2: the local derivative.}",
         f"\n{typed}\n\n\\stephead{{Step 2: the local derivative.}}")
    with pytest.raises(CoverageError, match="mathematics set apart") as failure:
        scan_one(homework, paths, "t2_tanh")
    assert f"({why}" in str(failure.value) and "step(" in str(failure.value)


def test_each_note_says_what_every_deduction_takes_and_the_rest_by_their_own_lines(notes):
    """A note prints, per deduction, exactly the criteria that deduction names, and then the criteria the
    answer loses by their own lines; together with the penalties they make the printed score (issue 14:
    a deduction may not be said to take a point it does not name, as the wrong routing once did)."""
    seen = 0
    for note in notes:
        part, answer = note.part, note.answer
        context = render._note_context(note)
        deductions = [part.rubric.deduction(d) for d in answer.deductions]
        named = {c for d in deductions for c in d.charges}
        for printed, deduction in zip(context["deductions"], deductions):
            assert printed["takes"] == render._charges([part.rubric.criterion(c) for c in deduction.charges])
        # in the reading that gives the answer the most points (rule 2(a)): the note's one score
        besides = [c for c in part.charged(answer) if c.id not in named]
        assert context["besides"] == render._charges(besides), answer.id
        lost = sum(c.points for c in part.charged(answer)) + sum(d.points for d in deductions)
        assert context["points"] == max(0, part.points - lost) or any(d.cap is not None for d in deductions)
        seen += bool(besides and deductions)
    assert seen      # the dense-layer samples: a deduction and a criterion lost by its own line


def test_a_shared_deduction_is_said_in_full_once_and_every_rubric_says_its_own_cost(homework, paths, notes):
    """A deduction that several rubrics share is written out in the first of them alone; each later rubric
    names it, points to the page where it is said, and states what it costs in that part, from that part's
    criteria (issue 14: four deductions were repeated word for word, one of them six times)."""
    render_all(homework, paths, notes)
    written = {part.id: (paths.tex / f"grading-{part.id}.tex").read_text() for part in homework.parts}
    shared = 0
    for deduction in {d.text: d for part in homework.parts for d in part.rubric.deductions}.values():
        having = [p for p in homework.parts if deduction.text in [d.text for d in p.rubric.deductions]]
        assert sum(written[p.id].count(deduction.text) for p in homework.parts) == 1, deduction.id
        assert deduction.text in written[having[0].id]
        label = rf"\pageref{{deduction-{having[0].id}-{deduction.id}}}"
        for part in having[1:]:
            cost = render._rule(part, part.rubric.deduction(deduction.id), first=False)
            assert label in written[part.id] and cost in written[part.id], (part.id, deduction.id)
        shared += len(having) > 1
    assert shared >= 4   # no steps, the dense-layer reading, the assumed loss, the missing delta, the network setting


def test_prose_that_lists_a_questions_parts_follows_the_registry(homework, paths):
    """part_titles and part_numbers read the registry: a part added or taken out changes the sentence."""
    question = max(homework.questions, key=lambda q: len(homework.attached(q.id)[0]))
    attached = homework.attached(question.id)[0]
    assert len(attached) >= 2, "a question with parts in modules of their own"
    fewer = type(homework).assemble("solutions", [u for u in homework.units if u is not attached[-1]])
    line = f'((( part_titles("{question.id}") ))), parts ((( part_numbers("{question.id}") ))).'
    for registry in (homework, fewer):
        parts = next(q for q in registry.questions if q.id == question.id).parts
        text = render.Renderer(registry, paths.templates, paths.tex).env.from_string(line).render()
        titles, numbers = text.split(", parts ")
        found = [titles.lower().index(p.title.lower()) for p in parts]
        assert found == sorted(found) and titles.count(" and ") == 1
        expected = f"{parts[0].number} to {parts[-1].number}" if len(parts) > 2 else \
            " and ".join(str(p.number) for p in parts)
        assert numbers == expected + "."
    assert attached[-1].part.title.lower() not in text.lower()


def test_a_part_heading_asks_for_room_only_where_its_solution_follows(homework, paths):
    # 12 free lines before every part pushed the handout's three one-line T2 parts onto a page of their own
    part = homework.parts[0]
    text = render.Renderer(homework, paths.templates, paths.tex).env.from_string(
        f'((( part("{part.id}") )))').render()
    assert text == (rf"\ifprintanswers\needspace{{12\baselineskip}}\fi\part[{part.points}]"
                    rf"\pdfbookmark[2]{{{part.label} {render.escape_tex(part.title)}}}{{part-{part.label}}}")


def test_a_title_in_a_sentence_keeps_an_acronym():
    assert [render._in_sentence(t) for t in ("Max pooling", "Tanh", "ReLU", "Softmax with cross-entropy")] == \
        ["max pooling", "tanh", "ReLU", "softmax with cross-entropy"]


def test_a_note_at_a_kink_says_so_in_words_that_fit_any_kink(homework, paths, notes):
    render_all(homework, paths, notes)
    text = "".join((paths.tex / f"grading-{p.id}.tex").read_text() for p in homework.parts)
    at_kink = [n for n in notes if "inputs" in n.steps and "expected" not in n.steps]
    assert text.count("Here the function has no single gradient (a kink); an accepted answer is") == len(at_kink)
    assert "At this tie" not in text     # max pooling's word, wrong at a ReLU's kink


def test_a_value_and_the_set_it_lies_in_share_one_row_while_a_chain_of_equalities_breaks_per_relation(homework):
    """render_step: a three-sided chain that ends in a set ("δe = (0, 3) ∈ GL(x)") is one statement on one row (the
    set's name alone on the next row read as a bad break); every other chain puts each further side on a row of its
    own, aligned at its relation."""
    member = next(s for s in homework.steps.values() if s.relation in ("in", "notin") and len(s.sides) == 3)
    body = render.render_step(member).split("\n")
    assert len([line for line in body if "&" in line]) == 1 and (r"\in" in body[2] or r"\notin" in body[2])
    chain = next(s for s in homework.steps.values() if s.relation == "=" and len(s.sides) == 3 and not s.over
                 and not s.note)
    rows = [line for line in render.render_step(chain).split("\n") if line.startswith("&") or " &=" in line]
    assert len(rows) == 2 and rows[1].startswith("&= ")


def test_a_deduction_said_in_sentences_states_its_cost_in_a_sentence_of_its_own(homework, paths, notes):
    """A deduction whose text is sentences (it ends with a period, as the wrong routing does) is followed by
    "The answer loses ...", never by a colon after a full stop; one that is a noun phrase keeps ": the answer"
    (review36/37: the wrong routing's cost hung at the end of one nested sentence)."""
    render_all(homework, paths, notes)
    maxpool = (paths.tex / "grading-t2.maxpool.tex").read_text()
    assert r"Every other wrong routing is charged as follows. The answer loses the local derivative" in maxpool
    assert r"take its place at a tie (the tie point's test): the answer loses the tie point" in maxpool
    assert ".: the answer" not in maxpool


def _lettered_items(key, heading):
    """The titles of the lettered items (a), (b), ... of the key's rule whose bold heading is `heading`."""
    import re
    rule = key.split(r"\item \textbf{" + heading + "}", 1)[1].split(r"\end{enumerate}", 1)[0]
    return re.findall(r"\\item \\emph\{((?:[^{}]|\{[^{}]*\})*)\}", rule)


def test_every_reference_to_a_sub_rule_names_one_that_exists(homework, paths, notes):
    """Rules 1 to 5 of the key are split into lettered items, one decision each; every "rule~1(x)" to
    "rule~5(x)" of the key's prose, in its preface and in every part, names one of them, and no reference to
    rule 1 or 4 is left without its item (review36/37: its references had to follow)."""
    import re
    render_all(homework, paths, notes)
    key = "".join(path.read_text() for path in paths.tex.glob("*grading*.tex"))
    numbers = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
    for number, heading in (("1", "Steps."), ("2", "Conventions."), ("3", "Charged once."),
                            ("4", "Answers that contradict themselves."), ("5", "Ranges and shapes.")):
        letters = "abcdefghijkl"[:len(_lettered_items(key, heading))]
        # the rule says how many decisions it makes, and they are its items
        said = re.search(r"This rule makes (\w+) decisions, one in each of its items \(a\) to \(([a-z])\)",
                         key.split(r"\item \textbf{" + heading + "}", 1)[1])
        assert said and (said[1], said[2]) == (numbers[len(letters) - 1], letters[-1]), (heading, letters)
        referenced = set(re.findall(rf"rules?~(?:\d(?:\([a-z]\))? and~)?{number}\(([a-z])\)", key))
        assert referenced and referenced <= set(letters), (number, referenced)
    assert not re.findall(r"rules?~[14](?![\d(])|rules~\d and~[14](?![\d(])", key)   # rule~10 is a rule of its own


def test_the_items_of_rules_1_3_4_and_5_are_titled_by_what_they_decide(homework, paths, notes):
    """Rules 1, 3, 4 and 5 of the key, once up to a page each in one paragraph, are lettered items titled, as rule 2's
    are, by the question each decides (F6: a TA applies rule 2's items more easily than a page-long rule)."""
    render_all(homework, paths, notes)
    key = (paths.tex / "hw4-grading.tex").read_text()
    assert _lettered_items(key, "Steps.") == [
        "Where steps are asked for.", "What gives a T1 answer its steps.", "What is no step.",
        "Words: a step, a form of the result or the forward pass.", "A sum over the outputs: a step, or a final form.",
        "When a local derivative is shown.", "When words count as a line.", "Several criteria in one line.",
        "Products and sums in T2."]
    assert _lettered_items(key, "Charged once.") == [
        "Where an error is charged.", "What a deduction takes.", "Lines that follow from a charged error.",
        "The gradient of another function.", "How errors are counted.", "A stray wrong formula."]
    assert _lettered_items(key, "Answers that contradict themselves.") == [
        "When a criterion is earned.", "Which words withdraw a line.", "Wrong lines not withdrawn.",
        "What a correction withdraws.", "Which line the other such words withdraw.", "A right final line after a wrong sum.",
        r"Where $\delta$ goes in the poolings."]
    assert _lettered_items(key, "Ranges and shapes.") == [
        "Sums without bounds.", r"Bounds past the outputs.", "Where a wrong bound is charged.",
        "Whether the shape must be stated.", "A range of the result's index.", "A result of another shape.",
        "When a shape is charged.", "Rows and columns in T2."]
    assert "This rule makes eight decisions, one in each of its items (a) to (h)." in key
    assert "This rule makes nine decisions, one in each of its items (a) to (i)." in key
    assert "This rule makes six decisions, one in each of its items (a) to (f)." in key     # rules 2 and 3
    assert "This rule makes seven decisions, one in each of its items (a) to (g)." in key


def test_a_worked_sum_too_wide_for_the_page_is_broken_into_lines_of_about_the_same_width():
    # a student's variant set its nine-term worked sum for dL/dW_{0,1} 25 pt past the margin
    from pipeline.render import _sum_lines
    wide = (r"2 \cdot 3 + (-1) \cdot 3 + 0 \cdot 2 + (-2) \cdot 0 + (-1) \cdot (-2) + 0 \cdot (-2) + (-1) \cdot (-1) "
            r"+ (-1) \cdot 3 + (-1) \cdot 0")
    assert _sum_lines(wide) == [r"2 \cdot 3 + (-1) \cdot 3 + 0 \cdot 2 + (-2) \cdot 0 + (-1) \cdot (-2)",
                                r"+ 0 \cdot (-2) + (-1) \cdot (-1) + (-1) \cdot 3 + (-1) \cdot 0"]
    fits = r"1 \cdot 2 + 0 \cdot 0 + (-1) \cdot (-1) + 2 \cdot 1 + 1 \cdot 3 + 0 \cdot 1 + 0 \cdot (-1) + (-1) \cdot 1 + 1 \cdot 0"
    assert _sum_lines(fits) == [fits]


def test_a_sum_is_broken_only_at_its_top_level():
    from pipeline.render import _sum_lines
    inner = r"\left(" + " + ".join(f"a_{{{n}}}" for n in range(30)) + r"\right)"
    assert _sum_lines(inner) == [inner]
    assert _sum_lines(" - ".join([r"\frac{x + y}{2}"] * 12)) == [" - ".join([r"\frac{x + y}{2}"] * 6),
                                                                "- " + " - ".join([r"\frac{x + y}{2}"] * 6)]
    cases = (r"\begin{dcases} W_{k - i,l - j} & \text{if } 0 \le k - i \le p - 1,\ 0 \le l - j \le p - 1 + "
             + " + ".join(["q"] * 30) + r" \\ 0 & \text{otherwise} \end{dcases}")
    assert _sum_lines(cases) == [cases]


def test_no_item_of_the_rules_says_its_title_again(homework, paths, notes):
    """An item's title names what it decides; its first sentence never says the title over again (review44: "(f) A
    local derivative is shown when its value is written. A local derivative is shown when its value is written, in
    symbols or in words.")."""
    import re
    render_all(homework, paths, notes)
    key = (paths.tex / "hw4-grading.tex").read_text()
    rules = key.split(r"\item \textbf{Steps.}", 1)[1].split(r"\item \textbf{The gradient with respect", 1)[0]
    items = re.findall(r"\\item \\emph\{((?:[^{}]|\{[^{}]*\})*)\} (\S+ \S+ \S+ \S+)", rules)
    assert len(items) >= 30   # the scan finds the rules' items (35 today)
    repeated = [title for title, opening in items if title.lower().startswith(opening.lower().rstrip(".,:;"))]
    assert not repeated, repeated


def test_the_handout_and_the_key_ask_the_same_of_ties(homework, paths, notes):
    """The handout asks that the formula or the words say what tied entries get; the key's tie point asks the
    same and says when a formula alone says it (review36/37: a formula with one index i* earned the point
    'in silence' while the handout asked to say it)."""
    render_all(homework, paths, notes)
    handout = (paths.tex / "t2.tex").read_text()
    key = (paths.tex / "grading-t2.maxpool.tex").read_text()
    assert "At a tie of max pooling, your formula or words must say what the tied entries get." in handout
    assert ("The handout asks that the answer's formula or words say what the tied entries get, and a formula "
            r"says it when, read at a tie, it gives each tied entry its share of $\delta$ (in an answer that leaves out "
            r"$\delta$, its weight).") in key
    assert "So it says what the tied entries get, as the handout asks, with no word on ties." in key


def test_the_key_gives_each_letter_one_meaning_and_decides_the_tie_point_of_no_routing(homework, paths, notes):
    """review38: h was both the next layer's inputs and the finite-difference step, x both T2's input and the
    sample's patch, k both the running entry and the sample's maximizer; and an answer that routes delta nowhere
    could earn the tie point vacuously.  The step is epsilon, the sample's x_j is chi, its maximizer i*, and the
    tie point's line says that saying nothing does not earn it."""
    render_all(homework, paths, notes)
    key = "".join(path.read_text() for path in paths.tex.glob("*grading*.tex"))
    recipe = (paths.tex / "t2.tex").read_text()
    assert (r"$(L(x + \varepsilon\,\mathbf{e}_k) - L(x - \varepsilon\,\mathbf{e}_k)) / (2\varepsilon)$"
            in recipe) and "(2h)" not in recipe
    t1_dw = (paths.tex / "grading-t1.dW.tex").read_text()
    assert r"\chi_{\lambda}" in t1_dw and r"x_{\lambda}" not in t1_dw and r"x_\lambda" not in key
    assert r"since $x$ is T2's input vector, we write it $\chi_\lambda$." in key
    maxpool = (paths.tex / "grading-t2.maxpool.tex").read_text()
    assert r"i^{*} \ne j" in maxpool and r"k \ne j" not in maxpool
    assert r"the notes write that one $i^*$, as everywhere else in T2, so that in T2 $k$ keeps one meaning" in key
    # review60 c row 8: an answer with no routing but true tie words earns the tie point by those words
    assert (r"An answer that gives no routing at all, neither a formula nor words for where $\delta$ goes, and no "
            r"tie words, states nothing about ties and does not earn the point") in maxpool
    assert r"so it earns the tie point when it adds tie words that state a true rule" in maxpool


def test_a_local_derivative_stated_after_its_sum_counts_and_the_sample_keeps_delta_for_the_question(
        homework, paths, notes):
    """review39: the chain-rule rows of T1 asked for a local derivative stated 'earlier' on 'a line of its own',
    so '... = sum delta, since dY/db = 1' lost points that the same content in the other order kept; the T2.1
    note used the sample's delta_j for its answer on the page where delta_j is an entry of the question's delta;
    and a rubric's heading could stand alone at a page foot when its first criterion was long."""
    render_all(homework, paths, notes)
    key = "".join(path.read_text() for path in paths.tex.glob("*grading*.tex"))
    t1_db = (paths.tex / "grading-t1.db.tex").read_text()
    assert (r"``$\partial L/\partial b = \sum_{i,j} \delta_{i,j}$, since $\partial Y_{i,j}/\partial b = 1$'' "
            r"both earn this criterion and the local derivative (and so, with nothing else wrong, full credit "
            r"for the part).") in t1_db
    assert "states earlier" not in key
    assert r"or in a clause of the line that uses it (``$\partial L / \partial b" in key   # rule 1
    assert "(as in T1.1). One rule decides every such sum" in (paths.tex / "grading-t1.dW.tex").read_text()
    assert "is the dense layer's (rule~3(d))." in key
    tanh = (paths.tex / "grading-t2.tanh.tex").read_text()
    assert r"$\delta_k$ for their gradient and $\delta_j$ for its answer." in tanh
    assert r"the answer, not the question's $\delta$" not in tanh
    assert (r"In T2.1 it also calls its answer $\partial L / \partial a_j$ itself $\delta_j$: the notes write that "
            r"one $\partial L / \partial x_j$, so that $\delta$ keeps the question's meaning.") in key
    assert "the key's side" not in key
    for part in homework.parts:
        table = (paths.tex / f"grading-{part.id}.tex").read_text().split(r"\begin{longtable}", 1)[1]
        assert table.split(r"\toprule", 1)[0].count(f"Rubric for {part.label}:") == 1, part.id


def test_review40s_decisions_are_printed_once_and_their_scores_come_from_the_rubrics(homework, paths, notes):
    """review40 and a double grading: a shape that follows from a charged error is never charged again, stated or
    not; only words withdraw a line; Goodfellow's eq. 9.13 is a sum over the outputs; a sum over the d entries of a
    pooling loses the chain rule alone; a delta the answer defines itself is read as rule 9 says, and the sample's
    T1.3 score is stated there from the rubric's data; the tie point's wordings name 'a maximizer'; a list's
    heading stays with its first item."""
    render_all(homework, paths, notes)
    key = "".join(path.read_text() for path in paths.tex.glob("*grading*.tex"))
    parts = {part.id: part for part in homework.parts}
    assert "A shape that follows from an error already charged is never charged again, stated or not" in key
    assert "never one that follows from an error already charged" not in key
    assert "Without words that withdraw, a later line withdraws nothing" in key
    assert (r"Only a later sum over the outputs gives it again. A corrected result of another form, such as "
            r"$X \star \delta$, leaves it standing, with its bounds (rule~5(c)). Goodfellow et~al.'s eq.~9.13 "
            r"(rule~1(e)) is such a sum.") in key
    # the textbook sum is written in this key's letters where the final forms are, rule 1(e) (review58 b row 6)
    assert (r"not of the true convolution of their Section~9.1. In this key's letters it is a sum of "
            r"$W_{u,v}\, \delta_{i,j}$ over the $(i, j)$ and $(u, v)$ with $i + u - 1 = k$ and $j + v - 1 = l$ "
            r"(indices from~$1$).") in key
    assert (r"With $\bar{\delta}$, the solutions' $\delta$ extended by zeros, such sums are "
            r"$\sum_{u,v} \bar{\delta}_{k-u,l-v} W_{u,v}$ for $\partial L / \partial X$, whose own index is $(k, l)$, and "
            r"$\sum_{k,l} \bar{\delta}_{k-u,l-v} X_{k,l}$ for $\partial L / \partial W$, whose own index is "
            r"$(u, v)$.") in key
    avg = parts["t2.avgpool"]
    kept = avg.points - avg.rubric.criterion("chain").points
    # review51 A row 11: the score names its part (average pooling); max pooling loses the chain rule, its tie
    # point graded apart
    assert f"In average pooling such an answer, with nothing else wrong, scores ${kept}$ of~${avg.points}$." in key
    maxp = parts["t2.maxpool"]
    assert (f"In max pooling it loses the chain rule, ${maxp.rubric.criterion('chain').points}$ of the part's "
            f"${maxp.points}$ points") in key
    db = parts["t1.db"]
    sample = db.points - db.rubric.deduction("loss").points
    assert (r"graded as the note on the sample's T1.3 answer says "
            f"(${sample}$ of~${db.points}$), and T1.3's deduction") in key
    # review49: the deduction sends an answer with its own delta to rule 9; review51 b row 7: after the deduction's
    # own definition, which opens the bullet with its name
    assert r"A result other than the sum of the question's $\delta$ is any other value: the mean of $\delta$" in key
    # review52 b row 4: every other value is named too, and the form with no sum sent to its note
    assert r"or any other, such as $p^2 \sum_{i,j} \delta_{i,j}$ or $\delta_{0,0}$." in key
    assert r"An answer that defines its own $\delta_\lambda$ through a loss is graded by rule~9 at the front" in key
    assert "2(y_j - t_j)" not in key and r"the sample's own $\delta_k$ is" not in key
    assert r"treats every output as one and the same product of $W$ and $X$" in key and "and so the wrong shape" not in key
    assert "The variant scores the same whether or not it writes" in key and "never writes its value" not in key
    maxpool = (paths.tex / "grading-t2.maxpool.tex").read_text()
    # review C: an indefinite article before the entry that receives delta names one entry, as "some" does
    # the list under its heading (the true rules point to it by name before it)
    words = maxpool.split(r"\emph{No formula: the words are the rule.}")[1].split("False rules")[0]
    assert r"``a maximizer receives $\delta$''" in words.split("Words that give $\\delta$ to several entries")[0]
    # review60 c row 3, review59 c3: words that name the receiver are graded by number alone, not by article or
    # "for"/"to"; review61 c row 3: words that state a condition on k (a case with "0 otherwise" too) are a formula
    # read aloud and score as it, so a value test or a membership in words is the mask, as in symbols
    true_words = words.split("Words that instead state a condition")[0]
    assert r"``one of the maximizers gets $\delta$''" in true_words and "equals the maximum" not in true_words
    conditions = words.split("Words that instead state a condition")[1]
    assert r"``$\delta$ where $x_k$ equals the maximum''" in conditions.split("A value test")[1]
    assert r"``if $k$ is the argmax''" in conditions.split("A value test")[0]
    assert r"``$\delta$ for a maximizer, $0$ otherwise'' and ``$\delta$ if $k$ is a maximizer," in conditions
    false_rules = maxpool.split("False rules")[1]
    assert r"``if $k$ is a maximizer''" not in false_rules and r"\mathbb{I}[k \in \arg\max x]" in false_rules
    assert "not tied" not in maxpool and "whenever some entry is not a maximizer" in maxpool
    assert r"\Needspace{4\baselineskip}\noindent\emph{No formula: the words are the rule.}" in maxpool
    solutions = (paths.tex / "t2.tex").read_text() + (paths.tex / "t1.tex").read_text()
    assert r"Take the step $\varepsilon$ about $10^{-5}$ times" in solutions
    assert r"the kernel gradient is the correlation of the image with $\delta$" in solutions   # T1.2's example


def test_t2_writes_f_for_the_function_and_z_for_its_output_in_every_part(homework, paths, notes):
    """Issue 14 (one meaning per symbol): f was both T2's function (f(x) = max_i x_i, the generalized gradient of
    f) and a pooling's value (delta = dL/df, a window's f_omega).  The output is z in every part, so the
    Conventions say it once, and no page writes a derivative by the value f."""
    render_all(homework, paths, notes)
    t2 = (paths.tex / "t2.tex").read_text()
    # the question's added note names the output z = f(x) once; the Conventions do not say it again
    assert t2.count("the output $z = f(x)$") == 1
    assert (r"When $f$ acts on each entry, so are those of $z$ and of $\delta = \partial L / \partial z$, with "
            r"$\delta_i = \partial L / \partial z_i$. The letter $f$ always names the function, never its value.") in t2
    assert r"$\delta_\omega = \partial L / \partial z_\omega$" in t2
    pages = "".join(path.read_text() for path in paths.tex.glob("*.tex"))
    for value in (r"\partial L / \partial f", r"\partial L/\partial f", r"{\partial f}", r"\partial f /",
                  r"\partial f/", r"f_\omega", "for short"):
        assert value not in pages, value
    maxpool = (paths.tex / "t2_maxpool.tex").read_text()
    assert r"\mathcal{G} f\!\left(x\right)" in maxpool            # the function keeps f
    assert r"z &= \max_{1 \le i \le d} x_{i}" in maxpool           # the forward step writes the value z


def test_a_long_criterion_is_table_rows_of_whole_sentences_so_the_rubric_may_break_inside_it():
    # T1.1's chain rule filled 25 lines in one row, which a table cannot break: the page before it was left
    # half empty
    from pipeline.render import _table_rows
    sentence = r"It sums $\delta_{i,j}$ over every output. Then $Y_{i,j}. X$ is read so (Step~1). "
    text = (sentence * 12).strip()
    rows = _table_rows(text)
    assert len(rows) > 1 and " ".join(rows) == text
    assert all(row.endswith(".") and row.count("$") % 2 == 0 for row in rows)   # never split inside mathematics
    assert _table_rows("One sentence. Two.") == ["One sentence. Two."]
