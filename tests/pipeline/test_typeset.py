"""Typesetting: parallel jobs that never outlive the build, no stale latexmk state, errors at
template lines, precise box warnings, metadata, reproducible PDFs, no shell escape."""
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline import typeset
from pipeline.errors import BuildError, LatexFailed, MissingTool
from pipeline.linemap import LineMap, Origin, map_path

from ..conftest import page_images, typeset_now

ROOT = Path(__file__).resolve().parents[2]

QUICK = "\\documentclass{article}\n\\begin{document}\nHello from %s.\n\\end{document}\n"
# TeX counts for minutes: a document that is surely still being typeset when it is stopped
SLOW = ("\\documentclass{article}\n\\newcount\\n\n\\begin{document}\nSlow.\n"
        "\\loop\\advance\\n by 1 \\ifnum\\n<2000000000 \\repeat\n\\end{document}\n")
# about a second of pdflatex: long enough to see two jobs run side by side
BUSY = SLOW.replace("2000000000", "2000000")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def latex_processes(root: Path) -> list[int]:
    """Live latexmk/pdflatex processes working anywhere under `root` (from /proc, zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if stat[stat.rfind(")") + 2] == "Z":
            continue
        if (b"latexmk" in cmdline or b"pdflatex" in cmdline) and Path(cwd).is_relative_to(root):
            found.append(int(entry))
    return found


def eventually(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def pdflatex_running(root: Path) -> bool:
    return any(b"pdflatex" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
               for pid in latex_processes(root))


def test_latexmk_command_keeps_its_flags(tmp_path):
    command = typeset.latexmk_command(tmp_path / "tex" / "hw4.tex", Path("out"))
    assert command[:6] == ["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                           "-file-line-error"]
    assert "$pdflatex = 'pdflatex -no-shell-escape %O %P';" in command
    assert f"-outdir={Path('out').resolve()}" in command and command[-1] == "hw4.tex"
    env = typeset.latex_environment(1700000000)
    assert env["SOURCE_DATE_EPOCH"] == "1700000000" and env["FORCE_SOURCE_DATE"] == "1"
    assert env["max_print_line"] == "1000"


def test_missing_latex_is_one_message_naming_the_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match="latexmk and pdflatex not found.*apt-get install .*latexmk"):
        typeset.require_latex()
    with pytest.raises(MissingTool, match="latexmk and pdflatex not found"):
        typeset.start({"a": tmp_path / "a.tex"}, tmp_path / "out", 0)


def test_a_format_goes_into_the_pdflatex_command(tmp_path):
    command = typeset.latexmk_command(tmp_path / "hw4.tex", Path("out"), fmt="preamble")
    assert "$pdflatex = 'pdflatex -no-shell-escape -fmt=preamble %O %P';" in command
    with pytest.raises(ValueError, match="not a format name"):
        typeset.latexmk_command(tmp_path / "hw4.tex", Path("out"), fmt="a b;rm")


@pytest.mark.latex
def test_documents_are_typeset_side_by_side(tmp_path):
    docs = {name: write(tmp_path / "tex" / f"{name}.tex", BUSY) for name in ("a", "b")}
    job = typeset.start(docs, tmp_path / "latex", 0)
    with job:
        assert not job.done()  # start() returned while LaTeX runs

        def both_running():
            running = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in latex_processes(tmp_path)]
            return all(any(b"latexmk" in c and f"{n}.tex".encode() in c for c in running) for n in docs)
        eventually(both_running)
        result = job.wait()
    assert result.pdfs == {n: (tmp_path / "latex" / f"{n}.pdf").resolve() for n in docs}
    assert all(pdf.read_bytes().startswith(b"%PDF") for pdf in result.pdfs.values())
    assert not list((tmp_path / "latex").glob("*.running"))
    assert latex_processes(tmp_path) == []


@pytest.mark.latex
def test_an_error_is_reported_once_at_its_template_line(tmp_path):
    tex = tmp_path / "tex"
    part = write(tex / "part.tex", "First line.\nSecond line.\n\\foo Third line.\nFourth.\n")
    template = tmp_path / "templates" / "part.tex.j2"
    LineMap([Origin("part.tex.j2", 10), Origin("part.tex.j2", 11), Origin("part.tex.j2", 17), None],
            {"part.tex.j2": str(template)}).save(map_path(part))
    main = "\\documentclass{article}\n\\begin{document}\n%s\n\\input{part}\n\\end{document}\n"
    docs = {"hw": write(tex / "hw.tex", main % "Handout."), "key": write(tex / "key.tex", main % "Key.")}
    with pytest.raises(LatexFailed) as failure:
        typeset_now(docs, tmp_path / "latex", 0)
    message = str(failure.value)
    assert message.splitlines()[0] == f"{template}:17: LaTeX error: Undefined control sequence."
    assert "l.3 \\foo" in message
    assert f"{part}:3 (generated from it):" in message and ">    3 | \\foo Third line." in message
    assert message.count("Undefined control sequence") == 1  # both documents failed; one report


@pytest.mark.latex
def test_without_a_map_the_generated_line_is_named_with_its_template(tmp_path):
    tex = tmp_path / "tex"
    docs = {"good": write(tex / "good.tex", QUICK % "good"),
            "bad": write(tex / "bad.tex", "% generated from templates/bad.tex.j2 -- edit the template\n"
                                          "\\documentclass{article}\n\\begin{document}\n\\foo\n\\end{document}\n")}
    with pytest.raises(LatexFailed) as failure:
        typeset.start(docs, tmp_path / "latex", 0).wait()
    message = str(failure.value)
    assert message.splitlines()[0] == f"{tex / 'bad.tex'}:4: LaTeX error: Undefined control sequence."
    assert "this file is generated from templates/bad.tex.j2: fix the template there" in message
    assert "good" not in message


@pytest.mark.latex
def test_a_failure_without_file_and_line_says_so_and_shows_this_runs_log(tmp_path):
    doc = write(tmp_path / "tex" / "empty.tex", "\\documentclass{article}\n\\begin{document}\n\\end{document}\n")
    with pytest.raises(LatexFailed) as failure:
        typeset.start({"empty": doc}, tmp_path / "latex", 0).wait()
    message = str(failure.value)
    assert "LaTeX failed on empty.tex, and this run's log" in message and "names no file:line error" in message
    assert "No pages of output." in message
    assert "latexmk: pdflatex: failed to create output file" in message


@pytest.mark.latex
def test_stop_kills_latexmk_and_pdflatex(tmp_path):
    job = typeset.start({"slow": write(tmp_path / "tex" / "slow.tex", SLOW)}, tmp_path / "latex", 0)
    eventually(lambda: pdflatex_running(tmp_path))
    job.stop()
    assert latex_processes(tmp_path) == []
    job.stop()  # again: nothing left to do
    assert not (tmp_path / "latex" / "slow.running").exists()
    assert not (tmp_path / "latex" / "slow.typeset-ok").exists()
    with pytest.raises(LatexFailed, match="stopped before it finished"):
        job.wait()


@pytest.mark.latex
def test_leaving_the_block_by_keyboard_interrupt_kills_everything(tmp_path):
    with pytest.raises(KeyboardInterrupt), typeset.start({"slow": write(tmp_path / "tex" / "slow.tex", SLOW),
                        "busy": write(tmp_path / "tex" / "busy.tex", SLOW)}, tmp_path / "latex", 0):
        eventually(lambda: pdflatex_running(tmp_path))
        raise KeyboardInterrupt
    assert latex_processes(tmp_path) == []


BUILD = """\
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from pipeline import typeset
job = typeset.start({{"slow": Path(sys.argv[1])}}, Path(sys.argv[2]), 0)
print("started", flush=True)
if sys.argv[3] == "with":
    with job:
        time.sleep(600)
time.sleep(600)
"""


def build_process(tmp_path: Path, mode: str) -> subprocess.Popen:
    """A build in its own process that is typesetting a slow document."""
    script = write(tmp_path / "build.py", BUILD.format(root=str(ROOT)))
    doc = write(tmp_path / "tex" / "slow.tex", SLOW)
    build = subprocess.Popen([sys.executable, str(script), str(doc), str(tmp_path / "latex"), mode],
                             stdout=subprocess.PIPE, text=True)
    assert build.stdout.readline() == "started\n"
    eventually(lambda: pdflatex_running(tmp_path))
    return build


@pytest.mark.latex
def test_a_build_killed_with_sigkill_leaves_leftovers_that_the_next_start_kills(tmp_path):
    build = build_process(tmp_path, "with")
    build.kill()  # SIGKILL: no cleanup is possible
    build.wait()
    leftovers = latex_processes(tmp_path)
    assert leftovers and (tmp_path / "latex" / "slow.running").exists()
    write(tmp_path / "tex" / "slow.tex", QUICK % "the next build")
    with typeset.start({"slow": tmp_path / "tex" / "slow.tex"}, tmp_path / "latex", 0) as job:
        assert not set(leftovers) & set(latex_processes(tmp_path))  # gone before the new job began
        result = job.wait()
    assert result.pdfs["slow"].read_bytes().startswith(b"%PDF")
    assert not (tmp_path / "latex" / "slow.running").exists()


@pytest.mark.latex
@pytest.mark.parametrize("mode", ["with", "bare"])
def test_sigterm_to_the_build_kills_its_latex(tmp_path, mode):
    build = build_process(tmp_path, mode)
    build.send_signal(signal.SIGTERM)
    assert build.wait(timeout=20) == 128 + signal.SIGTERM
    assert latex_processes(tmp_path) == []
    assert not (tmp_path / "latex" / "slow.running").exists()


@pytest.mark.latex
def test_a_live_build_typesetting_into_the_same_folder_is_not_raced(tmp_path):
    build = build_process(tmp_path, "with")
    try:
        with pytest.raises(BuildError, match=f"another build \\(process {build.pid}\\) is typesetting into"):
            typeset.start({"slow": tmp_path / "tex" / "slow.tex"}, tmp_path / "latex", 0)
        assert pdflatex_running(tmp_path)  # the other build's LaTeX was left alone
    finally:
        build.terminate()
        build.wait()
    assert latex_processes(tmp_path) == []


def test_a_recorded_group_that_is_not_latex_is_never_killed(tmp_path):
    outdir = tmp_path / "latex"
    outdir.mkdir()
    other = subprocess.Popen(["sleep", "60"], cwd=tmp_path, start_new_session=True)
    try:
        # a record of a dead build whose process group id the system has given to `sleep`
        start = int(Path(f"/proc/{other.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        (outdir / "doc.running").write_text(
            f'{{"pgid": {other.pid}, "start": {start}, "cwd": "{tmp_path}", "owner": 999999999, '
            f'"owner_start": 1, "document": "doc"}}')
        typeset._kill_leftovers(outdir, {"doc"})
        assert other.poll() is None
        assert not (outdir / "doc.running").exists()
    finally:
        other.kill()
        other.wait()


@pytest.mark.latex
def test_after_an_error_is_fixed_the_next_run_succeeds(tmp_path):
    doc = write(tmp_path / "tex" / "doc.tex", "\\documentclass{article}\n\\begin{document}\n\\foo\n\\end{document}\n")
    outdir = tmp_path / "latex"
    for _ in range(2):  # unchanged sources: latexmk alone would say "Nothing to do" and show the old log
        log_before = (outdir / "doc.log").stat().st_mtime_ns if (outdir / "doc.log").exists() else None
        with pytest.raises(LatexFailed, match=r"doc.tex:3: LaTeX error: Undefined control sequence"):
            typeset_now({"doc": doc}, outdir, 0)
        assert (outdir / "doc.log").stat().st_mtime_ns != log_before  # this run's log
    write(doc, QUICK % "fixed")
    assert typeset_now({"doc": doc}, outdir, 0).pdfs["doc"].exists()
    assert (outdir / "doc.typeset-ok").exists()


@pytest.mark.latex
def test_a_run_interrupted_halfway_does_not_poison_the_next(tmp_path):
    tex, outdir = tmp_path / "tex", tmp_path / "latex"
    doc = write(tex / "doc.tex", "\\documentclass{article}\n\\begin{document}\nA \\label{x}\\ref{x}.\n\\end{document}\n")
    typeset_now({"doc": doc}, outdir, 0)
    # what a run killed while writing leaves: a broken .aux and no success marker
    with open(outdir / "doc.aux", "a") as aux:
        aux.write("\\foo{\n")
    (outdir / "doc.typeset-ok").unlink()
    write(doc, doc.read_text().replace("A ", "B "))
    # latexmk alone now fails on every run, whatever the sources say
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, ignore=shutil.ignore_patterns("copy"))
    bare = subprocess.run(typeset.latexmk_command(copy / "tex" / "doc.tex", copy / "latex"), cwd=copy / "tex",
                          env=typeset.latex_environment(0), capture_output=True)
    assert bare.returncode != 0
    assert typeset_now({"doc": doc}, outdir, 0).pdfs["doc"].exists()


@pytest.mark.latex
def test_a_stopped_run_is_typeset_afresh_next_time(tmp_path):
    tex, outdir = tmp_path / "tex", tmp_path / "latex"
    with typeset.start({"doc": write(tex / "doc.tex", SLOW)}, outdir, 0) as job:
        eventually(lambda: pdflatex_running(tmp_path))
        job.stop()
    write(tex / "doc.tex", QUICK % "doc")
    assert typeset_now({"doc": tex / "doc.tex"}, outdir, 0).pdfs["doc"].exists()


def test_a_box_that_several_documents_report_is_one_warning():
    """The handout hides the solutions, so a paragraph there ends on another line than in the key."""
    box = "Overfull \\hbox (16.78pt too wide) in paragraph at lines 5--%d"
    first = typeset.Typeset({"hw4": Path("hw4.pdf"), "hw4-solutions": Path("s.pdf")},
                            [typeset.BoxWarning("hw4", "t2.tex", 5, box % 11), typeset.BoxWarning(
                                "hw4-solutions", "t2.tex", 5, box % 7)], [])
    second = typeset.Typeset({"hw4-grading": Path("g.pdf")}, [typeset.BoxWarning("hw4-grading", "t2.tex", 5, box % 7),
                                                              typeset.BoxWarning("hw4-grading", "t2.tex", 9, box % 9)])
    assert [(w.document, w.line) for w in first.merged(second).warnings] == [("hw4", 5), ("hw4-grading", 9)]


@pytest.mark.latex
def test_overfull_and_underfull_boxes_are_reported_with_file_and_line(tmp_path):
    tex = tmp_path / "tex"
    part = write(tex / "part.tex", textwrap.dedent("""\
        Some text in the part.

        \\hbox to 5cm{a}

        \\noindent Justified a\\linebreak b and more text.

        \\vbox to 3cm{\\hbox{a}}
        \\vbox to 1pt{\\hbox{a}\\vskip 2cm}

        """))
    LineMap([Origin("part.tex.j2", n + 20) for n in range(1, 11)], {"part.tex.j2": "/t/part.tex.j2"}) \
        .save(map_path(part))
    main = "\\documentclass{article}\n\\begin{document}\n%s\n\\input{part}\n\\hbox to 10pt{overfull text}\n\\end{document}\n"
    docs = {"hw": write(tex / "hw.tex", main % "Handout."), "key": write(tex / "key.tex", main % "Key.")}
    result = typeset_now(docs, tmp_path / "latex", 0)
    shown = [str(w) for w in result.warnings]
    assert shown[:4] == [
        "part.tex:3: Underfull \\hbox (badness 10000) detected at line 3 (from /t/part.tex.j2:23)",
        "part.tex:5: Underfull \\hbox (badness 10000) in paragraph at lines 5--6 (from /t/part.tex.j2:25)",
        "part.tex:7: Underfull \\vbox (badness 10000) detected at line 7 (from /t/part.tex.j2:27)",
        "part.tex:8: Overfull \\vbox (60.21104pt too high) detected at line 8 (from /t/part.tex.j2:28)"]
    # the closing parenthesis of part.tex is followed: the next box is in the main file
    assert shown[4:] == ["hw.tex:5: Overfull \\hbox (41.97234pt too wide) detected at line 5",
                         "key.tex:5: Overfull \\hbox (41.97234pt too wide) detected at line 5"]
    # each once, though both documents \input part.tex
    assert [w.document for w in result.warnings] == ["hw"] * 5 + ["key"]


@pytest.mark.latex
def test_two_clean_builds_give_byte_identical_pdfs(tmp_path):
    text = ("\\documentclass{article}\n%s\\usepackage{amsmath}\n\\begin{document}\n\\section{A}\n"
            "$\\frac{\\partial L}{\\partial X} = \\delta \\star W$ \\today\n\\end{document}\n")

    def build(folder: Path, preamble: str = "") -> bytes:
        doc = write(folder / "tex" / "doc.tex", text % preamble)
        return typeset_now({"doc": doc}, folder / "latex", 1700000000).pdfs["doc"].read_bytes()
    first = build(tmp_path / "one")
    shutil.rmtree(tmp_path / "one")  # make clean
    assert build(tmp_path / "one") == first
    # pdfTeX derives the trailer /ID from the output path; the project's preamble empties it,
    # and then even a build in another folder is byte-identical
    assert build(tmp_path / "two", "\\pdftrailerid{}\n") == build(tmp_path / "three", "\\pdftrailerid{}\n")


@pytest.mark.latex
def test_shell_escape_is_off(tmp_path):
    doc = write(tmp_path / "tex" / "doc.tex", "\\documentclass{article}\n\\begin{document}\n"
                                              "\\immediate\\write18{touch pwned}Text.\n\\end{document}\n")
    typeset_now({"doc": doc}, tmp_path / "latex", 0)
    assert not list(tmp_path.rglob("pwned"))



# ---- a precompiled preamble ------------------------------------------------------------------------
SHARED = "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{tikz}\n" + typeset.FORMAT_END + "\n"


def with_body(preamble: str, body: str) -> str:
    return f"% generated\n{preamble}\\begin{{document}}\n{body}\n\\end{{document}}\n"


def format_of(log: Path) -> str:
    """The format pdflatex ran with, from the first line of its log: "(preloaded format=pdflatex ...)"."""
    return re.search(r"format=([\w.-]+)", log.read_text().splitlines()[0]).group(1)


def precompiled_typeset(docs: dict[str, Path], folder: Path, preamble: Path) -> typeset.Typeset:
    with typeset.precompile(preamble, folder, 0) as precompiling, \
            typeset.start(docs, folder, 0, preamble=precompiling) as job:
        return job.wait()


@pytest.mark.latex
def test_documents_that_begin_with_the_preamble_are_typeset_with_its_format(tmp_path):
    preamble = write(tmp_path / "tex" / "pre.tex", "% generated\n" + SHARED)
    docs = {"same": write(tmp_path / "tex" / "same.tex", with_body(SHARED, "\\tikz\\draw (0,0)--(1,1); $a$")),
            "other": write(tmp_path / "tex" / "other.tex", with_body(SHARED.replace("amsmath", "amssymb"), "$a$"))}
    result = precompiled_typeset(docs, tmp_path / "latex", preamble)
    assert format_of(tmp_path / "latex" / "same.log") == "pre"
    # mylatexformat would skip the other's preamble unread: it gets the ordinary format, and a notice
    assert format_of(tmp_path / "latex" / "other.log") == "pdflatex"
    assert len(result.notices) == 1 and result.notices[0].startswith("other.tex was typeset without the precompiled")
    assert set(result.pdfs) == {"same", "other"}
    assert not list((tmp_path / "latex").glob("*.fmt-new")) and latex_processes(tmp_path) == []


@pytest.mark.latex
def test_a_document_typeset_with_the_format_is_the_document_typeset_without_it(tmp_path):
    body = "\\section{A}\n$\\frac{\\partial L}{\\partial X} = \\delta$ \\tikz\\draw (0,0) circle (1);"
    doc = with_body(SHARED, body)
    plain = typeset_now({"doc": write(tmp_path / "a" / "doc.tex", doc)}, tmp_path / "a" / "latex", 0)
    fast = precompiled_typeset({"doc": write(tmp_path / "b" / "doc.tex", doc)}, tmp_path / "b" / "latex",
                               write(tmp_path / "b" / "pre.tex", SHARED))
    assert format_of(tmp_path / "b" / "latex" / "doc.log") == "pre"
    assert page_images(plain.pdfs["doc"], tmp_path / "a", dpi=60) == page_images(fast.pdfs["doc"], tmp_path / "b", dpi=60)


@pytest.mark.latex
def test_a_preamble_that_cannot_be_precompiled_leaves_ordinary_typesetting_and_says_why(tmp_path):
    broken = write(tmp_path / "tex" / "pre.tex", SHARED.replace("tikz", "no-such-package-of-ours"))
    precompiling = typeset.precompile(broken, tmp_path / "latex", 0)
    assert precompiling.wait() is None
    assert "pre.tex could not be precompiled" in precompiling.why and "no-such-package-of-ours" in precompiling.why
    with typeset.start({"doc": write(tmp_path / "tex" / "doc.tex", with_body(SHARED, "Text."))},
                       tmp_path / "latex", 0, preamble=precompiling) as job:
        result = job.wait()
    assert format_of(tmp_path / "latex" / "doc.log") == "pdflatex"
    assert result.notices == [f"{precompiling.why}; every document was typeset without it"]

    unended = typeset.precompile(write(tmp_path / "tex" / "open.tex", SHARED.replace(typeset.FORMAT_END, "")),
                                 tmp_path / "latex", 0)
    assert unended.wait() is None and "does not end with the line \\csname endofdump\\endcsname" in unended.why


@pytest.mark.latex
def test_a_format_is_replaced_only_when_the_preamble_changes(tmp_path):
    preamble = write(tmp_path / "tex" / "pre.tex", SHARED)
    fmt = tmp_path / "latex" / "pre.fmt"
    typeset.precompile(preamble, tmp_path / "latex", 0).wait()
    first = (fmt.stat().st_mtime_ns, fmt.read_bytes())
    time.sleep(0.05)
    typeset.precompile(preamble, tmp_path / "latex", 0).wait()
    assert (fmt.stat().st_mtime_ns, fmt.read_bytes()) == first   # latexmk sees no change, so redoes nothing
    write(preamble, SHARED.replace("tikz", "booktabs"))
    typeset.precompile(preamble, tmp_path / "latex", 0).wait()
    assert fmt.read_bytes() != first[1]


@pytest.mark.latex
def test_stopping_a_precompile_kills_its_pdflatex(tmp_path):
    slow = SHARED.replace("\\usepackage{amsmath}", "\\newcount\\n\\loop\\advance\\n by 1 \\ifnum\\n<2000000000 \\repeat")
    precompiling = typeset.precompile(write(tmp_path / "tex" / "pre.tex", slow), tmp_path / "latex", 0)
    with precompiling:
        eventually(lambda: pdflatex_running(tmp_path))
    assert latex_processes(tmp_path) == []
    assert precompiling.wait() is None and precompiling.why == "precompiling the preamble was stopped"


@pytest.mark.latex
def test_a_reference_no_label_defines_fails_the_build(tmp_path):
    doc = write(tmp_path / "tex" / "doc.tex", "\\documentclass{article}\n\\begin{document}\n\\section{A}\\label{a}\n"
                                              "See \\ref{a} and page \\pageref{nowhere}.\n\\end{document}\n")
    with pytest.raises(LatexFailed) as failure:
        typeset_now({"doc": doc}, tmp_path / "latex", 0)
    assert str(failure.value) == ("doc.pdf would show ?? for a reference to 'nowhere', which no \\label defines: "
                           "add the \\label or correct the reference")
