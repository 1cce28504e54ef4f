"""verify.sandbox: untrusted candidate files run out of reach of the grader, with limits.

Each test writes a candidate file into tmp_path and drives it through a Sandbox, under the isolation
in force on this machine (bubblewrap wherever it can create namespaces: as root and as a normal
user).  The candidate sees nothing of tmp_path, so what a test needs from it comes back as its
answer or its output.  Timeouts are short (1 s or less) where a test waits for a limit; no test
asserts on timing.  The attacks at the end are the ones issue 13 names, each one a test.
"""
import contextlib
import io
import json
import os
import pickle
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.verify.test_grade import ANSWERED, CORRECT, FULL
from verify import sandbox as sb
from verify.sandbox import (
    CandidateRaised,
    Crashed,
    FunctionError,
    LimitExceeded,
    LoadError,
    MemoryLimit,
    MissingFunction,
    NoIsolation,
    Sandbox,
    SandboxError,
    TimeLimit,
)

pytestmark = pytest.mark.sandbox
PROJECT = Path(sb.__file__).resolve().parents[1]
BUBBLEWRAP = sb.isolation().name == "bubblewrap"
in_bubblewrap = pytest.mark.skipif(not BUBBLEWRAP, reason="needs bubblewrap, which cannot create namespaces here")


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


def wait_for(condition, within=5.0):
    end = time.monotonic() + within
    while not condition():
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)
    return True


def gone(pid, within=5.0):
    """True once `pid` no longer runs (exited, or a zombie nobody has reaped yet)."""
    def dead():
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except (FileNotFoundError, ProcessLookupError):
            return True
    return wait_for(dead, within)


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


def test_arguments_are_fresh_float64_arrays_and_ints_and_floats_stay_what_they_are(tmp_path):
    with box(tmp_path, """
        import numpy as np
        def grad(x, s, k, f):
            seen = [type(x) is np.ndarray, x.dtype == np.float64, x.ndim, x.flags.writeable,
                    x.sum(), type(s) is np.ndarray, s.ndim, type(k) is int, k,
                    type(f) is float]
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
    ("object()", "returned an object, not"),
    ("(v for v in x)", "returned a generator, not"),              # a coroutine or a generator is no array
    ("__import__('asyncio').sleep(0)", "returned a coroutine, not"),
    ("np.array([1.0, 'a'], dtype=object)", "an array of dtype object"),
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


# ---- limits ----------------------------------------------------------------------------------------
def test_an_endless_loop_hits_the_time_limit(tmp_path):
    with box(tmp_path, "def grad(x):\n    while True:\n        pass\n", timeout=1) as s:
        with pytest.raises(TimeLimit) as failure:
            s.call("grad", np.zeros(2))
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


@in_bubblewrap  # unprotected (VERIFY_SANDBOX=none), a setsid() daemon escapes
def test_a_sigterm_ignoring_loop_is_still_killed_with_every_process_of_the_sandbox(tmp_path):
    with box(tmp_path, """
        import signal, subprocess
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        def spawn(x):
            return subprocess.Popen(["sleep", "1000"], start_new_session=True).pid
        def grad(x):
            while True:
                pass
    """, timeout=0.5) as s:
        s.call("spawn", 1.0)
        processes = s._process._end.processes()
        assert len(processes) >= 3
        with pytest.raises(TimeLimit):
            s.call("grad", 1.0)
    assert all(gone(pid) for pid in processes)


def test_a_4_gb_allocation_hits_the_memory_limit(tmp_path):
    with box(tmp_path, "import numpy as np\ndef grad(x):\n    return np.ones(5 * 10**8).sum()\n") as s:
        with pytest.raises(MemoryLimit) as failure:
            s.call("grad", 1.0)
        assert not s.alive
    assert str(failure.value) == "memory limit of 2 GiB exceeded"


def test_a_few_hundred_mb_fit_under_the_default_limit(tmp_path):
    with box(tmp_path, "import numpy as np\ndef grad(x):\n    return np.ones(300 * 2**20 // 8).sum()\n") as s:
        assert s.call("grad", 1.0) == 300 * 2**20 // 8


def test_forked_processes_count_toward_the_memory_limit(tmp_path):
    s = box(tmp_path, """
        import os, time
        import numpy as np
        def grad(x):
            for _ in range(4):
                if os.fork() == 0:
                    a = np.ones(100 * 2**20 // 8)
                    time.sleep(30)
            time.sleep(30)
    """, memory=256 * 2**20, timeout=20)
    with s, pytest.raises(MemoryLimit, match="memory limit of 256 MiB exceeded"):
        s.call("grad", 1.0)


def test_helper_processes_whose_first_thread_ended_count_toward_the_memory_limit(tmp_path):
    # a fresh attacker's helpers held their memory in a second thread and ended their first (a zombie leader, whose
    # own /proc files show no memory): 500 MB under --memory 64M
    s = box(tmp_path, """
        import ctypes, os, threading, time
        import numpy as np
        def grad(x):
            for _ in range(3):
                if os.fork() == 0:
                    def hold():
                        a = np.ones(100 * 2**20 // 8)
                        time.sleep(30)
                    threading.Thread(target=hold).start()
                    ctypes.CDLL(None).pthread_exit(None)
            time.sleep(30)
    """, memory=256 * 2**20, timeout=20)
    with s, pytest.raises(MemoryLimit, match="memory limit of 256 MiB exceeded"):
        s.call("grad", 1.0)


def test_page_tables_count_toward_the_memory_limit(tmp_path):
    # a fresh attacker's helpers made one-page mappings a gigabyte apart and read each once: the shared zero page,
    # no resident memory, but 8 KiB of page tables each, 780 MB under --memory 64M
    s = box(tmp_path, """
        import ctypes, mmap, time
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        def grad(x):
            for n in range(12000):
                at = libc.mmap(ctypes.c_void_p((1 << 45) + (n << 30)), 4096, mmap.PROT_READ,
                               mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x100000, -1, 0)   # MAP_FIXED_NOREPLACE
                if at not in (None, ctypes.c_void_p(-1).value):
                    ctypes.string_at(at, 1)
            time.sleep(30)
    """, memory=64 * 2**20, timeout=20)
    with s, pytest.raises(MemoryLimit, match="memory limit of 64 MiB exceeded"):
        s.call("grad", 1.0)


def test_limits_at_import(tmp_path):
    with pytest.raises(TimeLimit, match="time limit of 1 s exceeded while loading student.py"):
        load(tmp_path, "while True:\n    pass\n", timeout=1)
    with pytest.raises(MemoryLimit):
        load(tmp_path, "import numpy as np\nbig = np.ones(5 * 10**8)\n")


def test_ctrl_c_in_the_parent_kills_the_sandbox_and_propagates(tmp_path):
    s = box(tmp_path, "def grad(x):\n    while True:\n        pass\n", timeout=30)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt), s:
            processes = s._process._end.processes()
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            s.call("grad", 1.0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert all(gone(pid) for pid in processes) and not s.alive


@in_bubblewrap  # unprotected (VERIFY_SANDBOX=none), a setsid() daemon escapes
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_sandbox_dies_with_the_grader_even_if_the_grader_is_killed(tmp_path, how):
    # SIGKILL gives the grader no chance to clean up: bwrap's --die-with-parent (or, without it, the
    # server seeing its control pipe close) ends everything, a daemon in a session of its own too.
    candidate = write(tmp_path, """
        import subprocess
        def spawn(x):
            return subprocess.Popen(["sleep", "1000"], start_new_session=True).pid
        def grad(x):
            while True:
                pass
    """)
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from verify.sandbox import Sandbox
        with Sandbox({str(candidate)!r}, timeout=60) as s:
            s.call("spawn", 1.0)
            print(*s._process._end.processes(), flush=True)
            s.call("grad", 1.0)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        processes = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(processes) >= 3  # the server, the candidate and its daemon at least
        parent.send_signal(how)
        assert all(gone(pid) for pid in processes)
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


@pytest.mark.parametrize("source, how", [("import os\nos._exit(3)\n", "exited with status 3"),
                                         ("import ctypes\nctypes.string_at(0)\n", "was killed by signal 11")])
def test_an_exit_or_a_crash_at_import_is_a_load_error_naming_the_file(tmp_path, source, how):
    # A file whose import ends its process cannot be loaded (exit 2), as a file that raises at import;
    # no limit was hit (exit 3 would say so).
    with pytest.raises(LoadError) as failure:
        load(tmp_path, source)
    assert str(failure.value).startswith(f"student.py: cannot be loaded: the candidate's process {how}")


def test_a_symbolic_link_is_refused_as_such(tmp_path):
    (tmp_path / "real.py").write_text("def grad(x):\n    return x\n")
    (tmp_path / "hw4.py").symlink_to(tmp_path / "real.py")
    with pytest.raises(LoadError, match=r"^hw4.py: a symbolic link, which is not accepted: submit the file itself$"):
        Sandbox(tmp_path / "hw4.py").__enter__()


@pytest.mark.parametrize("name, words", [("missing.py", "no such file"),
                                         ("student.txt", "not a Python file")])
def test_a_missing_or_non_python_file_is_refused_without_a_child(tmp_path, name, words):
    if name.endswith(".txt"):
        write(tmp_path, "def grad(x):\n    return x\n", name)
    s = Sandbox(tmp_path / name)
    with pytest.raises(LoadError, match=words):
        s.__enter__()
    assert s._process is None


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


# ---- fresh state -----------------------------------------------------------------------------------
@in_bubblewrap  # unprotected (VERIFY_SANDBOX=none), a setsid() daemon escapes
def test_fresh_gives_each_result_a_fresh_interpreter_state(tmp_path):
    with box(tmp_path, """
        import os, subprocess
        counter = [0]
        def grad(x):
            counter[0] += 1
            return counter[0]
        def daemon(x):
            return subprocess.Popen(["sleep", "1000"], start_new_session=True).pid
        def alive(pid):
            try:
                with open(f"/proc/{int(pid)}/stat") as stat:
                    return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
            except FileNotFoundError:
                return 0
    """) as s:
        assert [int(s.call("grad", 1.0)) for _ in range(3)] == [1, 2, 3]
        pid = int(s.call("daemon", 1.0))
        assert int(s.call("alive", pid)) == 1
        s.fresh()
        assert int(s.call("grad", 1.0)) == 1
        assert int(s.call("alive", pid)) == 0
        s.fresh()
        s.fresh()  # nothing asked in between: nothing to do
        assert int(s.call("grad", 1.0)) == 1


# ---- calls sent ahead --------------------------------------------------------------------------------
COUNTING = """
    calls = []
    def grad(x):
        calls.append(float(x.sum()))
        if x.sum() < 0:
            raise ValueError("negative")
        return x * len(calls)
    def seen(x):
        return calls
"""


def test_calls_sent_ahead_are_answered_in_order_as_if_made_one_by_one(tmp_path):
    """The engine sends a check's calls ahead: each answer is the one its own call would have got, a raise
    included, and the candidate saw exactly those calls, in that order."""
    with box(tmp_path, COUNTING) as s:
        args = [np.full(3, float(k)) for k in (1, 2, -1, 4)]
        for _ in range(3):   # again after fresh(): nothing of the last run's queue is left
            s.ahead("grad", [(a,) for a in args])
            np.testing.assert_array_equal(s.call("grad", args[0]), args[0] * 1)
            np.testing.assert_array_equal(s.call("grad", args[1]), args[1] * 2)
            with pytest.raises(CandidateRaised, match="negative"):
                s.call("grad", args[2])
            np.testing.assert_array_equal(s.call("grad", args[3]), args[3] * 4)
            assert list(s.call("seen", args[0])) == [3.0, 6.0, -3.0, 12.0]
            s.fresh()


def test_a_call_that_is_not_the_next_one_sent_drops_the_answers_before_it(tmp_path):
    with box(tmp_path, COUNTING) as s:
        args = [np.full(2, float(k)) for k in range(1, 6)]
        s.ahead("grad", [(a,) for a in args])
        np.testing.assert_array_equal(s.call("grad", args[2]), args[2] * 3)    # the first two dropped
        np.testing.assert_array_equal(s.call("grad", np.zeros(2) + 7), [7 * 6, 7 * 6])  # none left of that
        assert list(s.call("seen", args[0])) == [2.0, 4.0, 6.0, 8.0, 10.0, 14.0]
        s.fresh()
        s.ahead("grad", [(a,) for a in args])
        s.function("seen", 1)    # any other request: the answers sent ahead are read first, and dropped
        assert list(s.call("seen", args[0])) == [2.0, 4.0, 6.0, 8.0, 10.0]


def test_a_call_sent_ahead_keeps_the_time_limit(tmp_path):
    with box(tmp_path, "def grad(x):\n    while x.sum() > 1:\n        pass\n    return x\n", timeout=0.5) as s:
        s.ahead("grad", [(np.zeros(2),), (np.ones(2) * 5,), (np.zeros(2),)])
        np.testing.assert_array_equal(s.call("grad", np.zeros(2)), [0, 0])
        with pytest.raises(TimeLimit):
            s.call("grad", np.ones(2) * 5)
        s.fresh()
        np.testing.assert_array_equal(s.call("grad", np.zeros(2)), [0, 0])


def test_fresh_after_a_crash_starts_a_new_sandbox(tmp_path):
    with box(tmp_path, "import os\ndef die(x):\n    os._exit(3)\ndef grad(x):\n    return x * 3\n") as s:
        with pytest.raises(Crashed, match="exited with status 3 during a call of die"):
            s.call("die", 1.0)
        s.fresh()
        np.testing.assert_array_equal(s.call("grad", np.ones(2)), [3, 3])


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


def test_a_raised_exception_is_named_for_the_grader(tmp_path):
    # The engine tells a RecursionError (a failure on any shape) from a shape the candidate refuses.
    with box(tmp_path, "def grad(x):\n    return grad(x)\ndef shape(x):\n    raise ValueError('no')\n") as s:
        with pytest.raises(CandidateRaised, match="raised RecursionError") as raised:
            s.call("grad", 1.0)
        assert raised.value.exception == "RecursionError"
        with pytest.raises(CandidateRaised) as raised:
            s.call("shape", 1.0)
        assert raised.value.exception == "ValueError"


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


# ---- the protocol ------------------------------------------------------------------------------------
WRITE_TO_EVERY_PIPE = """
    import os
    import numpy as np
    def grad(x):
        payload = PAYLOAD
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
def test_a_garbled_or_forged_frame_is_a_crash(tmp_path, forge):
    with box(tmp_path, WRITE_TO_EVERY_PIPE.replace("PAYLOAD", repr(forge(1)))) as s:
        with pytest.raises(Crashed, match="broke the result channel"):
            s.call("grad", 1.0)
        assert not s.alive


def test_the_parent_never_unpickles_an_object_array_from_the_child(tmp_path):
    marker = tmp_path / "unpickled"

    class Attack:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    array = npy(np.array([Attack()], dtype=object), allow_pickle=True)
    forged = b"".join(bytes(part) for part in sb._frame({"seq": 1, "status": "ok"}, [array]))
    with box(tmp_path, WRITE_TO_EVERY_PIPE.replace("PAYLOAD", repr(forged))) as s, \
            pytest.raises(Crashed, match="broke the result channel"):
        s.call("grad", 1.0)
    assert not marker.exists()


@pytest.mark.parametrize("blob", [
    npy(np.array([1, "a"], dtype=object), allow_pickle=True),
    npy(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])),
    npy(np.array(["a", "b"])),
    npy(np.arange(4.0))[:-1],                    # truncated
    npy(np.arange(4.0)) + b"\0" * 8,             # trailing data
    pickle.dumps(np.arange(4.0)),
    b"PK\x03\x04" + b"\0" * 60,                  # an .npz
    b"",
])
def test_decoding_refuses_anything_but_a_plain_numeric_npy(blob):
    with pytest.raises(ValueError):
        sb._decode_array(blob)


def test_decoding_keeps_the_numbers_and_makes_byte_order_native():
    got = sb._decode_array(npy(np.arange(6.0).reshape(2, 3).astype(">f8")))
    assert got.dtype == np.float64 and got.dtype.isnative and got.flags.writeable
    np.testing.assert_array_equal(got, np.arange(6.0).reshape(2, 3))
    assert sb._decode_array(npy(np.array(2.5))).shape == ()


def server_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("_sandbox_server_under_test", sb.SERVER)
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)  # defines things only: serve() runs under __main__
    return server


def test_the_server_uses_the_same_frame_format_and_not_the_verify_package():
    server = server_module()
    assert (server.MAGIC, server.HEAD.format, server.MAX_BLOB) == (sb.MAGIC, sb.HEAD.format, sb.MAX_BLOB)
    source = sb.SERVER.read_text()
    assert "import verify" not in source and "from verify" not in source and "from ." not in source


def test_every_error_is_a_sandbox_error_and_limits_share_a_base():
    for kind in (LoadError, FunctionError, CandidateRaised, LimitExceeded, NoIsolation):
        assert issubclass(kind, SandboxError)
    for kind in (TimeLimit, MemoryLimit, Crashed):
        assert issubclass(kind, LimitExceeded)
    assert issubclass(MissingFunction, FunctionError)


def test_the_wipe_lists_each_folder_once_however_wide_or_deep(tmp_path, monkeypatch):
    # A fresh attacker's 20,000 empty folders in /tmp cost the grader a minute outside any limit: each was found
    # again by listing its parent, so the wipe took time quadratic in the folders.
    server = server_module()
    tree = tmp_path / "tmp" / "left"
    for number in range(2000):
        (tree / f"wide{number}").mkdir(parents=True)
    deep = tree / "deep"
    for _ in range(40):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "file").write_text("secret")
    (tree / "wide7").chmod(0)
    folders = 2000 + 40 + 2
    listed = []
    listdir = os.listdir
    monkeypatch.setattr(server.os, "listdir", lambda fd: listed.append(fd) or listdir(fd))
    server._remove(str(tmp_path / "tmp"), "left")
    assert not (tmp_path / "tmp" / "left").exists() and len(listed) == folders


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
    assert server_module()._memory_exhausted(exc) is memory


# ---- which isolation -----------------------------------------------------------------------------------
@pytest.fixture
def choose(monkeypatch):
    """Set VERIFY_SANDBOX (and what the machine offers) and ask isolation() afresh."""
    def choose(wanted, bwrap=True, user=False):
        monkeypatch.setenv("VERIFY_SANDBOX", wanted)
        if not bwrap:
            monkeypatch.setattr(sb, "_bwrap_flags", lambda: None)
        if not user:
            monkeypatch.setattr(sb, "_user_problem", lambda: "there is no user verify-candidate")
        sb.isolation.cache_clear()
        return sb.isolation
    yield choose
    sb.isolation.cache_clear()


def test_without_bubblewrap_or_a_candidate_user_nothing_runs_unless_asked(choose, tmp_path):
    isolation = choose("auto", bwrap=False)
    with pytest.raises(NoIsolation, match="set VERIFY_SANDBOX=none"):
        isolation()
    with pytest.raises(NoIsolation):
        Sandbox(write(tmp_path, "def grad(x):\n    return x\n"))
    with pytest.raises(NoIsolation, match="expected bubblewrap, user or none"):
        choose("chroot")()


def test_unprotected_runs_only_when_asked_and_says_what_is_unprotected(choose, tmp_path):
    isolation = choose("none", bwrap=False)
    assert isolation().name == "none"
    assert "can read the key" in str(isolation())
    with box(tmp_path, "import os\ndef grad(x):\n    return [x * 2, os.getuid()]\n") as s:
        assert s.isolation.name == "none"
        np.testing.assert_array_equal(s.call("grad", 1.0), [2.0, os.getuid()])


def test_asking_for_a_user_that_does_not_exist_is_refused(choose):
    with pytest.raises(NoIsolation, match="VERIFY_SANDBOX=user, but"):
        choose("user")()


@in_bubblewrap
def test_the_sandbox_says_it_uses_bubblewrap(tmp_path):
    with box(tmp_path, "def grad(x):\n    return x\n") as s:
        assert s.isolation.name == "bubblewrap" and "bubblewrap" in str(s.isolation)


# ---- out of reach: the attacks of issue 13 ----------------------------------------------------------------
@in_bubblewrap
@pytest.mark.parametrize("statement", ["import verify", "import solutions", "import pipeline",
                                       "from verify import engine"])
def test_the_key_cannot_be_imported(tmp_path, statement):
    with pytest.raises(LoadError, match="ImportError: No module named"):
        load(tmp_path, f"""
            import sys
            sys.path += [{str(PROJECT)!r}] + {sys.path!r}
            {statement}
        """)


@in_bubblewrap
def test_no_file_of_the_project_the_class_or_the_graders_packages_can_be_read(tmp_path):
    import site
    (tmp_path / "grades.csv").write_text("alice,t1.dX,correct,5,5\n")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "hw4.py").write_text(CORRECT)
    secret = [str(PROJECT / "solutions" / "__init__.py"), str(PROJECT / "verify" / "engine.py"),
              str(PROJECT / "output" / "hw4-grading.pdf"), str(PROJECT / "output" / "verify-report.json"),
              str(tmp_path / "grades.csv"), str(tmp_path / "bob" / "hw4.py"), *site.getsitepackages(),
              str(PROJECT), str(tmp_path)]
    with box(tmp_path, f"""
        import os
        import numpy
        def grad(x):
            found = [path for path in {secret!r} if os.path.exists(path)]
            beside = os.listdir(os.path.dirname(os.path.dirname(numpy.__file__)))
            found += [name for name in beside if not name.startswith(("numpy", "scipy"))]
            print(found)
            return len(found)
    """) as s:
        assert int(s.call("grad", 1.0)) == 0, s.output


@in_bubblewrap
def test_the_candidate_sees_its_own_copy_of_its_file_only(tmp_path):
    (tmp_path / "helpers.py").write_text("X = 1\n")
    with box(tmp_path, """
        import os
        def grad(x):
            here = os.path.dirname(os.path.abspath(__file__))
            return [len(os.listdir(here)), os.path.exists(os.path.join(here, "helpers.py")),
                    len(open(__file__, "rb").read())]
    """) as s:
        assert list(s.call("grad", 1.0)) == [1, 0, (tmp_path / "student.py").stat().st_size]


@in_bubblewrap
def test_stack_frames_and_proc_lead_nowhere(tmp_path):
    (tmp_path / "grades.csv").write_text("secret-grade-line\n")
    with box(tmp_path, """
        import inspect, os
        def grad(x):
            seen = " ".join(frame.filename for frame in inspect.stack())
            for pid in filter(str.isdigit, os.listdir("/proc")):
                for what in ("cmdline", "environ"):
                    try:
                        seen += open(f"/proc/{pid}/{what}", "rb").read().decode("latin1")
                    except OSError:
                        pass
                try:
                    seen += " ".join(os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
                    seen += os.readlink(f"/proc/{pid}/cwd")
                except OSError:
                    pass
            print(seen)
            return len(list(filter(str.isdigit, os.listdir("/proc"))))
    """) as s:
        count = int(s.call("grad", 1.0))
        seen = s.output
    for word in ("pytest", str(tmp_path), "grades.csv", "secret-grade-line"):
        assert word not in seen, word
    assert count <= 4  # bwrap's init, the server, the candidate (and a process of its listing)


@in_bubblewrap
def test_the_candidate_cannot_signal_the_grader_or_any_process_outside(tmp_path):
    victim = subprocess.Popen(["sleep", "1000"])
    try:
        with box(tmp_path, f"""
            import os, signal
            def grad(x):
                hit = 0
                for pid in ({os.getpid()}, {victim.pid}):
                    try:
                        with open(f"/proc/{{pid}}/cmdline", "rb") as file:
                            hit += b"sleep" in file.read() or b"pytest" in file.read()
                    except OSError:
                        pass
                return hit
            def everybody(x):
                os.kill(-1, signal.SIGKILL)
                return x
        """) as s:
            assert int(s.call("grad", 1.0)) == 0
            with contextlib.suppress(Crashed, CandidateRaised):
                # kills its own sandbox's processes of its uid and nothing else: none, pid 1 being the server
                s.call("everybody", 1.0)
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


@in_bubblewrap
def test_there_is_no_network(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        with box(tmp_path, f"""
            import socket
            def grad(x):
                reached = 0
                for address in (("127.0.0.1", {port}), ("1.1.1.1", 53), ("8.8.8.8", 443)):
                    try:
                        socket.create_connection(address, timeout=2).close()
                        reached += 1
                    except OSError:
                        pass
                return reached
        """) as s:
            assert int(s.call("grad", 1.0)) == 0
    finally:
        listener.close()


@in_bubblewrap
@pytest.mark.parametrize("where", ["/dev/shm", "/tmp"])
def test_filling_dev_shm_or_tmp_counts_against_the_memory_limit(tmp_path, where):
    s = box(tmp_path, f"""
        import time
        def grad(x):
            block = b"x" * 2**20
            for n in range(400):
                try:
                    with open(f"{where}/fill{{n}}", "wb") as file:
                        file.write(block)
                except OSError:
                    break
            time.sleep(30)
    """, memory=128 * 2**20, timeout=20)
    with s, pytest.raises(MemoryLimit, match="memory limit of 128 MiB exceeded"):
        s.call("grad", 1.0)


@in_bubblewrap
def test_dev_holds_no_file_of_the_candidate_but_its_devices_and_dev_shm_work(tmp_path):
    # a fresh attacker under a normal user's grader wrote 240 MB to /dev, uncounted, and read in the next
    # submission what the previous one left there
    with box(tmp_path, """
        import os
        def grad(x):
            try:
                open("/dev/left-for-the-next", "wb").write(b"x")
                wrote = "yes"
            except OSError as exc:
                wrote = os.strerror(exc.errno)
            open("/dev/null", "wb").write(b"x" * 1000)
            open("/dev/shm/scratch", "wb").write(b"x")
            print(wrote)
            return x
    """) as s:
        assert s.call("grad", 1.0) == 1.0
    assert s.output == "Read-only file system\n"   # read-only for every grader, not only closed to nobody


@in_bubblewrap
def test_a_setsid_daemon_dies_with_the_sandbox(tmp_path):
    with box(tmp_path, """
        import os, time
        def grad(x):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(1000)
                os._exit(0)
            os.wait()
            return x
    """) as s:
        server = s._process._end.processes()[:1]  # the server, the sandbox's pid 1, kept for the next sandbox
        s.call("grad", 1.0)
        candidate = [pid for pid in s._process._end.processes() if pid not in server]
        assert len(candidate) >= 2  # the candidate and its daemon
    assert all(gone(pid) for pid in candidate)


ATTACKS = {
    "importer": """
        import sys
        sys.path[:0] = PATHS
        from solutions import *
        import inspect, solutions
        print(inspect.getsource(solutions))
    """,
    "copier": """
        import glob, inspect, os
        for frame in inspect.stack():
            folder = os.path.dirname(os.path.dirname(os.path.abspath(frame.filename)))
            for other in glob.glob(folder + "/*/hw4.py") + glob.glob("/proc/*/cwd/../*/hw4.py"):
                exec(open(other).read())
    """,
    "printer": """
        import glob
        for path in [CSV] + glob.glob("/proc/*/cwd/*.csv") + glob.glob("/proc/*/root" + CSV):
            try:
                print(open(path).read())
            except OSError as exc:
                print("no", exc)
    """,
    "filler": """
        for n in range(2000):
            open(f"/dev/shm/f{n}", "wb").write(b"x" * 2**20)
    """,
}


@in_bubblewrap
def test_the_four_submissions_of_the_issue_get_nothing_and_see_no_key(tmp_path):
    """In a class with the key importer, the copier, the grade printer and the /dev/shm filler, each
    gets 0 points, and no feedback file nor the CSV holds any text of the key or of the old grades."""
    from verify import grade
    from verify.homework import load as load_homework

    (tmp_path / "class" / "ann").mkdir(parents=True)
    (tmp_path / "class" / "ann" / "hw4.py").write_text(CORRECT)
    old_csv = tmp_path / "grades.csv"
    old_csv.write_text("submission,result,verdict,points,max_points\nann,t1.dX,correct,5,5\n")
    for name, source in ATTACKS.items():
        (tmp_path / "class" / name).mkdir()
        source = source.replace("PATHS", repr([str(PROJECT), *sys.path])).replace("CSV", repr(str(old_csv)))
        (tmp_path / "class" / name / "hw4.py").write_text(textwrap.dedent(source))
    report = grade.grade_all(tmp_path / "class", jobs=2, seed=7, timeout=10, memory=256 * 2**20)
    by_name = {s.name: s for s in report.submissions}
    assert by_name["ann"].points == FULL, [g.text for g in by_name["ann"].results]
    homework = load_homework()
    key_lines = [line.strip() for path in sorted((PROJECT / "solutions").glob("*.py"))
                 for line in path.read_text().splitlines() if len(line.strip()) > 30]
    assert key_lines
    for name in ATTACKS:
        assert by_name[name].points == 0, (name, [g.text for g in by_name[name].results])
        text = grade.feedback_text(homework, by_name[name])
        assert "ann,t1.dX,correct" not in text, name
        assert not [line for line in key_lines if line in text], name


@in_bubblewrap
def test_on_gradescope_the_four_submissions_get_nothing_and_results_json_holds_no_key(tmp_path):
    from verify import gradescope

    old_csv = tmp_path / "grades.csv"
    old_csv.write_text("submission,result,verdict,points,max_points\nann,t1.dX,correct,5,5\n")
    key_lines = [line.strip() for path in sorted((PROJECT / "solutions").glob("*.py"))
                 for line in path.read_text().splitlines() if len(line.strip()) > 30]
    for name, source in ATTACKS.items():
        root = tmp_path / name
        (root / "submission").mkdir(parents=True)
        source = source.replace("PATHS", repr([str(PROJECT), *sys.path])).replace("CSV", repr(str(old_csv)))
        (root / "submission" / "hw4.py").write_text(textwrap.dedent(source))
        results = gradescope.run(root, timeout=10, memory=256 * 2**20, seed=7)
        text = (root / "results" / "results.json").read_text()
        assert results["score"] == 0, name
        assert "isolation: bubblewrap" in results["output"]
        assert "ann,t1.dX,correct" not in text and not [line for line in key_lines if line in text], name


# ---- grade's workers ----------------------------------------------------------------------------------
def test_a_dead_grading_worker_costs_its_submission_alone(tmp_path, monkeypatch):
    from verify import grade

    for name in ("ann", "bob", "cid", "dan"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "hw4.py").write_text(CORRECT)
    real = grade.grade_submission

    def dies_on_bob(folder, *args, **kwargs):  # runs in the forked worker
        if Path(folder).name == "bob":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(folder, *args, **kwargs)
    monkeypatch.setattr(grade, "grade_submission", dies_on_bob)
    report = grade.grade_all(tmp_path, jobs=2, seed=7, timeout=10)
    by_name = {s.name: s for s in report.submissions}
    assert sorted(by_name) == ["ann", "bob", "cid", "dan"]
    assert {g.verdict for name in ("ann", "cid", "dan") for g in by_name[name].results if g.result in ANSWERED} \
        == {"correct"}
    assert all(g.verdict == "error" and g.internal and "killed by signal 9" in g.text for g in by_name["bob"].results)


def tanh_verdicts_one_after_another(folder, sources: dict[str, str], timeout: float) -> dict[str, str]:
    """Grade a class of these submissions (name: hw4.py) on one worker, in the order of their names, as `grade`
    does: the verdict of each one's t2.tanh, which a test makes wrong where a classmate's leftovers are seen."""
    from verify import grade

    for name, source in sources.items():
        (folder / name).mkdir()
        (folder / name / "hw4.py").write_text(source)
    report = grade.grade_all(folder, jobs=1, seed=7, timeout=timeout)
    return {s.name: next(g.verdict for g in s.results if g.result == "t2.tanh") for s in report.submissions}


@in_bubblewrap
def test_shared_memory_a_submission_leaves_is_gone_before_the_next_one(tmp_path):

    head = CORRECT + "\nimport ctypes\n_libc = ctypes.CDLL(None, use_errno=True)\n_right = t2_tanh\n\n\n"
    plant = head + textwrap.dedent("""
        def t2_tanh(x, delta):
            _libc.shmget(0x4242, 1 << 16, 0o1666)   # IPC_CREAT, kept after this process ends
            return _right(x, delta)
    """)
    read = head + textwrap.dedent("""
        def t2_tanh(x, delta):
            found = _libc.shmget(0x4242, 0, 0) >= 0
            return _right(x, delta) + found        # wrong only where a classmate's segment is seen
    """)
    verdicts = tanh_verdicts_one_after_another(tmp_path, {"a_plant": plant, "b_read": read}, timeout=10)
    assert verdicts == {"a_plant": "correct", "b_read": "correct"}, verdicts


def test_the_watch_finds_every_process_of_the_sandbox_when_a_parent_was_filed_wrongly(tmp_path):
    # the watch keeps each process's parent from look to look (reading all of /proc each time cost more CPU than
    # judging); a parent's pid taken by another process before the next look would file its orphan under that one
    with box(tmp_path, """
        import os, time
        def grad(x):
            for _ in range(3):
                if os.fork() == 0:
                    time.sleep(30)
            return x
    """) as s:
        s.call("grad", 1.0)
        end = s._process._end
        found = end.processes()
        assert len(found) == 5   # the server, the candidate and its three helpers
        end.parents[found[-1]] = 1          # as if its parent's pid now belonged to the host's init
        assert end.processes() == found


def test_memory_the_watch_cannot_see_is_refused_by_the_kernel(tmp_path):
    # A memfd written but never mapped, and a System V segment created then detached, hold memory that no
    # process maps: a fresh attacker filled 12-17 GB of the host that way under --memory 256M.
    with box(tmp_path, """
        import ctypes, errno, os, socket
        libc = ctypes.CDLL(None, use_errno=True)
        def refused(make):
            try:
                made = make()
            except OSError as exc:
                return exc.errno == errno.EPERM
            return made < 0 and ctypes.get_errno() == errno.EPERM
        def grad(x):
            return [refused(lambda: os.memfd_create("fill")),
                    refused(lambda: libc.shmget(0, 1 << 20, 0o1600)),   # IPC_PRIVATE, IPC_CREAT
                    refused(lambda: libc.msgget(0, 0o1600)),
                    refused(lambda: libc.semget(0, 1, 0o1600)),
                    refused(lambda: socket.socketpair() and 0),         # socket buffers, and the network
                    refused(lambda: socket.socket(socket.AF_INET) and 0)]
    """) as s:
        assert s.call("grad", 1.0).tolist() == [True] * 6, s.output


@in_bubblewrap
def test_other_processes_keyrings_and_pseudo_terminals_are_out_of_reach(tmp_path):
    # Fresh attackers took over bwrap's own init under a normal user's grader with ptrace (it had the
    # candidate's uid) and read the classmates graded after them; left data in nobody's keyring for the next
    # root-graded submission; and opened 1,494 pseudo-terminals under --memory 32M.
    with box(tmp_path, """
        import ctypes, errno, os
        libc = ctypes.CDLL(None, use_errno=True)
        def refused(result):
            return result < 0 and ctypes.get_errno() == errno.EPERM
        def grad(x):
            ptrace = refused(libc.ptrace(16, 1, 0, 0))                              # PTRACE_ATTACH to pid 1
            keyring = refused(libc.syscall(248, b"user", b"k", b"v", 1, -4))        # add_key, x86-64
            try:
                os.openpty()
                pty = False
            except OSError:
                pty = True
            return [ptrace, keyring, pty, os.getpid() != 1]
    """) as s:
        assert s.call("grad", 1.0).tolist() == [True] * 4, s.output


@in_bubblewrap
def test_the_sandboxs_pid_1_is_its_server_and_ignores_what_the_candidate_sends(tmp_path):
    with box(tmp_path, """
        import os, signal
        def grad(x):
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(1, sig)
                except OSError:
                    pass
            return x
    """) as s:
        server = s._process._end.processes()[0]
        assert float(s.call("grad", 2.0)) == 2.0
        assert s.alive and server == s._process._end.processes()[0]
        assert float(s.call("grad", 3.0)) == 3.0


@in_bubblewrap
def test_what_a_candidate_leaves_however_deep_never_reaches_the_next_submission(tmp_path):
    # A folder past PATH_MAX survived the wipe into the next student's /tmp, and one 1,500 deep overflowed the
    # wipe's recursion and printed the server's traceback into the student's output.
    with box(tmp_path, """
        import os
        def grad(x):
            os.chdir("/tmp")
            for _ in range(1500):
                os.mkdir("d")
                os.chdir("d")
            with open("leftover", "w") as file:
                file.write("secret")
            os.chmod(".", 0)
            return x
    """, timeout=60) as s:
        assert float(s.call("grad", 1.0)) == 1.0
    (tmp_path / "next").mkdir()
    with box(tmp_path / "next", "import os\ndef grad(x):\n    return float(len(os.listdir('/tmp')))\n") as s:
        assert float(s.call("grad", 1.0)) == 1.0   # its own file alone
        assert "Traceback" not in s.output


@in_bubblewrap
def test_empty_files_count_against_the_memory_limit(tmp_path):
    # 500,000 empty files held 415 MB of the kernel's memory under --memory 64M: no block, but an inode each.
    with box(tmp_path, """
        import os, time
        def grad(x):
            os.mkdir("/tmp/f")
            for i in range(120_000):
                os.close(os.open(f"/tmp/f/{i}", os.O_CREAT | os.O_WRONLY, 0o600))
            time.sleep(5)
            return x
    """, timeout=60, memory=64 << 20) as s, pytest.raises(MemoryLimit):
        s.call("grad", 1.0)


def test_the_candidate_never_runs_as_root_and_a_fork_bomb_stops_at_64_processes(tmp_path):
    # The kernel exempts uid 0 from RLIMIT_NPROC: under a root grader a candidate mapped to root forked
    # thousands of processes.  Seen from the grader, its processes must have an unprivileged uid.
    with box(tmp_path, """
        import os, time
        def grad(x):
            forked = 0
            try:
                for _ in range(100):    # a bounded bomb: each child sleeps until the sandbox ends
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                    forked += 1
            except OSError:
                pass
            return forked
    """, timeout=20) as s:
        server = s._process._end.processes()[:2]  # bwrap's init and the server (root's, under a root grader)
        assert int(s.call("grad", 1.0)) < 64
        candidate = [pid for pid in s._process._end.processes() if pid not in server]
        uids = set()
        for pid in candidate:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
                uids.add(int(status.read().split("Uid:")[1].split()[0]))   # the real uid, as the host sees it
        assert len(candidate) > 1 and uids and 0 not in uids, uids


def test_a_candidate_that_stops_its_server_does_not_stall_the_next_result(tmp_path):
    # Under a normal user's grader the server has the candidate's uid: a SIGSTOP used to make the next
    # result wait a minute for the server.  (Under a root grader the candidate may not signal it at all.)
    with box(tmp_path, """
        import os, signal
        def grad(x):
            try:
                os.kill(os.getppid(), signal.SIGSTOP)    # the server forked this process
            except OSError:
                pass
            return x
    """) as s:
        assert float(s.call("grad", 2.0)) == 2.0
        s.fresh()
        assert float(s.call("grad", 3.0)) == 3.0


def test_the_server_never_writes_the_file_through_a_link(tmp_path):
    # A candidate's process caught inside a system call when it was killed could leave a link where the
    # next file goes; the server, root under a root grader, must not follow it.
    target = tmp_path / "target"
    target.write_text("untouched")
    home = tmp_path / "home"
    home.mkdir()
    (home / "hw4.py").symlink_to(target)
    with pytest.raises(OSError):
        server_module()._place({"home": str(home)}, "hw4.py", b"print('planted')\n")
    assert target.read_text() == "untouched"


# System-call numbers the next test makes through syscall(2): glibc has no wrapper for them.
SYSCALLS = {"x86_64": {"clone": 56, "clone3": 435, "io_uring_setup": 425, "io_uring_enter": 426,
                       "io_uring_register": 427, "pivot_root": 155},
            "aarch64": {"clone": 220, "clone3": 435, "io_uring_setup": 425, "io_uring_enter": 426,
                        "io_uring_register": 427, "pivot_root": 41}}


@pytest.mark.skipif(os.uname().machine not in SYSCALLS, reason="system-call numbers known for x86_64 and aarch64")
def test_namespaces_mounts_and_io_uring_are_refused_but_fork_and_threads_work(tmp_path):
    # A fresh attacker made a user and mount namespace of its own (unshare) and filled a tmpfs mounted there,
    # which the memory watch cannot see (400 MB under --memory 64M); another made a socket with io_uring's
    # IORING_OP_SOCKET, which the refusal of socket() does not see.  clone3 says ENOSYS: glibc then uses clone.
    numbers = SYSCALLS[os.uname().machine]
    with box(tmp_path, f"""
        import ctypes, errno, os, threading
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        N = {numbers!r}
        SIGCHLD = 17
        NEW = {{"ns": 0x20000, "cgroup": 0x2000000, "uts": 0x4000000, "ipc": 0x8000000, "user": 0x10000000,
               "pid": 0x20000000, "net": 0x40000000}}
        def errno_of(result, clone=False):
            if clone and result == 0:
                os._exit(0)      # the child of a clone that went through must not run on
            return ctypes.get_errno() if result < 0 else "allowed"
        def grad(x):
            params = ctypes.create_string_buffer(120)
            seen = {{"unshare": errno_of(libc.unshare(NEW["user"] | NEW["ns"])),
                    "setns": errno_of(libc.setns(0, 0)),
                    "mount": errno_of(libc.mount(b"none", b"/tmp", b"tmpfs", 0, b"size=1g")),
                    "umount2": errno_of(libc.umount2(b"/tmp", 0)),
                    "pivot_root": errno_of(libc.syscall(N["pivot_root"], b"/tmp", b"/tmp")),
                    "clone3": errno_of(libc.syscall(N["clone3"], params, 88), clone=True),
                    "io_uring_setup": errno_of(libc.syscall(N["io_uring_setup"], 4, params)),
                    "io_uring_enter": errno_of(libc.syscall(N["io_uring_enter"], 0, 0, 0, 0, None, 0)),
                    "io_uring_register": errno_of(libc.syscall(N["io_uring_register"], 0, 0, None, 0))}}
            for name, flag in NEW.items():
                seen["clone " + name] = errno_of(libc.syscall(N["clone"], flag | SIGCHLD, 0, 0, 0, 0), clone=True)
            pid = os.fork()
            if pid == 0:
                os._exit(7)
            seen["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            done = []
            thread = threading.Thread(target=lambda: done.append(1))
            thread.start()
            thread.join()
            seen["thread"] = len(done)
            print(seen)
            return [seen[k] == v for k, v in sorted(EXPECTED.items())]
        EXPECTED = {{**{{name: errno.EPERM for name in ("unshare", "setns", "mount", "umount2", "pivot_root",
                                                     "io_uring_setup", "io_uring_enter", "io_uring_register")}},
                    **{{"clone " + name: errno.EPERM for name in NEW}}, "clone3": errno.ENOSYS, "fork": 7,
                    "thread": 1}}
    """, timeout=20) as s:
        assert s.call("grad", 1.0).all(), s.output


@in_bubblewrap
def test_the_candidate_can_write_in_no_tmpfs_but_its_counted_tmp_and_dev_shm(tmp_path):
    # under a normal user's grader the candidate owned the empty tmpfs that hides each site-packages folder: a fresh
    # attacker kept 300 MB there under --memory 64M, and the next student found it
    with box(tmp_path, """
        def grad(x):
            top = {}
            for line in open("/proc/self/mounts"):   # the last mount of a path is the one on top
                _, path, kind, options = line.split()[:4]
                top[path] = (kind, options.split(",")[0])
            print(sorted(path for path, (kind, mode) in top.items() if kind == "tmpfs" and mode == "rw"))
            print(sorted(path for path, (kind, mode) in top.items() if path.endswith("-packages")))
            return x
    """) as s:
        s.call("grad", 1.0)
        writable, hidden = [eval(line) for line in s.output.splitlines()]
    assert writable == ["/dev/shm", "/tmp"]
    assert hidden    # the folders that hide the grader's packages are there, and read-only


def test_an_answer_far_larger_than_its_arguments_is_refused_unread(tmp_path):
    # the child writes its own replies: a fresh attacker patched the server's array encoder from inside and answered a
    # call on a few hundred bytes with 255 MiB of zeros, which the grader read and decoded (0.9-1.4 GB); a gradient
    # is never larger than its arguments, so such a reply is refused at its header
    with box(tmp_path, """
        import sys
        import numpy as np
        server = sys.modules["__main__"]
        def huge(array):
            header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }" % (16 << 20)
            header += " " * (63 - (server._PREAMBLE.size + len(header)) % 64) + "\\n"
            return [server._PREAMBLE.pack(b"\\x93NUMPY", 1, 0, len(header)) + header.encode("latin1"),
                    bytes(1 << 20) * 128]
        def grad(x):
            server._npy = huge
            return np.zeros(3)
    """) as s, pytest.raises(Crashed, match="more than 16 times the size of its arguments"):
        s.call("grad", np.ones(3))


def test_posix_message_queues_which_outlive_the_candidate_are_refused(tmp_path):
    # Docker mounts an mqueue file system at /dev/mqueue, mode 1777, where open(2) makes a queue: a fresh attacker's
    # student passed her whole file to the next submission through one, under user isolation, and it outlived the run
    with box(tmp_path, """
        import ctypes, errno, resource
        def grad(x):
            libc = ctypes.CDLL(None, use_errno=True)
            said = []
            for name, number in (("mq_open", 240), ("mq_unlink", 241), ("mq_timedsend", 242), ("mq_timedreceive", 243),
                                 ("mq_notify", 244), ("mq_getsetattr", 245)):   # x86-64
                made = libc.syscall(number, b"/q", 0x40 | 2, 0o600, None)
                said.append(f"{name}: " + ("ok" if made >= 0 else errno.errorcode[ctypes.get_errno()]))
            said.append(f"queue bytes: {resource.getrlimit(resource.RLIMIT_MSGQUEUE)}")
            print("; ".join(said))
            return x
    """) as s:
        s.call("grad", 1.0)
        assert s.output.strip() == ("mq_open: EPERM; mq_unlink: EPERM; mq_timedsend: EPERM; mq_timedreceive: EPERM; "
                                    "mq_notify: EPERM; mq_getsetattr: EPERM; queue bytes: (0, 0)")


def test_no_candidate_sets_a_files_times_nor_leaves_flags_on_stdin_for_the_next(tmp_path):
    # fresh attackers passed words to later students through the times of the host's /dev/null, which every sandbox
    # shares, and two bits through the flags of the stdin every child of a server shared
    with box(tmp_path, """
        import errno, fcntl, os
        def grad(x):
            said = [f"stdin: {fcntl.fcntl(0, fcntl.F_GETFL) & (os.O_APPEND | os.O_NONBLOCK)}"]
            fcntl.fcntl(0, fcntl.F_SETFL, os.O_APPEND | os.O_NONBLOCK)
            for path in ("/dev/null", "/tmp"):
                try:
                    os.utime(path)
                    said.append(f"{path}: ok")
                except OSError as exc:
                    said.append(f"{path}: {errno.errorcode[exc.errno]}")
            print("; ".join(said))
            return x
    """) as s:
        s.call("grad", 1.0)
        s.fresh()
        s.call("grad", 1.0)
        assert s.output.strip() == "stdin: 0; /dev/null: EPERM; /tmp: EPERM"


def test_huge_pages_of_the_hosts_pool_are_refused(tmp_path):
    # on a host with a pool of huge pages a fresh attacker held 180 MiB of them under --memory 64M: no resident size
    # counts them
    with box(tmp_path, """
        import ctypes, errno, mmap
        def grad(x):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                  ctypes.c_long]
            got = libc.mmap(None, 2 << 20, mmap.PROT_READ | mmap.PROT_WRITE,
                            mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000, -1, 0)   # MAP_HUGETLB
            print("huge pages:", "ok" if got not in (None, ctypes.c_void_p(-1).value) else
                  errno.errorcode[ctypes.get_errno()])
            return x
    """) as s:
        s.call("grad", 1.0)
        assert s.output.strip() == "huge pages: EPERM"


def test_shared_mappings_whose_pages_outlive_madvise_are_refused(tmp_path):
    # a fresh attacker wrote shared anonymous memory and dropped it from each helper with MADV_DONTNEED: the pages
    # stay in the kernel's tmpfs, counted by no resident size (63 x --memory); /dev/zero mapped shared is the same
    with box(tmp_path, """
        import errno, mmap, os
        def grad(x):
            seen = []
            for label, fd in (("anonymous", -1), ("/dev/zero", os.open("/dev/zero", os.O_RDWR))):
                for flags in (mmap.MAP_SHARED, 0x03):    # and MAP_SHARED_VALIDATE
                    try:
                        mmap.mmap(fd, 1 << 20, flags, mmap.PROT_READ | mmap.PROT_WRITE).close()
                        seen.append(label + ": ok")
                    except OSError as exc:
                        seen.append(label + ": " + errno.errorcode[exc.errno])
            private = mmap.mmap(-1, 1 << 20, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE)
            private[0] = 1
            print("; ".join(seen), "| private:", private[0])
            return x
    """) as s:
        s.call("grad", 1.0)
        assert s.output.strip() == ("anonymous: EPERM; anonymous: EPERM; /dev/zero: EPERM; /dev/zero: EPERM "
                                    "| private: 1")


def test_epoll_and_inotify_whose_watches_hold_uncounted_kernel_memory_are_refused(tmp_path):
    # a fresh attacker held 371 MB of epoll watches under --memory 64M, in kernel memory no watch counts
    with box(tmp_path, """
        import ctypes, errno, resource, select
        def grad(x):
            said = []
            try:
                select.epoll()
                said.append("epoll: ok")
            except OSError as exc:
                said.append(f"epoll: {errno.errorcode[exc.errno]}")
            libc = ctypes.CDLL(None, use_errno=True)
            said.append("inotify: " + ("ok" if libc.inotify_init1(0) >= 0 else errno.errorcode[ctypes.get_errno()]))
            said.append(f"sigpending: {resource.getrlimit(resource.RLIMIT_SIGPENDING)[1]}")
            print("; ".join(said))
            return x
    """) as s:
        s.call("grad", 1.0)
        assert s.output.strip() == "epoll: EPERM; inotify: EPERM; sigpending: 256"


def test_a_candidate_changes_the_limits_priority_and_cpus_of_no_process_but_its_own(tmp_path):
    # Under a normal user's grader the server has the candidate's uid: a fresh attacker lowered its open-files limit
    # (the next student's results all failed to load) and its priority and CPUs (the next student crawled).  Its own
    # child stands in for the server here: the kernel would allow that under any grader, so only the filter refuses.
    with box(tmp_path, """
        import errno, os, resource, time
        def grad(x):
            child = os.fork()
            if child == 0:
                time.sleep(30)
                os._exit(0)
            said = []
            for what, change in [
                    ("prlimit other", lambda: resource.prlimit(child, resource.RLIMIT_NOFILE, (64, 64))),
                    ("prlimit 1", lambda: resource.prlimit(1, resource.RLIMIT_NOFILE, (64, 64))),
                    ("priority other", lambda: os.setpriority(os.PRIO_PROCESS, child, 19)),
                    ("priority user", lambda: os.setpriority(os.PRIO_USER, 0, 19)),
                    ("cpus other", lambda: os.sched_setaffinity(child, {0})),
                    ("scheduler other", lambda: os.sched_setscheduler(child, os.SCHED_BATCH, os.sched_param(0))),
                    ("prlimit own", lambda: resource.prlimit(0, resource.RLIMIT_NOFILE, (100, 100))),
                    ("priority own", lambda: os.setpriority(os.PRIO_PROCESS, 0, 5)),
                    ("cpus own", lambda: os.sched_setaffinity(0, {0})),
                    ("scheduler own", lambda: os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0)))]:
                try:
                    change()
                    said.append(f"{what}: ok")
                except OSError as exc:
                    said.append(f"{what}: {errno.errorcode[exc.errno]}")
            os.kill(child, 9)
            print("; ".join(said))
            return x
    """) as s:
        s.call("grad", 1.0)
        said = dict(item.split(": ") for item in s.output.strip().split("; "))
    assert {what: word for what, word in said.items() if what.endswith(("other", "1", "user"))} == {
        "prlimit other": "EPERM", "prlimit 1": "EPERM", "priority other": "EPERM", "priority user": "EPERM",
        "cpus other": "EPERM", "scheduler other": "EPERM"}
    assert {what: word for what, word in said.items() if what.endswith("own")} == {
        "prlimit own": "ok", "priority own": "ok", "cpus own": "ok", "scheduler own": "ok"}


# A candidate that writes into the pipe its own process reads the grader's requests from (opened for writing
# through /proc/self/fd): the only pipe the child holds for reading.  It can where it runs as the grader's own
# uid (unprotected, or in a normal user's bubblewrap), not as nobody under a root grader: the tests that use it
# run unprotected, to reach the framing wherever they run.
STUFF_THE_REQUEST_PIPE = """
    import contextlib, os, stat
    def stuff():
        for name in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                with open(f"/proc/self/fdinfo/{name}") as info:
                    flags = int(info.read().split("flags:")[1].split()[0], 8)
                if stat.S_ISFIFO(os.fstat(int(name)).st_mode) and flags & os.O_ACCMODE == os.O_RDONLY:
                    fd = os.open(f"/proc/self/fd/{name}", os.O_WRONLY | os.O_NONBLOCK)
                    os.write(fd, b"garbage!" * 8)
                    os.close(fd)
"""

STUFFING_CANDIDATE = textwrap.dedent(STUFF_THE_REQUEST_PIPE) + textwrap.dedent("""
    def grad(x):
        stuff()
        return x
""")


def test_a_request_the_child_cannot_read_is_the_graders_error_with_no_traceback_in_the_output(tmp_path, choose):
    choose("none")
    # A correct in-place answer once got 'error' with the server's own "bad request frame" traceback shown as
    # what the student printed: a request out of step is the grader's fault, and never the candidate's output.
    with box(tmp_path, STUFFING_CANDIDATE) as s:
        assert float(s.call("grad", 2.0)) == 2.0
        with pytest.raises(sb.ProtocolError, match="could not read the grader's request") as raised:
            s.call("grad", 3.0)
        assert not isinstance(raised.value, LimitExceeded)
        assert "Traceback" not in s.output and "bad request frame" not in s.output
        s.restart()
        assert float(s.call("grad", 4.0)) == 4.0


def test_what_a_candidate_leaves_in_the_request_pipe_never_reaches_the_next_submission(tmp_path, choose):
    choose("none")
    # The server is kept for the next Sandbox of the process (the next student in `grade`): what the last
    # candidate wrote into the request pipe must be gone before the next one's child starts reading it.
    with box(tmp_path, STUFFING_CANDIDATE) as s:
        assert float(s.call("grad", 2.0)) == 2.0
    (tmp_path / "next").mkdir()
    with box(tmp_path / "next", "def grad(x):\n    return 2 * x\n") as s:
        assert float(s.call("grad", 2.0)) == 4.0


def test_the_last_child_is_reaped_before_the_next_one_starts(tmp_path):
    # Between two results of one file the last child was only sent SIGKILL: not yet scheduled on a loaded
    # machine, it could still finish the read of the request pipe it was blocked in, and take the first
    # bytes of the next child's first request.  It must be gone (reaped) before the next child is forked.
    server = server_module()
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.setsid()
        memory = bytearray(64 << 20)   # some memory to tear down: its exit is not instant
        for i in range(0, len(memory), 4096):
            memory[i] = 1
        os.write(ready_w, b"x")
        time.sleep(60)
        os._exit(0)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"x"
        server._end_candidate({"kill": "group"}, child, wait=False)
        with pytest.raises(ChildProcessError):
            os.waitpid(child, os.WNOHANG)
    finally:
        os.close(ready_r)
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)


def test_a_protocol_error_in_grade_is_flagged_for_a_ta_with_a_rerun_command(tmp_path, choose):
    choose("none")
    from verify import grade
    source = textwrap.dedent(STUFF_THE_REQUEST_PIPE) + "stuff()\n" + textwrap.dedent(CORRECT)
    graded = grade.grade_file(write(tmp_path, source, "hw4.py"), results=["t1.db"], timeout=20)
    (result,) = graded.results
    # the candidate can cause it (it wrote on the sandbox's channel): flagged, never called the grader's own error
    assert result.verdict == "error" and not result.internal, result
    assert "went out of step" in result.text and "internal error" not in result.text and "\n" not in result.text
    assert "python -m verify check t1.db" in result.review and "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's grader runs candidates as another user")
def test_a_candidate_user_that_can_log_in_is_refused(monkeypatch):
    # Between candidates every process of that user is killed and its files in /tmp removed: an attacker's
    # VERIFY_SANDBOX_USER=<a real user> made the grader delete that user's files.
    monkeypatch.setattr(sb, "CANDIDATE_USER", "root")
    assert "can log in" in sb._user_problem()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's grader runs candidates as another user")
def test_a_candidate_user_that_owns_its_home_folder_is_refused(monkeypatch):
    # a fresh attacker's submission, run as the system user man, left a note in /var/cache/man for the next one
    owner = next((u for u in pwd.getpwall() if u.pw_uid != 0 and os.path.basename(u.pw_shell) in ("nologin", "false")
                  and os.path.isdir(u.pw_dir) and os.stat(u.pw_dir).st_uid == u.pw_uid), None)
    if owner is None:
        pytest.skip("no system user here owns its home folder")
    monkeypatch.setattr(sb, "CANDIDATE_USER", owner.pw_name)
    assert f"owns its home folder {owner.pw_dir}" in sb._user_problem()


def test_user_isolation_needs_an_install_its_user_cannot_enter(tmp_path):
    # a fresh attacker's file under user isolation imported the key from a plain clone, which every user may read; once
    # the two packages alone were private, another read the key's PDF, report and LaTeX in the clone's output/ and build/
    import verify
    assert Path(verify.__file__).resolve().parents[1] in sb._key_folders()
    me = pwd.getpwuid(os.geteuid())
    folder = tmp_path / "install"
    (folder / "output").mkdir(parents=True)
    (folder / "output" / "hw4-grading.pdf").write_text("the key\n")
    assert sb._enterable_by(me, folder) and sb._enterable_by(me, folder / "output")
    folder.chmod(0o600)   # a folder without its search bit hides everything in it
    try:
        assert not sb._enterable_by(me, folder) and not sb._enterable_by(me, folder / "output")
    finally:
        folder.chmod(0o700)


def test_user_isolation_removes_the_folders_a_killed_grader_left(tmp_path, monkeypatch):
    # a grader killed mid-check left its candidate's folder in /tmp, with a student's file that the candidate's user,
    # whom every later candidate runs as, could read: a fresh attacker's next run printed it
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / (sb.USER_HOME + "old")
    stale.mkdir()
    (stale / "hw4.py").write_text("# a student's file\n")
    other = tmp_path / "verify-sandbox-unprotected"   # an unprotected grader's, which takes no lock: not ours
    other.mkdir()
    sb._remove_stale_homes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verify-sandbox-unprotected"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's grader runs candidates as another user")
def test_user_isolation_makes_the_candidates_folder_only_once_it_holds_the_lock(tmp_path, monkeypatch):
    # each of a grader's workers made its candidate's folder, then waited for the lock; the one holding it removed the
    # others' folders as stale, and a right submission was graded 'error' (2 runs in 5 with --jobs 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sb, "CANDIDATE_USER", "nobody")
    seen = []

    def lock() -> int:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return os.open(os.devnull, os.O_RDONLY)
    monkeypatch.setattr(sb, "_lock_user", lock)
    process = object.__new__(sb._Process)
    process.how = sb.Isolation("user", "isolation: user")
    process._end = sb._End(process.how)
    try:
        process._command({}, 64 << 20)
        home = Path(process._end.home)
        assert seen == [[]] and home.is_dir()   # nothing of ours when it asked for the lock; its folder after
    finally:
        process._end.close()
        shutil.rmtree(tmp_path / home.name, ignore_errors=True)


def test_a_file_larger_than_a_submission_is_refused_before_anything_runs(tmp_path):
    # A 64 MB comment crossed to the server before any limit ran and held a check 3x past its --timeout.
    path = write(tmp_path, "def grad(x):\n    return x\n" + "#" * (sb.MAX_SOURCE + 1) + "\n")
    with pytest.raises(LoadError, match="more than the 1 MiB a submission's file may hold"):
        sb.Sandbox(path).__enter__()


# A scan of the candidate's own memory (which needs no permission): every readable private mapping, for
# "# SECRET-" followed by 32 hexadecimal digits.  The needle is built at run time, so that the scanner's
# own source holds no such text; its own secret, a constant, shows the scan finds what is there.
SCAN_OWN_MEMORY = """
    import ctypes, re
    OWN = "# SECRET-0123456789abcdef0123456789abcdef"
    def secrets_seen():
        needle = re.compile(re.escape(bytes([35, 32, 83, 69, 67, 82, 69, 84, 45])) + rb"[0-9a-f]{32}")
        found = set()
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                low, high = (int(n, 16) for n in fields[0].split("-"))
                if fields[1] != "rw-p" or (len(fields) > 5 and not fields[5].startswith("[")):
                    continue
                try:
                    data = ctypes.string_at(low, high - low)
                except OSError:
                    continue
                found.update(match.decode() for match in needle.findall(data))
        return found
    def grad(x):
        print(" ".join(sorted(secrets_seen())))
        return x
"""


@in_bubblewrap
@pytest.mark.parametrize("padding", [0, 200_000], ids=["small file", "large file"])
def test_no_byte_of_a_classmates_file_is_in_the_memory_of_the_next_submission(tmp_path, padding):
    # A fresh attacker found the file of the student graded before it in its own heap, inherited from the
    # server's freed buffers, ran it and scored 30/30 with no formula of its own.

    secret = "# SECRET-" + "5e" * 16
    thief = CORRECT + textwrap.dedent(SCAN_OWN_MEMORY) + textwrap.dedent("""
        _right = t2_tanh
        def t2_tanh(x, delta):
            return _right(x, delta) + len(secrets_seen() - {OWN})   # wrong only where a classmate's file is seen
    """)
    author = f"{secret}\n" + "#" * padding + "\n" + CORRECT
    verdicts = tanh_verdicts_one_after_another(tmp_path, {"a_author": author, "b_thief": thief}, timeout=20)
    assert verdicts == {"a_author": "correct", "b_thief": "correct"}, verdicts


@in_bubblewrap
def test_the_names_of_a_classmates_files_are_not_in_the_memory_of_the_next_submission(tmp_path):
    # A fresh attacker's student left her whole file as the names of empty files in /tmp; the server listed them to
    # remove them, and the next student found them in the freed memory it inherited from the server: 30/30.
    secret = "# SECRET-" + "5e" * 16
    author = CORRECT + textwrap.dedent(f"""
        for _copy in range(40):   # many copies, of many lengths: some escape the allocator's reuse of freed blocks
            open("/tmp/{secret}" + "_" * _copy, "w").close()
    """)
    thief = CORRECT + textwrap.dedent(SCAN_OWN_MEMORY) + textwrap.dedent("""
        _right = t2_tanh
        def t2_tanh(x, delta):
            return _right(x, delta) + len(secrets_seen() - {OWN})   # wrong only where a classmate's name is seen
    """)
    verdicts = tanh_verdicts_one_after_another(tmp_path, {"a_author": author, "b_thief": thief}, timeout=20)
    assert verdicts == {"a_author": "correct", "b_thief": "correct"}, verdicts


def test_the_memory_scan_of_the_tests_finds_what_is_there(tmp_path):
    with box(tmp_path, SCAN_OWN_MEMORY) as s:
        assert float(s.call("grad", 1.0)) == 1.0
        assert s.output.split() == ["#", "SECRET-0123456789abcdef0123456789abcdef"]


POISON_THE_PIPES = """
    import fcntl, os, stat
    for fd in range(3, 64):
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
        except OSError:
            continue
        for change in (lambda: fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK),
                       lambda: fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 4096), lambda: os.fchmod(fd, 0o777)):
            try:
                change()
            except OSError:
                pass
    for fd in (1, 2):
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK | os.O_DIRECT)
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 4096)   # refused today; the test holds if it ever is not
        except OSError:
            pass
    def grad(x):
        return x
"""


def test_pipes_a_candidate_made_non_blocking_or_small_never_reach_the_next_submission(tmp_path):
    # A fresh attacker set O_NONBLOCK and a 4 KiB size on the output and reply pipes, which the server and
    # every later child share: the next students' correct code that printed much failed ("refuses shapes").
    (tmp_path / "a").mkdir()
    with box(tmp_path / "a", POISON_THE_PIPES) as s, contextlib.suppress(SandboxError):
        s.call("grad", 1.0)   # its own answers may be lost: its pipes are its own business
    (tmp_path / "b").mkdir()
    with box(tmp_path / "b", """
        print("x" * 200_000)
        def grad(x):
            print("y" * 200_000)
            return 2 * x + 0 * __import__("numpy").zeros(100_000)
    """) as s:
        answer = s.call("grad", 1.0)
        assert answer.shape == (100_000,) and (answer == 2.0).all()
        assert s.output.startswith("x" * 100)


def test_extended_attributes_a_candidate_sets_on_its_folder_never_reach_the_next_submission(tmp_path, choose):
    # Under a normal user's grader the candidate owns its /tmp: a fresh attacker left 40 MiB of attributes on it,
    # a channel to the next student and memory charged to it.  Unprotected, the candidate owns its folder too.
    choose("none")
    (tmp_path / "a").mkdir()
    with box(tmp_path / "a", """
        import os
        def grad(x):
            try:   # refused today (EOPNOTSUPP); the test holds if it ever is not
                os.setxattr(os.path.dirname(os.path.abspath(__file__)), "user.left", b"for the next student")
            except OSError:
                pass
            return x
    """) as s:
        assert float(s.call("grad", 1.0)) == 1.0
    (tmp_path / "b").mkdir()
    with box(tmp_path / "b", """
        import os
        def grad(x):
            return x + len(os.listxattr(os.path.dirname(os.path.abspath(__file__))))
    """) as s:
        assert float(s.call("grad", 1.0)) == 1.0


def test_file_locks_are_refused_and_other_fcntl_calls_work(tmp_path):
    # A lock on a file every sandbox reads (the Python install) is seen by another sandbox graded at the same
    # time: a fresh attacker passed a whole file from one classmate to another so, one bit per file locked.  Others
    # did it with directory events (F_NOTIFY) and with write hints stored in the install's inodes (F_SET_RW_HINT).
    # A program's work on its own descriptors is allowed.
    with box(tmp_path, """
        import ctypes, errno, fcntl, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def high_bit(shared, command):   # the kernel reads the command's low 32 bits alone
            if libc.syscall(72, shared.fileno(), ctypes.c_long(command | 1 << 32), ctypes.create_string_buffer(32)) < 0:
                raise OSError(ctypes.get_errno(), "fcntl")
        def grad(x):
            said = []
            with open(os.__file__, "rb") as shared:
                for what, call in [("flock", lambda: fcntl.flock(shared, fcntl.LOCK_SH | fcntl.LOCK_NB)),
                                   ("lockf", lambda: fcntl.lockf(shared, fcntl.LOCK_SH | fcntl.LOCK_NB)),
                                   ("getlk", lambda: fcntl.fcntl(shared, fcntl.F_GETLK, bytes(32))),
                                   ("getlk, bit 32 set", lambda: high_bit(shared, fcntl.F_GETLK)),
                                   ("setlease, bit 32 set", lambda: high_bit(shared, fcntl.F_SETLEASE)),
                                   ("notify", lambda: fcntl.fcntl(os.open("/tmp", os.O_RDONLY), fcntl.F_NOTIFY,
                                                                  fcntl.DN_ACCESS | fcntl.DN_MULTISHOT)),
                                   ("set rw hint", lambda: fcntl.fcntl(shared, 1036, bytes(8))),
                                   ("setsig", lambda: fcntl.fcntl(shared, fcntl.F_SETSIG, 40)),
                                   ("setpipe_sz", lambda: fcntl.fcntl(os.pipe()[0], fcntl.F_SETPIPE_SZ, 1 << 20)),
                                   ("getfl", lambda: fcntl.fcntl(shared, fcntl.F_GETFL)),
                                   ("setfd", lambda: fcntl.fcntl(shared, fcntl.F_SETFD, fcntl.FD_CLOEXEC)),
                                   ("dupfd_cloexec", lambda: os.close(fcntl.fcntl(shared, fcntl.F_DUPFD_CLOEXEC, 0))),
                                   ("getpipe_sz", lambda: fcntl.fcntl(os.pipe()[0], fcntl.F_GETPIPE_SZ)),
                                   ("nonblocking", lambda: os.set_blocking(shared.fileno(), False))]:
                    try:
                        call()
                        said.append(f"{what}: ok")
                    except OSError as exc:
                        said.append(f"{what}: {errno.errorcode[exc.errno]}")
            print("; ".join(said))
            return x
    """) as s:
        assert float(s.call("grad", 1.0)) == 1.0
        assert s.output.strip() == ("flock: EPERM; lockf: EPERM; getlk: EPERM; getlk, bit 32 set: EPERM; "
                                    "setlease, bit 32 set: EPERM; notify: EPERM; set rw hint: EPERM; setsig: EPERM; "
                                    "setpipe_sz: EPERM; getfl: ok; setfd: ok; dupfd_cloexec: ok; getpipe_sz: ok; "
                                    "nonblocking: ok")


def test_locked_memory_and_the_page_cache_of_shared_files_are_out_of_reach(tmp_path):
    # A fresh attacker locked 460 MiB of the Python install's pages into RAM under --memory 256M (mlock), and
    # carried a classmate's whole file to the next submission through which pages of a shared file were cached
    # (evicted with fadvise, read back with RWF_NOWAIT; another, with madvise's bit 32 set, which the kernel does not
    # read, and Linux AIO).  Reading and mapping those files still works.
    with box(tmp_path, """
        import ctypes, errno, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = libc.mmap.restype = ctypes.c_void_p
        def outcome(result):   # -1, which a pointer-sized result reads as 2**64 - 1, is an error; None is 0
            failed = result == -1 or result == ctypes.c_void_p(-1).value
            return errno.errorcode[ctypes.get_errno()] if failed else "ok"
        def grad(x):
            fd = os.open(os.__file__, os.O_RDONLY)
            size = os.fstat(fd).st_size
            page = ctypes.c_void_p(libc.mmap(None, size, 1, 2, fd, 0))   # PROT_READ, MAP_PRIVATE
            cached = ctypes.create_string_buffer(1)
            buffer = ctypes.create_string_buffer(4096)
            iov = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), 4096)
            said = {
                "mlock": outcome(libc.mlock(page, 4096)),
                "mlockall": outcome(libc.mlockall(1)),
                "fadvise": outcome(libc.syscall(221, fd, 0, size, 4)),            # fadvise64 DONTNEED, x86-64
                "mincore": outcome(libc.mincore(page, 4096, cached)),
                "madvise pageout": outcome(libc.madvise(page, 4096, 21)),
                "madvise cold": outcome(libc.madvise(page, 4096, 20)),
                "madvise pageout, bit 32 set": outcome(libc.syscall(28, page, 4096, ctypes.c_long(21 | 1 << 32))),
                "io_setup": outcome(libc.syscall(206, 1, ctypes.byref(ctypes.c_ulong(0)))),          # Linux AIO
                "preadv2 nowait": outcome(libc.syscall(327, fd, iov, 1, 0, 0, 8)),  # preadv2, x86-64
                "preadv2": outcome(libc.syscall(327, fd, iov, 1, 0, 0, 0)),
                "read": "ok" if os.pread(fd, 16, 0) else "empty",
                "map": "ok" if ctypes.string_at(page, 1) else "empty",
            }
            print("; ".join(f"{k}: {v}" for k, v in said.items()))
            return x
    """) as s:
        assert float(s.call("grad", 1.0)) == 1.0, s.output
        assert s.output.strip() == ("mlock: EPERM; mlockall: EPERM; fadvise: EPERM; mincore: EPERM; "
                                    "madvise pageout: EPERM; madvise cold: EPERM; madvise pageout, bit 32 set: EPERM; "
                                    "io_setup: EPERM; preadv2 nowait: EPERM; preadv2: ok; read: ok; map: ok")


def test_shared_futexes_and_pages_spliced_into_pipes_are_refused(tmp_path):
    # Futexes on a file mapping are keyed by the file, shared by every sandbox mapping the same NumPy library: a fresh
    # attacker passed a classmate's file through waiters parked there, with futex and with futex2's calls.  Others
    # held 3 GB of huge pages outside --memory 64M, spliced into a pipe (vmsplice) and unmapped, and 2.35 GB of the
    # page cache of /usr spliced into pipes, 1 GB in POSIX ACLs on /tmp's files (extended attributes) and 900 MB in
    # Landlock rules.  A process's own threads use private futexes; pipes take writes.
    with box(tmp_path, """
        import ctypes, errno, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def outcome(result):
            return errno.errorcode[ctypes.get_errno()] if result < 0 else "ok"
        def grad(x):
            word = ctypes.c_int(0)
            read, write = os.pipe()
            data = ctypes.create_string_buffer(b"x")
            iov = (ctypes.c_void_p * 2)(ctypes.addressof(data), 1)
            library = os.open(os.__file__, os.O_RDONLY)
            said = {"futex wake, shared": outcome(libc.syscall(202, ctypes.byref(word), 1, 1, None, None, 0)),
                    "futex wake, private": outcome(libc.syscall(202, ctypes.byref(word), 129, 1, None, None, 0)),
                    "futex_waitv": outcome(libc.syscall(449, None, 0, 0, None, 0)),
                    "futex2 wake": outcome(libc.syscall(454, ctypes.byref(word), ctypes.c_ulong(-1), 1, 2)),
                    "futex2 wait": outcome(libc.syscall(455, ctypes.byref(word), 1, ctypes.c_ulong(-1), 2, None, 1)),
                    "file_setattr": outcome(libc.syscall(469, -100, b"/tmp", None, 0, 0)),
                    "vmsplice": outcome(libc.syscall(278, write, iov, 1, 0)),
                    "splice": outcome(libc.syscall(275, library, None, write, None, 1, 0)),
                    "tee": outcome(libc.syscall(276, read, write, 1, 0)),
                    "sendfile": outcome(libc.syscall(40, write, library, None, 1)),
                    "write": outcome(os.write(write, b"x")),
                    "landlock": outcome(libc.syscall(444, None, 0, 1)),
                    "seccomp": outcome(libc.syscall(317, 1, 0, None)),
                    "prctl seccomp": outcome(libc.prctl(22, 2, None, 0, 0)),
                    "prctl name": outcome(libc.prctl(15, b"x", 0, 0, 0)),
                    "setxattr": outcome(libc.fsetxattr(os.open("/tmp", os.O_RDONLY), b"system.posix_acl_access",
                                                       b"", 0, 0))}
            print("; ".join(f"{k}: {v}" for k, v in said.items()))
            return x
    """) as s:
        assert float(s.call("grad", 1.0)) == 1.0, s.output
        assert s.output.strip() == ("futex wake, shared: EPERM; futex wake, private: ok; futex_waitv: EPERM; "
                                    "futex2 wake: ENOSYS; futex2 wait: ENOSYS; file_setattr: ENOSYS; vmsplice: EPERM; "
                                    "splice: EPERM; tee: EPERM; sendfile: EPERM; write: ok; landlock: ENOSYS; "
                                    "seccomp: EPERM; prctl seccomp: EPERM; prctl name: ok; "
                                    "setxattr: ENOTSUP")


def test_ioctls_other_than_a_terminals_are_refused(tmp_path):
    # A fresh attacker set /tmp's inode flags (FS_IOC_SETFLAGS), which outlived its submission, and marked inodes of
    # the install (EXT4_IOC_PRECACHE_EXTENTS).  A terminal's ioctls, which isatty and FIONREAD make, still work.
    with box(tmp_path, """
        import array, ctypes, errno, fcntl, os, termios
        def outcome(call):
            try:
                call()
                return "ok"
            except OSError as exc:
                return errno.errorcode[exc.errno]
        def grad(x):
            tmp = os.open("/tmp", os.O_RDONLY)
            library = os.open(os.__file__, os.O_RDONLY)
            read, write = os.pipe()
            os.write(write, b"abc")
            waiting = array.array("i", [0])
            said = {"setflags": outcome(lambda: fcntl.ioctl(tmp, 0x40086602, array.array("l", [0x40]))),
                    "getflags": outcome(lambda: fcntl.ioctl(tmp, 0x80086601, array.array("l", [0]))),
                    "precache": outcome(lambda: fcntl.ioctl(library, 0x6612)),
                    "fsgetxattr": outcome(lambda: fcntl.ioctl(tmp, 0x801C581F, bytes(28))),
                    "fionread": outcome(lambda: fcntl.ioctl(read, termios.FIONREAD, waiting)),
                    "isatty": str(os.isatty(read))}
            print("; ".join(f"{k}: {v}" for k, v in said.items()), waiting[0])
            return x
    """) as s:
        assert float(s.call("grad", 1.0)) == 1.0, s.output
        assert s.output.strip() == ("setflags: ENOTTY; getflags: ENOTTY; precache: ENOTTY; fsgetxattr: ENOTTY; "
                                    "fionread: ok; isatty: False 3")


def test_emptying_a_bubblewrap_sandboxs_folders_also_resets_their_times_and_its_pipes(tmp_path):
    # Under a normal user's grader the candidate owns its /tmp: a fresh attacker left 8 bytes in its times for the
    # next student.  (Under a root grader the candidate cannot set them: the server's own step is tested here.)
    folder = tmp_path / "tmp"
    folder.mkdir()
    (folder / "left").write_text("x")
    os.utime(folder, ns=(0x3a2b_6563_696c_61, 0x2b41))
    # and the pipes the server's candidates share, whose times another left 66 bytes in: in a process of its own,
    # whose output and error are pipes as the server's are
    script = textwrap.dedent(f"""
        import importlib.util, os
        spec = importlib.util.spec_from_file_location("server", {str(sb.SERVER)!r})
        server = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(server)
        pipes = [os.pipe() for _ in range(4)]
        os.dup2(pipes[0][1], 1)
        os.dup2(pipes[1][1], 2)
        config = {{"wipe": [{str(folder)!r}], "home": {str(folder)!r}, "kill": "namespace",
                   "request": pipes[2][0], "reply": pipes[3][1]}}
        for fd in (1, 2, config["request"], config["reply"]):
            os.utime(fd, ns=(0x3a2b_6563_696c_61, 0x2b41))
        assert server._wipe(config)
        seen = os.stat({str(folder)!r})   # before any reading of the folder, which sets its access time to now
        times = [(seen.st_atime_ns, seen.st_mtime_ns)]
        times += [(os.fstat(fd).st_atime_ns, os.fstat(fd).st_mtime_ns) for fd in (1, 2, config["request"],
                                                                               config["reply"])]
        with open({str(tmp_path / "times")!r}, "w") as out:
            out.write(repr(times))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (tmp_path / "times").read_text() == repr([(0, 0)] * 5) and not any(folder.iterdir())


@pytest.mark.parametrize("allowed, bits", [(sb.FCNTL_ALLOWED, (0, 32)), ((sb.IOCTL_TYPE,), sb.IOCTL_TYPE_BITS),
                                           ((0,), (0, 8)), ((255,), (0, 8)), ((0, 1, 254, 255), (0, 8))])
def test_an_allowlist_becomes_refusals_that_match_every_other_number(allowed, bits):
    pairs = sb.masks_outside(allowed, bits)
    low, high = bits
    field = ((1 << high) - 1) & ~((1 << low) - 1)
    numbers = list(range(0, 1 << 16, 7)) + [a | extra for a in allowed for extra in (0, 1, 1 << 20, 1 << 32, 3 << 40)]
    for number in numbers:
        refused = any(number & mask == value for mask, value in pairs)
        assert refused == (number & field not in {a & field for a in allowed}), hex(number)


@pytest.mark.skipif(os.geteuid() != 0 or not BUBBLEWRAP, reason="a root grader's bubblewrap")
def test_under_a_root_grader_each_sandbox_has_a_uid_of_its_own(tmp_path):
    # the kernel counts processes per uid: with one uid for every sandbox, a fresh attacker's submission held all the
    # processes of a batch, and a classmate's correct answer could not start a thread
    source = "import os\ndef uid(x):\n    return float(os.getuid())\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with box(tmp_path / "a", source) as first, box(tmp_path / "b", source) as second:
        uids = {float(first.call("uid", np.zeros(1))), float(second.call("uid", np.zeros(1)))}
    assert len(uids) == 2 and all(u >= 1 << 30 for u in uids)
