"""verify.sandbox: untrusted candidate files run in their own process, with limits.

Each test writes a candidate file into tmp_path and drives it through a Sandbox.  Timeouts are
short (1 s or less) where a test waits for a limit; no test asserts on timing except the coarse
bound on how long a time limit takes to fire.

Every test that starts a sandbox runs twice: with children forked by the fork server (the
default) and started directly (the fallback).  Run as root (CI, Gradescope, this machine's
default), the candidate runs as a user of its own: it cannot reach tmp_path (pytest makes its
parent 0700), so a test whose candidate must write or read a file outside its own folder uses the
`shared` folder, open to everybody.  The tests of that isolation need root; the others pass
either way.
"""
import ctypes
import importlib.util
import io
import json
import os
import pickle
import signal
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tests.verify.test_grade import CORRECT
from verify import sandbox as sb
from verify.sandbox import (
    CandidateRaised,
    Crashed,
    FunctionError,
    LimitExceeded,
    LoadError,
    MemoryLimit,
    MissingFunction,
    Sandbox,
    SandboxError,
    TimeLimit,
)

pytestmark = pytest.mark.sandbox

AS_ROOT = os.geteuid() == 0 and sb.USER_IDS is not None
as_root = pytest.mark.skipif(not AS_ROOT, reason="the candidate runs as a user of its own only when the grader is root")
ZYGOTE_ONLY = pytest.mark.parametrize("start", ["zygote"], indirect=True)
DIRECT_ONLY = pytest.mark.parametrize("start", ["direct"], indirect=True)
ONCE = ZYGOTE_ONLY  # for tests that start no sandbox, or choose how themselves


@pytest.fixture(autouse=True, params=["zygote", "direct"])
def start(request, monkeypatch):
    """How children are started: forked by the fork server, or directly (the fallback)."""
    monkeypatch.setattr(sb, "START", request.param)
    return request.param


def write(tmp_path, source, name="student.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def box(tmp_path, source, **limits):
    return Sandbox(write(tmp_path, source), **limits)


def load(tmp_path, source, **limits):
    """Start a sandbox on `source` and close it again: for what loading alone does."""
    with box(tmp_path, source, **limits):
        pass


def wait_for(condition, within=3.0):
    end = time.monotonic() + within
    while not condition():
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)
    return True


def processes_of(uid):
    """The pids of the live (not zombie) processes whose real uid is `uid`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            status = sb._read_status(int(name))
            if status.get("Uid") == uid and status.get("State") not in ("Z", "X"):
                found.append(int(name))
    return found


def gone(pid, within=3.0):
    """True once `pid` no longer runs (exited, or a zombie nobody has reaped yet)."""
    end = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


# ---- answers -----------------------------------------------------------------------------------
def test_a_correct_function_returns_the_expected_array(tmp_path):
    with box(tmp_path, """
        import numpy as np
        def grad(x, delta):
            return delta * (1 - np.tanh(x) ** 2)
    """) as s:
        s.function("grad", 2)
        x, delta = np.linspace(-2, 2, 12).reshape(3, 4), np.arange(12.0).reshape(3, 4)
        got = s.call("grad", x, delta)
    assert got.dtype == np.float64 and got.shape == (3, 4)
    np.testing.assert_array_equal(got, delta * (1 - np.tanh(x) ** 2))


def test_arguments_are_fresh_float64_arrays_and_ints_stay_ints(tmp_path):
    with box(tmp_path, """
        import numpy as np
        def grad(x, s, k, f):
            seen = [type(x) is np.ndarray, x.dtype == np.float64, x.ndim, x.flags.writeable,
                    x.sum(), type(s) is np.ndarray, s.ndim, type(k) is int, k, type(f) is float]
            x[...] = -1.0   # neither the parent nor the next call may see this
            s[...] = -1.0
            return np.array(seen, dtype=float)
    """) as s:
        x, scalar = np.ones((2, 3)), np.array(2.5)
        first = s.call("grad", x, scalar, 3, 0.5)
        second = s.call("grad", x, scalar, 3, 0.5)
    np.testing.assert_array_equal(first, [1, 1, 2, 1, 6.0, 1, 0, 1, 3, 1])
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(x, np.ones((2, 3)))
    assert scalar == 2.5


def test_a_list_is_returned_as_an_array(tmp_path):
    with box(tmp_path, "def grad(x):\n    return [[1.0, 2.0], [3.0, 4.0]]\n") as s:
        got = s.call("grad", np.zeros(2))
    assert isinstance(got, np.ndarray) and got.shape == (2, 2)
    np.testing.assert_array_equal(got, [[1, 2], [3, 4]])


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "uint8", "bool", "complex128"])
def test_numeric_dtypes_come_back_unchanged(tmp_path, dtype):
    with box(tmp_path, f"""
        import numpy as np
        def grad(x):
            return np.arange(6).reshape(2, 3).astype(np.{dtype})
    """) as s:
        got = s.call("grad", np.zeros(3))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.arange(6).reshape(2, 3).astype(dtype))


def test_a_big_endian_or_fortran_answer_is_the_same_numbers(tmp_path):
    with box(tmp_path, """
        import numpy as np
        def grad(x):
            return np.asfortranarray(np.arange(6.0).reshape(2, 3)).astype(">f8")
    """) as s:
        got = s.call("grad", np.zeros(1))
    assert got.dtype == np.float64 and got.dtype.isnative
    np.testing.assert_array_equal(got, np.arange(6.0).reshape(2, 3))


def test_a_ragged_list_is_a_verdict(tmp_path):
    with box(tmp_path, "def grad(x):\n    return [[1.0, 2.0], [3.0]]\n") as s:
        with pytest.raises(CandidateRaised) as failure:
            s.call("grad", np.zeros(2))
        assert s.alive
    assert str(failure.value) == "the candidate returned a ragged nested list that is not an array"


def test_an_object_whose___array___raises_is_a_verdict(tmp_path):
    s = box(tmp_path, """
        class Tensor:
            def __array__(self, dtype=None, copy=None):
                raise RuntimeError("Can't call numpy() on Tensor that requires grad.")
        def grad(x):
            return Tensor()
    """)
    with s, pytest.raises(CandidateRaised) as failure:
        s.call("grad", np.zeros(2))
    assert "Tensor" in str(failure.value) and "RuntimeError" in str(failure.value)
    assert "requires grad" in str(failure.value)


@pytest.mark.parametrize("value, words", [
    ("'0.5'", "a string"),
    ("None", "None"),
    ("object()", "dtype object"),
    ("np.array([1.0, 'a'], dtype=object)", "dtype object"),
    ("np.array(['1.0', '2.0'])", "text"),
    ("np.datetime64('2024-01-01')", "datetime64"),
])
def test_a_non_numeric_answer_is_a_verdict(tmp_path, value, words):
    s = box(tmp_path, f"import numpy as np\ndef grad(x):\n    return {value}\n")
    with s, pytest.raises(CandidateRaised) as failure:
        s.call("grad", np.zeros(2))
    assert words in str(failure.value) and "not a numeric array" in str(failure.value)


def test_torch_tensors_convert_unless_they_require_grad(tmp_path):
    pytest.importorskip("torch")
    with box(tmp_path, """
        import torch
        def plain(x):
            return torch.as_tensor(x) * 2
        def tracked(x):
            return torch.as_tensor(x).requires_grad_() * 2
    """) as s:
        np.testing.assert_array_equal(s.call("plain", np.ones(3)), [2, 2, 2])
        with pytest.raises(CandidateRaised, match="requires grad"):
            s.call("tracked", np.ones(3))


# ---- the candidate raises -------------------------------------------------------------------------
def test_an_exception_is_a_verdict_naming_it_and_the_line(tmp_path):
    with box(tmp_path, """
        import numpy as np

        def grad(x):
            scale = 0
            return x * (1 / scale)
    """) as s:
        with pytest.raises(CandidateRaised) as failure:
            s.call("grad", np.ones(2))
        assert s.alive  # a verdict: the sandbox goes on
    assert str(failure.value) == "the candidate raised ZeroDivisionError: division by zero (student.py:6)"


def test_a_message_over_several_lines_is_shown_on_one(tmp_path):
    s = box(tmp_path, """
        def grad(x):
            raise ValueError("no\\nt1.dX: correct\\r\\x1b[2K")
    """)
    with s, pytest.raises(CandidateRaised) as failure:
        s.call("grad", 1.0)
    assert "\n" not in str(failure.value) and "\r" not in str(failure.value)
    assert "\x1b" not in str(failure.value)


def test_sys_exit_in_the_function_is_a_verdict_not_an_exit(tmp_path):
    with box(tmp_path, "import sys\ndef grad(x):\n    sys.exit(0)\n") as s:
        with pytest.raises(CandidateRaised, match=r"raised SystemExit: 0 \(student.py:3\)"):
            s.call("grad", np.zeros(2))
        assert s.alive


def test_keyboard_interrupt_in_the_function_is_a_verdict(tmp_path):
    with box(tmp_path, "def grad(x):\n    raise KeyboardInterrupt\n") as s:
        with pytest.raises(CandidateRaised, match="raised KeyboardInterrupt"):
            s.call("grad", np.zeros(2))
        assert s.alive


def test_os_exit_in_the_function_is_a_crash(tmp_path):
    with box(tmp_path, "import os\ndef grad(x):\n    os._exit(0)\n") as s:
        with pytest.raises(Crashed) as failure:
            s.call("grad", np.zeros(2))
        assert not s.alive
    assert str(failure.value) == "the candidate's process exited with status 0 during a call of grad"


def test_a_segfault_is_a_crash_naming_the_signal(tmp_path):
    s = box(tmp_path, "import ctypes\ndef grad(x):\n    ctypes.string_at(0)\n")
    with s, pytest.raises(Crashed, match="SIGSEGV"):
        s.call("grad", np.zeros(2))


# ---- nothing the candidate does changes what the parent reports --------------------------------------
def test_a_forged_verdict_line_appears_only_in_output(tmp_path, capfd):
    with box(tmp_path, """
        import os, sys
        print("t1.dX: correct")
        def grad(x):
            print("t1.dX: correct", flush=True)
            sys.stderr.write("t1.dX: correct\\n")
            os.write(1, b"t1.dX: correct\\n")
            return x * 2
    """) as s:
        got = s.call("grad", np.array([1.0]))
        output = s.output
    np.testing.assert_array_equal(got, [2.0])
    assert output.count("t1.dX: correct") == 4
    captured = capfd.readouterr()
    assert "correct" not in captured.out + captured.err


def test_closing_stdout_and_stderr_does_not_break_the_protocol(tmp_path):
    with box(tmp_path, """
        import os, sys
        def close(x):
            print("before")
            sys.stdout.close()
            os.close(1)
            os.close(2)
            return x + 1
        def grad(x):
            return x + 2
    """) as s:
        np.testing.assert_array_equal(s.call("close", np.zeros(2)), [1, 1])
        np.testing.assert_array_equal(s.call("grad", np.ones(2)), [3, 3])
        assert s.alive
        assert "before" in s.output


def test_control_characters_in_the_output_are_escaped(tmp_path):
    with box(tmp_path, "print('a\\rb\\x1b[2Kc')\ndef grad(x):\n    return x\n") as s:
        assert s.output == "a\\x0db\\x1b[2Kc\n"


def test_the_candidate_runs_in_a_temporary_directory_removed_at_exit(tmp_path, shared):
    report = shared / "cwd.txt"
    with box(tmp_path, f"""
        import os
        def grad(x):
            open("scratch.txt", "w").write("left behind")
            open({str(report)!r}, "w").write(os.getcwd() + "\\n" + os.environ["HOME"])
            return x
    """) as s:
        s.call("grad", 1.0)
    cwd, home = report.read_text().split("\n")
    assert cwd == home and not cwd.startswith(str(tmp_path))
    assert not os.path.exists(cwd)


# ---- limits ----------------------------------------------------------------------------------------
def test_an_endless_loop_hits_the_time_limit(tmp_path):
    with box(tmp_path, "def grad(x):\n    while True:\n        pass\n", timeout=1) as s:
        started = time.monotonic()
        with pytest.raises(TimeLimit) as failure:
            s.call("grad", np.zeros(2))
        assert time.monotonic() - started < 2.5
        assert not s.alive
    assert str(failure.value) == "time limit of 1 s exceeded"


def test_the_budget_runs_from_restart_clock(tmp_path):
    with box(tmp_path, "import time\ndef grad(x):\n    time.sleep(0.1)\n    return x\n", timeout=0.5) as s:
        for _ in range(8):  # 0.8 s in all, 0.1 s per budget
            s.restart_clock()
            s.call("grad", 1.0)
        s.restart_clock()
        time.sleep(0.6)  # the parent's own time is not the candidate's
        s.call("grad", 1.0)
        with pytest.raises(TimeLimit):
            for _ in range(8):  # without a new budget the calls add up
                s.call("grad", 1.0)


def test_a_sigterm_ignoring_loop_is_still_killed(tmp_path):
    with box(tmp_path, """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        def grad(x):
            while True:
                pass
    """, timeout=0.5) as s:
        pid = s._child.pid
        with pytest.raises(TimeLimit):
            s.call("grad", 1.0)
    assert gone(pid)


def test_a_lingering_grandchild_is_killed_with_the_sandbox(tmp_path):
    with box(tmp_path, """
        import subprocess
        def grad(x):
            return subprocess.Popen(["sleep", "1000"]).pid
    """) as s:
        grandchild = int(s.call("grad", 1.0))
        assert not gone(grandchild, within=0)
    assert gone(grandchild)


def test_a_4_gb_allocation_hits_the_memory_limit(tmp_path):
    with box(tmp_path, "import numpy as np\ndef grad(x):\n    return np.ones(5 * 10**8).sum()\n") as s:
        with pytest.raises(MemoryLimit) as failure:
            s.call("grad", 1.0)
        assert not s.alive
    assert str(failure.value) == "memory limit of 2 GiB exceeded"


def test_a_few_hundred_mb_fit_under_the_default_limit(tmp_path):
    with box(tmp_path, "import numpy as np\ndef grad(x):\n    return np.ones(300 * 2**20 // 8).sum()\n") as s:
        assert s.call("grad", 1.0) == 300 * 2**20 // 8


def test_raising_its_own_rlimit_does_not_escape_the_memory_limit(tmp_path):
    # As root the candidate may lift RLIMIT_AS; the parent's watch on its RSS still stops it.
    s = box(tmp_path, """
        import resource, time
        import numpy as np
        def grad(x):
            try:
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            except (ValueError, OSError):
                pass
            a = np.ones(2**30 // 8)
            time.sleep(5)
            return a[:1]
    """, memory=256 * 2**20, timeout=5)
    with s, pytest.raises(MemoryLimit, match="memory limit of 256 MiB exceeded"):
        s.call("grad", 1.0)


def test_limits_at_import(tmp_path):
    with pytest.raises(TimeLimit, match="time limit of 1 s exceeded while loading student.py"):
        load(tmp_path, "while True:\n    pass\n", timeout=1)
    with pytest.raises(MemoryLimit):
        load(tmp_path, "import numpy as np\nbig = np.ones(5 * 10**8)\n")


def test_ctrl_c_in_the_parent_kills_the_child_and_propagates(tmp_path):
    s = box(tmp_path, "def grad(x):\n    while True:\n        pass\n", timeout=30)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt), s:
            pid = s._child.pid
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            s.call("grad", 1.0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert gone(pid) and not s.alive


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_child_dies_with_the_parent_even_if_the_parent_is_killed(tmp_path, start, how):
    # SIGKILL gives the parent no chance to clean up: the child notices the request pipe hang up,
    # and so does the fork server (its socket); either kills what is left and removes the directory.
    # Here the candidate also leaves a grandchild in a session of its own.
    candidate = write(tmp_path, """
        import subprocess
        def grad(x):
            subprocess.Popen(["sleep", "1000"], start_new_session=True)
            while True:
                pass
    """)
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("sandbox_under_test", {sb.__file__!r})
        sandbox = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sandbox)
        sandbox.START = {start!r}
        with sandbox.Sandbox({str(candidate)!r}, timeout=60) as s:
            zygote = sandbox._ZYGOTE.pid if sandbox._ZYGOTE is not None else 0
            print(s._child.pid, s._child.tmp, s._child.uid or 0, zygote, flush=True)
            s.call("grad", 1.0)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        child, tmp, uid, zygote = parent.stdout.readline().split()
        time.sleep(0.3)  # the grandchild is started
        parent.send_signal(how)
        assert gone(int(child))
        assert wait_for(lambda: not os.path.exists(tmp))
        if int(zygote):
            assert gone(int(zygote))
        if int(uid):
            assert wait_for(lambda: not processes_of(int(uid)))
    finally:
        parent.kill()
        parent.wait()


# ---- loading ---------------------------------------------------------------------------------------
def test_a_syntax_error_names_the_line(tmp_path):
    with pytest.raises(LoadError) as failure:
        load(tmp_path, "import numpy as np\ndef grad(x):\n    return x +\n")
    assert str(failure.value) == "student.py:3: SyntaxError: invalid syntax"


def test_an_import_error_is_a_load_error(tmp_path):
    with pytest.raises(LoadError) as failure:
        load(tmp_path, "import torch_that_is_not_installed\n")
    assert str(failure.value) == "student.py: ImportError: No module named 'torch_that_is_not_installed'"


def test_an_exception_at_import_names_the_line(tmp_path):
    with pytest.raises(LoadError) as failure:
        load(tmp_path, "import numpy as np\n\nscale = 0\n\nfactor = 1 / scale\n")
    assert str(failure.value) == "student.py:5: ZeroDivisionError at import: division by zero"


def test_sys_exit_at_import_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match=r"^student.py:2: SystemExit at import: 0$"):
        load(tmp_path, "import sys\nsys.exit(0)\n")


def test_os_exit_at_import_is_a_crash(tmp_path):
    # The parent only sees the process die without answering, as for a segfault or the OOM killer,
    # so it reports what it saw (Crashed) rather than guessing that the file is at fault.
    with pytest.raises(Crashed) as failure:
        load(tmp_path, "import os\nos._exit(0)\n")
    assert str(failure.value) == "the candidate's process exited with status 0 while loading student.py"


@pytest.mark.parametrize("name, words", [("missing.py", "no such file"),
                                         ("student.txt", "not a Python file")])
def test_a_missing_or_non_python_file_is_refused_without_a_child(tmp_path, name, words):
    if name.endswith(".txt"):
        write(tmp_path, "def grad(x):\n    return x\n", name)
    s = Sandbox(tmp_path / name)
    with pytest.raises(LoadError, match=words):
        s.__enter__()
    assert s._child is None


def test_a_sibling_module_can_be_imported_even_from_a_folder_closed_to_others(tmp_path):
    folder = tmp_path / "closed"
    folder.mkdir(mode=0o700)
    write(folder, "def double(x):\n    return 2 * x\n", "helpers.py")
    with box(folder, "import helpers\ndef grad(x):\n    return helpers.double(x)\n") as s:
        np.testing.assert_array_equal(s.call("grad", np.ones(2)), [2, 2])


def test_a_sibling_module_can_be_imported(tmp_path):
    write(tmp_path, "def double(x):\n    return 2 * x\n", "helpers.py")
    with box(tmp_path, "import helpers\ndef grad(x):\n    return helpers.double(x)\n") as s:
        np.testing.assert_array_equal(s.call("grad", np.ones(2)), [2, 2])


# ---- functions -------------------------------------------------------------------------------------
@pytest.mark.parametrize("source, words", [
    ("def other(x, d):\n    return x\n", "student.py has no function 'grad'"),
    ("grad = 3\n", "'grad' is not a function (it is an int)"),
    ("def grad(x):\n    return x\n", "takes 1 positional arguments, but it is called with 2"),
    ("def grad(x, d, e):\n    return x\n", "requires 3 positional arguments, but it is called with 2"),
    ("def grad(x, d, *, scale):\n    return x\n", "required keyword-only argument 'scale'"),
])
def test_an_unusable_function_is_a_function_error(tmp_path, source, words):
    with box(tmp_path, source) as s:
        with pytest.raises(FunctionError) as failure:
            s.function("grad", 2)
        assert words in str(failure.value) and "\n" not in str(failure.value)
        # MissingFunction for no such name (the batch grader's "missing"), for that alone
        assert isinstance(failure.value, MissingFunction) == ("has no function" in words)
        with pytest.raises(FunctionError) as again:  # and calling it anyway says the same
            s.call("grad", 1.0, 2.0)
        assert type(again.value) is type(failure.value)
        assert s.alive


@pytest.mark.parametrize("source", ["def grad(*args):\n    return args[0]\n",
                                    "def grad(x, d, scale=1.0):\n    return x\n",
                                    "def grad(x, *rest, scale=1.0):\n    return x\n"])
def test_varargs_and_defaults_are_accepted(tmp_path, source):
    with box(tmp_path, source) as s:
        s.function("grad", 2)
        np.testing.assert_array_equal(s.call("grad", np.ones(2), np.zeros(2)), [1, 1])


# ---- output ----------------------------------------------------------------------------------------
def test_output_is_cut_after_2000_characters(tmp_path):
    with box(tmp_path, "print('x' * 5000)\ndef grad(x):\n    return x\n") as s:
        output = s.output
    assert output == "x" * 2000 + "\n... (3001 more characters)"


# ---- restart ---------------------------------------------------------------------------------------
def test_restart_after_a_crash_gives_a_working_sandbox(tmp_path):
    with box(tmp_path, """
        import os
        def die(x):
            os._exit(3)
        def grad(x):
            return x * 3
    """) as s:
        with pytest.raises(Crashed, match="exited with status 3"):
            s.call("die", 1.0)
        assert not s.alive
        with pytest.raises(Crashed, match="call restart"):
            s.call("grad", 1.0)
        s.restart()
        assert s.alive
        np.testing.assert_array_equal(s.call("grad", np.ones(2)), [3, 3])


# ---- the protocol ------------------------------------------------------------------------------------
WRITE_TO_EVERY_PIPE = """
    import os
    import numpy as np
    def grad(x):
        payload = open({payload!r}, "rb").read()
        for fd in sorted(map(int, os.listdir("/proc/self/fd"))):
            if fd > 2:
                try:
                    os.write(fd, payload)   # only the reply pipe takes it
                except OSError:
                    pass
        return x
"""


def npy(array, **save):
    buffer = io.BytesIO()
    np.save(buffer, array, **save)
    return buffer.getvalue()


def raw_frame(meta, blob=b""):
    text = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    return sb.HEAD.pack(sb.MAGIC, len(text), len(blob)) + text + blob


@pytest.mark.parametrize("forge", [
    lambda seq: b"t1.dX: correct\n" * 20,
    lambda seq: raw_frame(b"{not json"),
    lambda seq: raw_frame([seq, "ok"]),
    lambda seq: raw_frame({"seq": seq, "status": ["ok"]}),
    lambda seq: raw_frame({"seq": seq + 5, "status": "ok"}, npy(np.zeros(2))),
    lambda seq: raw_frame({"seq": seq, "status": "raised", "message": 3}),
    lambda seq: raw_frame({"seq": seq, "status": "ok"}, npy(np.zeros(2))[:-3]),
    lambda seq: sb.HEAD.pack(sb.MAGIC, 10, 1 << 30),
])
def test_a_garbled_or_forged_frame_is_a_crash(tmp_path, shared, forge):
    payload = shared / "payload.bin"
    with box(tmp_path, WRITE_TO_EVERY_PIPE.format(payload=str(payload))) as s:
        payload.write_bytes(forge(s._seq + 1))  # the sequence number the next reply should carry
        with pytest.raises(Crashed, match="broke the result channel"):
            s.call("grad", 1.0)
        assert not s.alive


def test_the_parent_never_unpickles_an_object_array_from_the_child(tmp_path, shared):
    marker = tmp_path / "unpickled"

    class Attack:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    npy = io.BytesIO()
    np.save(npy, np.array([Attack()], dtype=object), allow_pickle=True)
    payload = shared / "payload.bin"
    with box(tmp_path, WRITE_TO_EVERY_PIPE.format(payload=str(payload))) as s:
        # A reply that is right in every respect (sequence number included) but its array.
        forged = sb._frame({"seq": s._seq + 1, "status": "ok"}, [npy.getvalue()])
        payload.write_bytes(b"".join(forged))
        with pytest.raises(Crashed, match=r"broke the result channel \(an array of dtype '\|O' is refused\)"):
            s.call("grad", 1.0)
    assert not marker.exists()


@ONCE
@pytest.mark.parametrize("blob", [
    npy(np.array([1, "a"], dtype=object), allow_pickle=True),
    npy(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])),
    npy(np.array(["a", "b"])),
    npy(np.arange(4.0))[:-1],                    # truncated
    npy(np.arange(4.0)) + b"\0" * 8,             # trailing data
    npy(np.arange(4.0)).replace(b"(4,)", b"(9,)"),  # header lies about the shape
    pickle.dumps(np.arange(4.0)),
    b"PK\x03\x04" + b"\0" * 60,                  # an .npz
    b"",
])
def test_decoding_refuses_anything_but_a_plain_numeric_npy(blob):
    with pytest.raises(ValueError):
        sb._decode_array(blob)


@ONCE
def test_decoding_keeps_the_numbers_and_makes_byte_order_native():
    got = sb._decode_array(npy(np.arange(6.0).reshape(2, 3).astype(">f8")))
    assert got.dtype == np.float64 and got.dtype.isnative and got.flags.writeable
    np.testing.assert_array_equal(got, np.arange(6.0).reshape(2, 3))
    assert sb._decode_array(npy(np.array(2.5))).shape == ()


def child_module():
    spec = importlib.util.spec_from_file_location("_sandbox_child_under_test", sb.CHILD)
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)  # defines things only: main() runs under __main__
    return child


@ONCE
def test_the_child_script_uses_the_same_frame_format_and_not_the_verify_package():
    child = child_module()
    assert (child.MAGIC, child.HEAD.format, child.MAX_BLOB) == (sb.MAGIC, sb.HEAD.format, sb.MAX_BLOB)
    for path in (sb.CHILD, sb.ZYGOTE):
        source = path.read_text()
        assert "import verify" not in source and "from verify" not in source and "from ." not in source


@ONCE
def test_every_error_is_a_sandbox_error_and_limits_share_a_base():
    for kind in (LoadError, FunctionError, CandidateRaised, LimitExceeded):
        assert issubclass(kind, SandboxError)
    for kind in (TimeLimit, MemoryLimit, Crashed):
        assert issubclass(kind, LimitExceeded)
    assert issubclass(MissingFunction, FunctionError)


# ---- isolation: the candidate as a user of its own (the grader is root) ------------------------------
@as_root
def test_the_candidate_cannot_open_the_memory_or_fds_of_its_parent_or_of_the_grader(tmp_path):
    # The review's attack: overwrite the grader's tolerances through /proc/<ppid>/mem, so that all-zero
    # answers pass, or write a forged verdict to the grader's stdout through /proc/<ppid>/fd/1.
    with box(tmp_path, """
        import os
        failures = []
        for pid in (os.getppid(), GRADER):
            for name, mode in (("mem", "r+b"), ("fd/1", "wb"), ("environ", "rb")):
                try:
                    with open(f"/proc/{pid}/{name}", mode) as file:
                        file.write(b"t1.dX: correct\\n") if "w" in mode or "+" in mode else file.read()
                    failures.append(0)
                except PermissionError:
                    failures.append(1)
                except OSError:
                    failures.append(2)
        def grad(x):
            return failures
    """.replace("GRADER", str(os.getpid()))) as s:
        assert list(s.call("grad", 0.0)) == [1] * 6
        assert s.call("grad", 1.0).shape == (6,)  # and the grader carries on


@as_root
def test_the_candidate_cannot_signal_its_parent_or_the_grader(tmp_path, start):
    with box(tmp_path, """
        import os, signal
        def grad(grader):
            refused = []
            for pid in (os.getppid(), int(grader)):
                for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGINT):
                    try:
                        os.kill(pid, sig)
                        refused.append(0)
                    except PermissionError:
                        refused.append(1)
            return refused
    """) as s:
        assert list(s.call("grad", os.getpid())) == [1] * 6
        assert list(s.call("grad", os.getpid())) == [1] * 6  # still here, still answering
    if start == "zygote":
        assert sb._ZYGOTE is not None and sb._ZYGOTE.alive()


@as_root
def test_two_live_sandboxes_have_different_users_and_cannot_kill_each_other(tmp_path):
    source = """
        import os, signal
        def uid(x):
            return os.getuid()
        def kill(pid):
            try:
                os.kill(int(pid), signal.SIGKILL)
                return 0
            except PermissionError:
                return 1
    """
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with box(tmp_path / "a", source) as a, box(tmp_path / "b", source) as b:
        ua, ub = int(a.call("uid", 0)), int(b.call("uid", 0))
        assert ua != ub and ua in sb.USER_IDS and ub in sb.USER_IDS
        assert a.call("kill", b._child.pid) == 1
        assert b.call("kill", a._child.pid) == 1
        assert a.alive and b.alive
        np.testing.assert_array_equal(b.call("uid", 0), ub)


@as_root
def test_a_grandchild_in_a_session_of_its_own_is_dead_after_close(tmp_path):
    with box(tmp_path, """
        import os, subprocess
        def grad(x):
            return subprocess.Popen(["sleep", "1000"], start_new_session=True).pid
        def daemon(x):
            if os.fork() == 0:      # the classic double fork: out of the group and the session
                os.setsid()
                if os.fork() == 0:
                    import time
                    time.sleep(1000)
                os._exit(0)
            return 0
    """) as s:
        grandchild = int(s.call("grad", 1.0))
        s.call("daemon", 1.0)
        uid = s._child.uid
        assert not gone(grandchild, within=0)
        assert wait_for(lambda: len(processes_of(uid)) >= 3)  # the child, sleep, and the daemon
    assert gone(grandchild)
    assert processes_of(uid) == []


@as_root
def test_a_fork_bomb_stays_small(tmp_path):
    with box(tmp_path, """
        import os, time
        def grad(x):
            forked = 0
            for _ in range(200):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    time.sleep(1000)
                    os._exit(0)
                forked += 1
            return forked
    """) as s:
        forked = int(s.call("grad", 1.0))
        uid = s._child.uid
    assert 0 < forked < sb.NPROC
    assert processes_of(uid) == []


@pytest.mark.parametrize("own_user", [True, False], ids=["own user", "same user"])
def test_forked_grandchildren_count_toward_the_memory_limit(tmp_path, monkeypatch, own_user):
    if not own_user:  # as for a grader that is not root: the child's session is summed
        monkeypatch.setattr(sb, "USER_IDS", None)
    elif not AS_ROOT:
        pytest.skip("the grader is not root")
    s = box(tmp_path, """
        import os, time
        import numpy as np
        def grad(x):
            for _ in range(3):
                if os.fork() == 0:
                    block = np.ones(120 * 2**20 // 8)   # each fits the limit, the three do not
                    time.sleep(60)
                    os._exit(0)
            time.sleep(20)
            return x
    """, memory=256 * 2**20, timeout=15)
    started = time.monotonic()
    with s, pytest.raises(MemoryLimit, match="memory limit of 256 MiB exceeded"):
        s.call("grad", 1.0)
    assert time.monotonic() - started < 10


@as_root
def test_a_file_only_root_may_read_cannot_be_read(tmp_path, shared):
    secret = shared / "key.py"
    secret.write_text("ANSWER = 42\n")
    secret.chmod(0o600)
    hidden = tmp_path / "key.txt"  # and anything under pytest's own 0700 folder
    hidden.write_text("42")
    with box(tmp_path, f"""
        def grad(x):
            refused = []
            for path in ({str(secret)!r}, {str(hidden)!r}):
                try:
                    open(path).read()
                    refused.append(0)
                except PermissionError:
                    refused.append(1)
            return refused
    """) as s:
        assert list(s.call("grad", 1.0)) == [1, 1]


@as_root
def test_files_beside_the_candidate_that_others_may_not_read_are_not_copied(tmp_path):
    (tmp_path / "key.txt").write_text("SECRET")
    (tmp_path / "key.txt").chmod(0o600)
    closed = tmp_path / "other-student"
    closed.mkdir()
    (closed / "hw4.py").write_text("THEIRS = 1\n")
    closed.chmod(0o700)
    (tmp_path / "notes.txt").write_text("open")           # readable by everybody: copied
    with box(tmp_path, """
        import os
        here = os.path.dirname(os.path.abspath(__file__))

        def grad(x):
            return [os.path.exists(os.path.join(here, name))
                    for name in ("key.txt", "other-student", "other-student/hw4.py", "notes.txt")]
    """) as s:
        assert list(s.call("grad", 1.0)) == [False, False, False, True]


@as_root
def test_the_copy_of_the_folder_takes_regular_files_only_and_not_too_much(tmp_path, shared):
    secret = shared / "secret.py"
    secret.write_text("ANSWER = 42\n")
    secret.chmod(0o600)
    (tmp_path / "key.py").symlink_to(secret)              # a link, in an upload, to what root may read
    (tmp_path / "big.bin").write_bytes(b"\0" * (21 << 20))  # over the cap
    write(tmp_path, "VALUE = 3\n", "data_helper.py")
    with box(tmp_path, """
        import os
        here = os.path.dirname(os.path.abspath(__file__))
        def grad(x):
            try:
                import key
                linked = 1
            except ImportError:
                linked = 0
            import data_helper
            return [linked, os.path.exists(os.path.join(here, "big.bin")), data_helper.VALUE]
    """) as s:
        assert list(s.call("grad", 1.0)) == [0, 0, 3]
    (tmp_path / "linked.py").symlink_to(tmp_path / "student.py")
    with pytest.raises(LoadError, match="symbolic link"), Sandbox(tmp_path / "linked.py"):
        pass


@as_root
def test_the_candidate_runs_as_no_one_and_without_groups(tmp_path):
    with box(tmp_path, """
        import os
        def grad(x):
            return [*os.getresuid(), *os.getresgid(), len(os.getgroups())]
    """) as s:
        ids = list(s.call("grad", 1.0))
    uid = ids[0]
    assert uid in sb.USER_IDS and ids == [uid] * 6 + [0]


def test_the_grader_becomes_non_dumpable_with_its_first_sandbox(tmp_path):
    Sandbox(write(tmp_path, "def grad(x):\n    return x\n"))
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE


def test_as_the_graders_own_user_it_works_as_before(tmp_path, monkeypatch):
    # What a grader that is not root gets: no user of its own, no copy of the folder.
    monkeypatch.setattr(sb, "USER_IDS", None)
    write(tmp_path, "def double(x):\n    return 2 * x\n", "helpers.py")
    with box(tmp_path, """
        import os
        import helpers
        def grad(x):
            return [os.getuid(), helpers.double(x), os.path.dirname(__file__) == FOLDER]
    """.replace("FOLDER", repr(str(tmp_path)))) as s:
        assert list(s.call("grad", 1.0)) == [os.getuid(), 2, 1]
        assert s._child.uid is None


# ---- memory ------------------------------------------------------------------------------------------
@DIRECT_ONLY  # the fork server has scipy.signal loaded already: nothing left to map
def test_a_library_that_cannot_be_mapped_under_the_limit_is_a_memory_limit(tmp_path):
    with pytest.raises(MemoryLimit, match="memory limit of 32 MiB exceeded while loading student.py"):
        load(tmp_path, "import scipy.signal\ndef grad(x):\n    return x\n", memory=32 * 2**20)


@ONCE
@pytest.mark.parametrize("exc, memory", [
    (ImportError("libscipy_openblas.so: failed to map segment from shared object"), True),
    (ImportError("libgfortran.so.5: cannot map zero-fill pages"), True),
    (OSError(12, "Cannot allocate memory"), True),
    (MemoryError(), True),
    (ImportError("No module named 'torch'"), False),
    (ImportError("libfoo.so: cannot allocate memory in static TLS block"), False),
    (ValueError("Cannot allocate memory"), False),
])
def test_what_counts_as_running_out_of_memory(exc, memory):
    assert child_module()._memory_exhausted(exc) is memory


# ---- the fork server -----------------------------------------------------------------------------------
@ZYGOTE_ONLY
def test_the_fork_server_holds_nothing_of_verify(tmp_path):
    verify_folder = os.path.dirname(sb.__file__)
    with box(tmp_path, f"""
        import os, sys
        def grad(x):
            loaded = [name for name in sys.modules if name.split(".")[0] in ("verify", "solutions")]
            ours = [m for m in list(sys.modules.values())
                    if os.path.dirname(getattr(m, "__file__", None) or "") == {verify_folder!r}
                    and os.path.basename(m.__file__) not in ("_sandbox_child.py", "_sandbox_zygote.py")]
            return [len(loaded), len(ours), "scipy.signal" in sys.modules]
    """) as s:
        assert list(s.call("grad", 1.0)) == [0, 0, 1]
        zygote = sb._ZYGOTE
        assert zygote is not None and s._child._end.zygote is zygote
    with open(f"/proc/{zygote.pid}/cmdline", "rb") as file:
        command = file.read().split(b"\0")
    assert command[1:3] == [b"-I", str(sb.ZYGOTE).encode()]
    with open(f"/proc/{zygote.pid}/maps") as file:
        assert "solutions" not in file.read()


@ZYGOTE_ONLY
def test_a_killed_fork_server_is_replaced_and_its_children_still_work(tmp_path):
    source = "import os\ndef grad(x):\n    return x * 2\ndef die(x):\n    os._exit(4)\n"
    with box(tmp_path, source) as s:
        first = sb._zygote()
        os.kill(first.pid, signal.SIGKILL)
        assert gone(first.pid)
        np.testing.assert_array_equal(s.call("grad", np.ones(2)), [2, 2])  # adopted by init, still ours
        with pytest.raises(Crashed, match="the candidate's process"):
            s.call("die", 1.0)
        s.restart()  # a fresh fork server
        pid, tmp = s._child.pid, s._child.tmp
        second = sb._ZYGOTE
        assert second is not None and second.pid != first.pid and s._child._end.zygote is second
        np.testing.assert_array_equal(s.call("grad", np.ones(2)), [2, 2])
    assert gone(pid) and not os.path.exists(tmp)


@ZYGOTE_ONLY
def test_killing_the_fork_server_in_the_middle_of_a_batch_changes_no_grade(tmp_path):
    from verify import grade
    from verify.homework import load as load_homework

    homework = load_homework("solutions")
    for name in ("ann", "ben", "cid"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "hw4.py").write_text(CORRECT)
    killed = []

    def kill_the_fork_server(submission):
        if not killed:
            killed.append(sb._ZYGOTE.pid)
            os.kill(sb._ZYGOTE.pid, signal.SIGKILL)

    report = grade.grade_all(tmp_path, jobs=1, seed=7, homework=homework, timeout=10, progress=kill_the_fork_server)
    assert killed and gone(killed[0])
    assert {row.verdict for row in report.rows} == {"correct"}, report.rows
    assert sb._ZYGOTE is not None and sb._ZYGOTE.pid != killed[0]


@ONCE
def test_without_a_fork_server_sandboxes_start_directly(tmp_path, monkeypatch):
    monkeypatch.setattr(sb, "ZYGOTE", sb.ZYGOTE.with_name("no_such_zygote.py"))
    monkeypatch.setattr(sb, "_ZYGOTE", None)
    monkeypatch.setattr(sb, "_ZYGOTE_FAILED", -float("inf"))
    with box(tmp_path, "def grad(x):\n    return x + 1\n") as s:
        np.testing.assert_array_equal(s.call("grad", np.zeros(2)), [1, 1])
        assert s._child._end.proc is not None and s._child._end.zygote is None


@ONCE
def test_start_time_with_and_without_the_fork_server(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "import numpy as np\nfrom scipy import signal\ndef grad(x):\n    return x\n")
    times = {}
    for how, runs in (("zygote", 7), ("direct", 3)):
        monkeypatch.setattr(sb, "START", how)
        took = []
        for _ in range(runs):
            started = time.perf_counter()
            with Sandbox(path):
                took.append(time.perf_counter() - started)
        times[how] = statistics.median(took)
    with capsys.disabled():
        print(f"\n[note] sandbox start + load of a file importing scipy.signal, p50: fork server "
              f"{times['zygote'] * 1000:.0f} ms, direct {times['direct'] * 1000:.0f} ms")



def test_the_global_random_generators_start_alike_in_every_sandbox(tmp_path):
    # so that a candidate using them repeats its verdict when the grader repeats a run with --seed
    source = """
        import random
        import numpy as np
        def grad(x):
            return [np.random.random(), random.random()]
    """
    draws = []
    for _ in range(2):
        with box(tmp_path, source) as s:
            draws.append(list(s.call("grad", 1.0)) + list(s.call("grad", 1.0)))
    assert draws[0] == draws[1]
    assert len(set(draws[0])) == 4
