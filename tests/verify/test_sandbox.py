"""verify.sandbox: untrusted candidate files run in their own process, with limits.

Each test writes a candidate file into tmp_path and drives it through a Sandbox.  Timeouts are
short (1 s or less) where a test waits for a limit; no test asserts on timing except the coarse
bound on how long a time limit takes to fire.
"""
import importlib.util
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from verify import sandbox as sb
from verify.sandbox import (
    CandidateRaised,
    Crashed,
    FunctionError,
    LimitExceeded,
    LoadError,
    MemoryLimit,
    Sandbox,
    SandboxError,
    TimeLimit,
)


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


def test_the_candidate_runs_in_a_temporary_directory_removed_at_exit(tmp_path):
    report = tmp_path / "cwd.txt"
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
        pid = s._child.proc.pid
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
            pid = s._child.proc.pid
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            s.call("grad", 1.0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert gone(pid) and not s.alive


def test_the_child_dies_with_the_parent_even_if_the_parent_is_killed(tmp_path):
    # SIGKILL gives the parent no chance to clean up: the child notices the request pipe hang up.
    candidate = write(tmp_path, "def grad(x):\n    while True:\n        pass\n")
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("sandbox_under_test", {sb.__file__!r})
        sandbox = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sandbox)
        with sandbox.Sandbox({str(candidate)!r}, timeout=60) as s:
            print(s._child.proc.pid, s._child.tmp, flush=True)
            s.call("grad", 1.0)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        child, tmp = parent.stdout.readline().split()
        parent.kill()
        assert gone(int(child))
        assert not os.path.exists(tmp)
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
        assert words in str(failure.value)
        with pytest.raises(FunctionError):  # and calling it anyway says the same
            s.call("grad", 1.0, 2.0)
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
def test_a_garbled_or_forged_frame_is_a_crash(tmp_path, forge):
    payload = tmp_path / "payload.bin"
    with box(tmp_path, WRITE_TO_EVERY_PIPE.format(payload=str(payload))) as s:
        payload.write_bytes(forge(s._seq + 1))  # the sequence number the next reply should carry
        with pytest.raises(Crashed, match="broke the result channel"):
            s.call("grad", 1.0)
        assert not s.alive


def test_the_parent_never_unpickles_an_object_array_from_the_child(tmp_path):
    marker = tmp_path / "unpickled"

    class Attack:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    npy = io.BytesIO()
    np.save(npy, np.array([Attack()], dtype=object), allow_pickle=True)
    payload = tmp_path / "payload.bin"
    with box(tmp_path, WRITE_TO_EVERY_PIPE.format(payload=str(payload))) as s:
        # A reply that is right in every respect (sequence number included) but its array.
        forged = sb._frame({"seq": s._seq + 1, "status": "ok"}, [npy.getvalue()])
        payload.write_bytes(b"".join(forged))
        with pytest.raises(Crashed, match=r"broke the result channel \(an array of dtype '\|O' is refused\)"):
            s.call("grad", 1.0)
    assert not marker.exists()


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


def test_decoding_keeps_the_numbers_and_makes_byte_order_native():
    got = sb._decode_array(npy(np.arange(6.0).reshape(2, 3).astype(">f8")))
    assert got.dtype == np.float64 and got.dtype.isnative and got.flags.writeable
    np.testing.assert_array_equal(got, np.arange(6.0).reshape(2, 3))
    assert sb._decode_array(npy(np.array(2.5))).shape == ()


def test_the_child_script_uses_the_same_frame_format_and_not_the_verify_package():
    path = sb.CHILD
    spec = importlib.util.spec_from_file_location("_sandbox_child_under_test", path)
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)  # defines things only: main() runs under __main__
    assert (child.MAGIC, child.HEAD.format, child.MAX_BLOB) == (sb.MAGIC, sb.HEAD.format, sb.MAX_BLOB)
    source = path.read_text()
    assert "import verify" not in source and "from verify" not in source and "from ." not in source


def test_every_error_is_a_sandbox_error_and_limits_share_a_base():
    for kind in (LoadError, FunctionError, CandidateRaised, LimitExceeded):
        assert issubclass(kind, SandboxError)
    for kind in (TimeLimit, MemoryLimit, Crashed):
        assert issubclass(kind, LimitExceeded)
