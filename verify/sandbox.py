"""Run an untrusted candidate file in its own process, with limits, and get plain arrays back.

    with Sandbox("student.py", timeout=10, memory=2 * 1024**3) as box:
        box.function("grad", 4)             # FunctionError if missing, not callable, wrong arity
        box.restart_clock()                 # a fresh time budget for the next result checked
        got = box.call("grad", X, W, b, delta)   # an ndarray, or CandidateRaised / LimitExceeded

The candidate's file is loaded in a child process (`_sandbox_child.py`, run with `python -I`, in
its own session and a fresh temporary directory).  Requests and replies travel over two dedicated
pipes, never over the candidate's stdout, as length-prefixed frames: a small JSON header and arrays
written with `np.save`.  The parent reads them with `allow_pickle=False` after checking every
frame, so that the worst a candidate can do to the grader is to answer wrongly, fail, hang or die,
and each of those has its own exception.  Whatever the candidate prints is collected in `output`.

What this does not do: it does not hide the file system.  The candidate runs as the grader's user
and can read what that user can read; for that, run the grader in a container or as its own user.
A grandchild that calls setsid() leaves the process group and escapes the final kill.
"""
from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = ["SandboxError", "LoadError", "FunctionError", "CandidateRaised", "LimitExceeded",
           "TimeLimit", "MemoryLimit", "Crashed", "Sandbox"]

CHILD = Path(__file__).resolve().with_name("_sandbox_child.py")

# The frame format; _sandbox_child.py has its own copy because it must not import this package.
MAGIC = b"SBX1"
HEAD = struct.Struct("<4sII")  # magic, length of the JSON header, length of the array blob
MAX_META = 1 << 20
MAX_BLOB = 256 << 20
NUMERIC_KINDS = "biufc"

OUTPUT_LIMIT = 2000       # characters of the candidate's output kept for `output`
MESSAGE_LIMIT = 400       # characters of a message from the child shown to the grader
START_BUDGET = 60.0       # seconds for python + numpy to start: slow only on a starved machine
WATCH_INTERVAL = 0.05     # seconds between two looks at the child's memory while it computes
PIPE_SIZE = 1 << 20       # a 20,000-entry float64 array then crosses in one write
DRAIN_CHUNK = 1 << 16
SPARE_LIMIT = 16 << 20    # replies up to this size are read into one buffer kept per child


class SandboxError(Exception):
    """Base class. str(exc) is ONE line, no traceback, meant for the grader."""


class LoadError(SandboxError):
    """The file cannot be used at all: missing, not .py, syntax error, import error, raised at import.

    The message names the file and, where there is one, the line: 'student.py:3: SyntaxError:
    invalid syntax', 'student.py: ImportError: No module named 'torch'', 'student.py:5:
    ZeroDivisionError at import: division by zero', 'student.py:2: SystemExit at import: 0'.
    """


class FunctionError(SandboxError):
    """One function cannot be called: no such name, not callable, or the wrong number of arguments.

    It must accept exactly `arity` positional arguments: too many required parameters or too few
    parameters is an error, parameters with defaults and *args are fine.
    """


class CandidateRaised(SandboxError):
    """A verdict about the candidate: it raised (any BaseException) or returned no numeric array.

    E.g. 'the candidate raised ZeroDivisionError: division by zero (student.py:12)' or 'the
    candidate returned a ragged nested list that is not an array'.  The sandbox is still usable.
    """


class LimitExceeded(SandboxError):
    """The candidate's process could not finish; the sandbox must be restart()ed to be used again."""


class TimeLimit(LimitExceeded):
    """The candidate used up its time budget (since the last restart_clock(), or to load)."""


class MemoryLimit(LimitExceeded):
    """The candidate ran out of its memory (MemoryError in the child, or its RSS passed the limit)."""


class Crashed(LimitExceeded):
    """The child died or broke the protocol: os._exit, a signal, a garbled or forged frame...

    The message says how, e.g. 'the candidate's process exited with status 0 during a call of
    grad' or 'the candidate's process broke the result channel (bad frame header)'.
    """


class Sandbox:
    """One candidate file loaded in one child process.  Not thread-safe: one caller at a time.

    `timeout` (seconds) is the budget for loading the file, and for the candidate's calls between
    two restart_clock()s; only the time the parent spends waiting for the child counts.  `memory`
    (bytes) limits what the child may use on top of the interpreter and numpy.  Use it as a context
    manager: __enter__ starts the child and loads the file, __exit__ kills the child's whole process
    group (grandchildren included) and removes its temporary directory, whatever happened.
    """

    def __init__(self, path: str | Path, *, timeout: float = 10.0, memory: int = 2 * 1024**3):
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if not memory > 0:
            raise ValueError(f"memory must be positive, not {memory!r}")
        self.path = Path(path)
        self.timeout = float(timeout)
        self.memory = int(memory)
        self._child: _Child | None = None
        self._output = _Output(OUTPUT_LIMIT)
        self._left = self.timeout
        self._seq = 0
        self._gone: str | None = None  # why the last child stopped, for calls made after it

    # ---- life cycle --------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        """Start the child and load the file; LoadError or LimitExceeded if that fails."""
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill the child's process group and remove its temporary directory (idempotent)."""
        self._stop("the sandbox was closed")
        self._gone = None  # using it now is the caller's mistake, not the candidate's crash

    def restart(self) -> None:
        """Start a fresh child and reload the file, e.g. after a LimitExceeded; the clock restarts."""
        self._start()

    def restart_clock(self) -> None:
        """Give the candidate a new time budget of `timeout` seconds for the calls that follow."""
        self._left = self.timeout

    @property
    def alive(self) -> bool:
        """True while the child is running and in step with the parent."""
        return self._child is not None and self._child.running()

    @property
    def output(self) -> str:
        """What the candidate printed (stdout and stderr) so far, cut after ~2000 characters."""
        if self._child is not None:
            self._child.drain_output()
        return self._output.text()

    # ---- requests ----------------------------------------------------------------------------
    def function(self, name: str, arity: int) -> None:
        """Raise FunctionError unless the file has a callable `name` taking `arity` positional args.

        Counts against the time budget like a call (looking a name up can run the candidate's code).
        """
        meta, _ = self._request({"op": "function", "name": name, "arity": int(arity)}, [],
                                f"while looking up {name}", {"ok", "function_error"})
        if meta["status"] == "function_error":
            raise FunctionError(_one_line(meta["message"]))

    def call(self, name: str, *args: Any) -> np.ndarray:
        """Run name(*args) in the child and return its answer as an ndarray of a numeric dtype.

        Arrays arrive in the child as fresh copies (0-d stays 0-d), ints as ints, floats as floats.
        The answer is np.asarray(return value), converted in the child; its dtype is kept (bool,
        ints, floats, complex).  Raises CandidateRaised, FunctionError or LimitExceeded.
        """
        specs, blobs = _encode_args(args)
        meta, blob = self._request({"op": "call", "name": name, "args": specs}, blobs,
                                   f"during a call of {name}",
                                   {"ok", "raised", "function_error", "memory"})
        status = meta["status"]
        if status == "raised":
            raise CandidateRaised(_one_line(meta["message"]))
        if status == "function_error":
            raise FunctionError(_one_line(meta["message"]))
        if status == "memory":
            self._fail(MemoryLimit, self._memory_message())
        try:
            return _decode_array(blob)
        except ValueError as exc:
            self._fail(Crashed, f"the candidate's process broke the result channel ({exc})")

    # ---- internals ---------------------------------------------------------------------------
    def _start(self) -> None:
        self._stop("the sandbox was restarted")
        file = _check_file(self.path)
        self._gone = None
        self._left = self.timeout
        self._seq = 0
        try:
            self._child = _Child(file, self.memory, self._output)
        except OSError as exc:
            raise Crashed(f"could not start the sandbox's process: {exc}") from None
        try:
            # Two budgets: starting python + numpy is not the candidate's time, loading its file is.
            meta, _ = self._receive(START_BUDGET, "while starting", starting=True)
            self._expect(meta, 0, {"ready"})
            phase = f"while loading {file.name}"
            meta, _ = self._receive(self.timeout, phase)
            self._expect(meta, 0, {"loaded", "load_error", "memory"})
            if meta["status"] == "memory":
                self._fail(MemoryLimit, self._memory_message() + f" {phase}")
            if meta["status"] == "load_error":
                self._fail(LoadError, _one_line(meta["message"]))
        except BaseException:
            self._stop("loading the file failed")  # __exit__ does not run when __enter__ raises
            raise

    def _request(self, meta: dict, blobs: list, phase: str, allowed: set[str]) -> tuple[dict, memoryview]:
        child = self._running()
        self._seq += 1
        meta["seq"] = self._seq
        frame = _frame(meta, blobs)
        started = time.monotonic()
        try:
            reply, blob = self._exchange(child, frame, self._left, phase)
        finally:
            self._left -= time.monotonic() - started
        self._expect(reply, self._seq, allowed)
        if reply["status"] != "ok" and len(blob):
            self._fail(Crashed, "the candidate's process broke the result channel (unexpected data)")
        return reply, blob

    def _receive(self, budget: float, phase: str, *, starting: bool = False) -> tuple[dict, memoryview]:
        assert self._child is not None
        return self._exchange(self._child, None, budget, phase, starting=starting)

    def _exchange(self, child: _Child, frame: list | None, budget: float, phase: str, *,
                  starting: bool = False) -> tuple[dict, memoryview]:
        """Send `frame` (if any) and wait for one reply frame, enforcing time and memory.

        Everything that can go wrong ends here with the child killed and a LimitExceeded raised;
        anything else escaping (KeyboardInterrupt in the parent) also kills it, since a half-done
        exchange leaves the pipes out of step.
        """
        try:
            now = time.monotonic()
            deadline, watch = now + budget, now + WATCH_INTERVAL
            pending = frame
            reader = _FrameReader(child)
            while True:
                if pending is not None:
                    pending = child.write(pending)
                    child.want_write(pending is not None)
                wait = max(0.0, min(deadline, watch) - time.monotonic())
                for fd, _ in child.poller.poll(math.ceil(wait * 1000)):
                    if fd == child.out_r:
                        child.drain_output()
                    elif fd == child.rep_r and reader.read(fd):
                        return _finish(reader, pending)
                now = time.monotonic()
                if now >= watch:
                    watch = now + WATCH_INTERVAL
                    if not child.running():
                        # It may have answered just before exiting (a load error does that).
                        if reader.read(child.rep_r):
                            return _finish(reader, pending)
                        raise _Died
                    rss = child.rss()
                    if rss is not None and rss > self.memory:
                        self._fail(MemoryLimit, self._memory_message())
                if now >= deadline:
                    if starting:
                        self._fail(Crashed, f"the sandbox's process did not start within {budget:g} s")
                    suffix = "" if phase.startswith("during") else f" {phase}"
                    self._fail(TimeLimit, f"time limit of {self.timeout:g} s exceeded{suffix}")
        except _Died:
            # EOF shows before the exit status does: give an exiting child a moment to finish dying,
            # so that os._exit(0) is reported as such and not as a closed channel.
            exited = child.exited_within(0.2)
            code = child.kill()
            how = _death(code) if exited else "closed the result channel"
            self._fail(Crashed, f"the candidate's process {how} {phase}")
        except _BadFrame as exc:
            self._fail(Crashed, f"the candidate's process broke the result channel ({exc})")
        except SandboxError:
            raise
        except BaseException:
            self._stop("interrupted while waiting for it")
            raise

    def _expect(self, meta: dict, seq: int, allowed: set[str]) -> None:
        status, got = meta.get("status"), meta.get("seq")
        if type(got) is not int or got != seq or not isinstance(status, str) or status not in allowed:
            self._fail(Crashed, "the candidate's process broke the result channel (unexpected reply)")
        if status in ("load_error", "function_error", "raised") and not isinstance(meta.get("message"), str):
            self._fail(Crashed, "the candidate's process broke the result channel (malformed reply)")

    def _running(self) -> _Child:
        if self._child is None:
            if self._gone is None:
                raise RuntimeError("the sandbox is not started: use `with Sandbox(path) as box:`")
            raise Crashed(f"the candidate's process is not running ({self._gone}); call restart()")
        return self._child

    def _fail(self, kind: type[SandboxError], message: str) -> NoReturn:
        if issubclass(kind, (LimitExceeded, LoadError)):
            self._stop(message)
            self._gone = message
        raise kind(message) from None

    def _stop(self, reason: str) -> int | None:
        """Kill the current child (if any) and return its exit status as Popen reports it."""
        child, self._child = self._child, None
        if child is None:
            return None
        self._gone = reason
        return child.kill()

    def _memory_message(self) -> str:
        return f"memory limit of {_size(self.memory)} exceeded"


def _finish(reader: _FrameReader, pending: list | None) -> tuple[dict, memoryview]:
    if pending is not None:
        raise _BadFrame("a reply came before the request was sent")
    return reader.decode()


class _Died(Exception):
    """The child exited or closed the reply pipe."""


class _BadFrame(Exception):
    """The child sent something that is not a well-formed frame."""


class _Child:
    """One child process, its three pipes and its temporary directory."""

    def __init__(self, file: Path, memory: int, output: _Output):
        self.output = output
        self.tmp = tempfile.mkdtemp(prefix="verify-sandbox-")
        parent_ends: list[int] = []
        child_ends: list[int] = []
        try:
            for mine in (1, 0, 0):  # requests: the parent writes; replies and output: it reads
                pair = os.pipe()
                parent_ends.append(pair[mine])
                child_ends.append(pair[1 - mine])
            self.req_w, self.rep_r, self.out_r = parent_ends
            req_r, rep_w, out_w = child_ends
            for fd in (self.req_w, self.rep_r):
                _grow_pipe(fd)
            env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": self.tmp, "TMPDIR": self.tmp,
                   "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                   # One thread each: 40 sandboxes in a row should not each spin up a BLAS pool, and
                   # fewer threads reserve less of the address space the memory limit counts.
                   "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(CHILD), str(req_r), str(rep_w), str(memory), str(file)],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, cwd=self.tmp, env=env,
                pass_fds=(req_r, rep_w), start_new_session=True)
        except BaseException:
            for fd in parent_ends:
                _close(fd)
            _rmtree(self.tmp)
            raise
        finally:
            for fd in child_ends:  # only the child may hold these, or its death would not show as EOF
                _close(fd)
        # If the Sandbox is dropped without close(), still kill the group and remove the directory.
        self._finalizer = weakref.finalize(self, _reap, self.proc, [self.req_w, self.rep_r],
                                           self.out_r, output, self.tmp)
        for fd in parent_ends:
            os.set_blocking(fd, False)
        self.poller = select.poll()
        self.poller.register(self.rep_r, select.POLLIN)
        self.poller.register(self.out_r, select.POLLIN)
        self._writing = False
        self._output_open = True
        self.spare = bytearray()  # grown to the largest reply up to SPARE_LIMIT

    def write(self, parts: list) -> list | None:
        """Write what the pipe takes now; return what is left (None when all is written)."""
        try:
            n = os.writev(self.req_w, parts)
        except BlockingIOError:
            return parts
        except BrokenPipeError:
            raise _Died from None
        rest = []
        for part in parts:  # drop what went out, without copying what did not
            if n >= len(part):
                n -= len(part)
            else:
                rest.append(memoryview(part)[n:] if n else part)
                n = 0
        return rest or None

    def want_write(self, flag: bool) -> None:
        if flag != self._writing:
            if flag:
                self.poller.register(self.req_w, select.POLLOUT)
            else:
                self.poller.unregister(self.req_w)
            self._writing = flag

    def drain_output(self, chunks: int = 16) -> None:
        # Bounded, so that a candidate printing in a loop cannot keep the parent from its deadline.
        for _ in range(chunks):
            if not self._output_open:
                return
            try:
                data = os.read(self.out_r, DRAIN_CHUNK)
            except BlockingIOError:
                return
            if not data:
                self.poller.unregister(self.out_r)  # no writer left: stop polling a hung-up pipe
                self._output_open = False
                return
            self.output.feed(data)

    def running(self) -> bool:
        # WNOWAIT leaves the child a zombie: its pid (= its process group id) stays reserved until
        # kill() has signalled the group, so the group can never be a recycled one.
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def exited_within(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while self.running():
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)
        return True

    def rss(self) -> int | None:
        with (contextlib.suppress(OSError, ValueError, IndexError),
              open(f"/proc/{self.proc.pid}/status", "rb") as status):
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
        return None

    def kill(self) -> int | None:
        self._finalizer()
        return self.proc.returncode


def _reap(proc: subprocess.Popen, fds: list[int], out_r: int, output: _Output, tmp: str) -> None:
    # SIGKILL, not SIGTERM: the candidate can ignore SIGTERM.  The group, not the pid: grandchildren.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # stuck in the kernel (D state): give up
        proc.wait(timeout=5)
    for fd in fds:
        _close(fd)
    # Everything the group wrote is in the pipe now; keep it for `output`, without blocking in case
    # a process that left the group still holds the pipe open.
    for _ in range(64):
        try:
            data = os.read(out_r, DRAIN_CHUNK)
        except (BlockingIOError, OSError):
            break
        if not data:
            break
        output.feed(data)
    output.feed(b"", final=True)
    _close(out_r)
    _rmtree(tmp)


class _FrameReader:
    """Reads exactly one frame from a non-blocking fd, validating its header before its body.

    The body goes into the child's `spare` buffer, kept from call to call: a fresh buffer of a few
    hundred KiB per call costs more in page faults than the rest of the call.  Decode the frame
    before reading the next one.
    """

    def __init__(self, owner: _Child) -> None:
        self.owner = owner
        self.head = b""
        self.body: memoryview | None = None
        self.got = 0
        self.meta_len = 0

    def read(self, fd: int) -> bool:
        """Read what is available; True when the frame is complete.  Never reads past the frame."""
        while True:
            if self.body is None:
                try:
                    chunk = os.read(fd, HEAD.size - len(self.head))
                except BlockingIOError:
                    return False
                if not chunk:
                    raise _Died
                self.head += chunk
                if len(self.head) < HEAD.size:
                    continue
                magic, meta_len, blob_len = HEAD.unpack(self.head)
                if magic != MAGIC:
                    raise _BadFrame("bad frame header")
                if meta_len > MAX_META or blob_len > MAX_BLOB:
                    raise _BadFrame(f"frame of {meta_len + blob_len} bytes is too large")
                self.meta_len = meta_len
                size = meta_len + blob_len
                if size > len(self.owner.spare) and size <= SPARE_LIMIT:
                    self.owner.spare = bytearray(size)
                buffer = self.owner.spare if size <= len(self.owner.spare) else bytearray(size)
                self.body = memoryview(buffer)[:size]
            if self.got == len(self.body):
                return True
            try:
                n = os.readv(fd, [self.body[self.got:]])
            except BlockingIOError:
                return False
            if n == 0:
                raise _Died
            self.got += n

    def decode(self) -> tuple[dict, memoryview]:
        assert self.body is not None
        view = self.body
        try:
            meta = json.loads(bytes(view[:self.meta_len]))
        except (ValueError, RecursionError):
            raise _BadFrame("the header is not JSON") from None
        if not isinstance(meta, dict):
            raise _BadFrame("the header is not a JSON object")
        return meta, view[self.meta_len:]


def _frame(meta: dict, blobs: list) -> list:
    """A frame as a list of buffers for os.writev (no copy of the arrays)."""
    text = json.dumps(meta).encode()
    size = sum(len(b) for b in blobs)
    if len(text) > MAX_META or size > MAX_BLOB:
        raise ValueError(f"the arguments are too large for the sandbox ({size} bytes)")
    return [HEAD.pack(MAGIC, len(text), size), text, *blobs]


def _encode_args(args: tuple) -> tuple[list, list]:
    specs: list[list] = []
    blobs: list = []
    for arg in args:
        if isinstance(arg, np.ndarray):
            if arg.dtype.kind not in NUMERIC_KINDS or arg.dtype.fields is not None:
                raise TypeError(f"cannot pass an array of dtype {arg.dtype} to the sandbox")
            npy = _Parts()
            np.save(npy, arg, allow_pickle=False)
            blobs += npy.parts
            specs.append(["a", npy.size])
        elif isinstance(arg, (bool, int, np.integer)):
            specs.append(["i", int(arg) if not isinstance(arg, bool) else arg])
        elif isinstance(arg, (float, np.floating)):
            specs.append(["f", float(arg)])
        else:
            raise TypeError(f"cannot pass {type(arg).__name__} to the sandbox: arrays, ints and floats only")
    return specs, blobs


# The header np.save writes for a numeric array, and nothing else: anything the child could only
# have crafted (object or structured dtypes, odd spellings, an oversized header) is refused before
# np.load allocates anything from it.
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|][biufc][0-9]{1,2})', 'fortran_order': (?:True|False), "
                         rb"'shape': \(((?:[0-9]{1,19}(?:, [0-9]{1,19}){0,63},?)?)\), \} *\n")
_NPY_PREAMBLE = struct.Struct("<6sBBH")  # magic, major, minor, header length (version 1.0)


def _decode_array(blob: memoryview | bytes) -> np.ndarray:
    """The one array of an .npy blob from the child, or ValueError if it is anything but numbers.

    The header is checked before np.load sees the data, and np.load runs with allow_pickle=False:
    an object array would be unpickled, and unpickling is running code the child chose.
    """
    if len(blob) < _NPY_PREAMBLE.size:
        raise ValueError("truncated array")
    magic, major, minor, header_len = _NPY_PREAMBLE.unpack_from(blob)
    if magic != b"\x93NUMPY" or (major, minor) != (1, 0):
        raise ValueError("not an .npy array of version 1.0")
    offset = _NPY_PREAMBLE.size + header_len
    header = bytes(blob[_NPY_PREAMBLE.size:offset])
    match = _NPY_HEADER.fullmatch(header)
    if match is None:
        descr = re.search(rb"'descr': ('[^']{0,40}')", header)
        raise ValueError(f"an array of dtype {descr[1].decode('ascii', 'replace')} is refused" if descr
                         else "not the header of a numeric array")
    try:
        dtype = np.dtype(match[1].decode())
    except (TypeError, ValueError):
        raise ValueError(f"unknown dtype {match[1].decode()!r}") from None
    shape = tuple(int(n) for n in match[2].split(b",") if n.strip())
    if dtype.kind not in NUMERIC_KINDS or offset + math.prod(shape) * dtype.itemsize != len(blob):
        raise ValueError("the array's data does not match its header")
    stream = _Reader(blob)
    try:
        array = np.load(stream, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"bad array: {exc}") from None
    if (not isinstance(array, np.ndarray) or array.dtype != dtype or array.shape != shape
            or stream.tell() != len(blob)):
        raise ValueError("the array does not match its header")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


class _Reader:
    """A read-only file over a buffer, for np.load: saves copying the reply into a BytesIO first."""

    def __init__(self, buffer: memoryview | bytes):
        self.view = memoryview(buffer)
        self.pos = 0

    def read(self, n: int | None = -1) -> bytes:
        end = len(self.view) if n is None or n < 0 else min(len(self.view), self.pos + n)
        data = bytes(self.view[self.pos:end])
        self.pos = end
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self.pos, len(self.view))[whence]
        self.pos = min(max(0, base + offset), len(self.view))
        return self.pos

    def tell(self) -> int:
        return self.pos


class _Parts:
    """A write-only file for np.save that keeps the pieces for os.writev instead of joining them."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        self.size += len(data)
        return len(data)


class _Output:
    """The first `limit` characters of a byte stream, and how many characters came in all."""

    def __init__(self, limit: int):
        self.limit = limit
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._head: list[str] = []
        self._kept = 0
        self._total = 0

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        self._total += len(text)
        if self._kept < self.limit and text:
            take = text[:self.limit - self._kept]
            self._head.append(take)
            self._kept += len(take)

    def text(self) -> str:
        # Control characters are shown escaped: '\r' or an escape sequence printed to the grader's
        # terminal could hide or overwrite the grader's own lines.
        shown = "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" if ord(c) < 256
                        else f"\\u{ord(c):04x}" for c in "".join(self._head))
        more = self._total - self._kept
        if more:
            shown += ("" if shown.endswith("\n") or not shown else "\n") + f"... ({more} more characters)"
        return shown


def _check_file(path: Path) -> Path:
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if path.suffix != ".py":
        raise LoadError(f"{path.name}: not a Python file (expected a .py file)")
    if not path.is_file():
        raise LoadError(f"{path}: not a file")
    return path.resolve()


def _one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message from the child as one printable line: it must not be able to forge a verdict line."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _death(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        description = signal.strsignal(-code)
        return f"was killed by signal {-code} ({name}{': ' + description if description else ''})"
    return f"exited with status {code}"


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def _grow_pipe(fd: int) -> None:
    try:
        import fcntl
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):  # not Linux, or over the user's pipe quota
        pass


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _rmtree(path: str) -> None:
    def unlock(function: Any, name: str, _info: Any) -> None:
        # The candidate may have left a read-only directory behind (chmod 0): unlock it, then retry.
        try:
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            os.chmod(name, stat.S_IRWXU)
            function(name)
        except OSError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=unlock)
    else:
        shutil.rmtree(path, onerror=unlock)
