"""Run an untrusted candidate file in its own process, with limits, and get plain arrays back.

    with Sandbox("student.py", timeout=10, memory=2 * 1024**3) as box:
        box.function("grad", 4)             # FunctionError if missing, not callable, wrong arity
        box.restart_clock()                 # a fresh time budget for the next result checked
        got = box.call("grad", X, W, b, delta)   # an ndarray, or CandidateRaised / LimitExceeded

The candidate's file is loaded in a child process (`_sandbox_child.py`), in its own session and a
fresh temporary directory, with stdin /dev/null and its stdout and stderr collected in `output`.
Requests and replies travel over two dedicated pipes, never over the candidate's stdout, as
length-prefixed frames: a small JSON header and arrays written with `np.save`.  The parent reads
them with `allow_pickle=False` after checking every frame, so that the worst a candidate can do to
the grader's answers is to answer wrongly, fail, hang or die, and each of those has its own exception.

Starting a child: the fork server.  A fresh `python -I` with numpy takes ~0.1 s to start, and
~0.8 s more when the file imports scipy.signal, which most do.  So each grader process starts, on
its first Sandbox, one fork server (`_sandbox_zygote.py`: python -I, the standard library, numpy,
scipy.signal and scipy.ndimage preloaded, and never the `verify` package, so that it holds nothing
of the homework or the key) and asks it for one forked child per sandbox, handing it the child's
pipes over a Unix socket (`socket.send_fds`).  The fork server reaps its children and reports their
exit statuses back; it runs no line of a candidate's.  If it cannot start, or dies, sandboxes are
started directly with `python -I _sandbox_child.py` (and a dead one is started again later); its
children outlive it and are then watched through a pidfd.  START ("zygote" or "direct", from
$VERIFY_SANDBOX_START) picks the way.

What is protected, when the grader runs as root (Gradescope, CI): each child gives up root before
loading the file and runs as a user of its own (uid = gid, from USER_IDS: 61000-64999, no passwd
entry needed, a different one for every live sandbox, leased through a lock file in a root-only
folder).  The candidate's folder is first copied into the child's temporary directory (its file,
and beside it only regular files everybody may read, in folders everybody may enter; no symbolic
link followed; at most 20 MB), so it is loaded from there and its siblings import even when the
original folder is closed to that user.  So the candidate cannot signal,
ptrace, or read or write the memory or the fds (/proc/<pid>/mem, /proc/<pid>/fd/1) of the grader,
of the fork server or of another student's sandbox; cannot write the CSV, the feedback or anything
else root owns; cannot read a file that is not readable by everybody (mode 0600, or in a folder
closed to others); cannot keep a process alive after its sandbox (on close or restart every process
of that uid is killed, a setsid() grandchild included, before the directory is removed); cannot
fork more than NPROC processes (RLIMIT_NPROC of that uid); and its grandchildren's memory counts
against the memory limit (every process of that uid is summed).  A set-user-ID program gives it
nothing (PR_SET_NO_NEW_PRIVS).  What is NOT protected as root: files readable by everybody can be
read, the answer key included if its files are world-readable (make them 0600/0700, or grade in
a container); it can use the network, fill /tmp (files there are its own, not removed), and see
other processes in /proc.

When the grader is not root: the child runs as the grader's user, as before; it cannot change
its user, so it can still signal the grader and the other sandboxes (a SIGKILL'd sandbox is
reported as a crash), read and write whatever that user can, and a setsid() grandchild can leave
the group and escape the final kill.  What is still protected: the grader makes itself
non-dumpable (PR_SET_DUMPABLE 0) when its first Sandbox is created, and so does the fork server,
so no process of the same user can read or write their memory (/proc/<pid>/mem) or fds or ptrace
them; the memory watch sums the child's whole session.  For untrusted code at scale, or as a
non-root user, run the grader in a container (one per submission, as Gradescope does).

Whatever the user, a killed grader (SIGKILL or SIGTERM) leaves no child and no temporary directory:
the child's lifeline thread notices the request pipe hang up, kills its group (or its uid) and
removes its directory, and the fork server does the same for all its children when the grader's
end of its socket closes.
"""
from __future__ import annotations

import codecs
import contextlib
import functools
import json
import math
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = ["SandboxError", "LoadError", "FunctionError", "MissingFunction", "CandidateRaised", "LimitExceeded",
           "TimeLimit", "MemoryLimit", "Crashed", "Sandbox"]

CHILD = Path(__file__).resolve().with_name("_sandbox_child.py")
ZYGOTE = Path(__file__).resolve().with_name("_sandbox_zygote.py")

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
KILL_WAIT = 5.0           # seconds to wait for a killed process to be gone (stuck in the kernel: give up)
ZYGOTE_RETRY = 30.0       # seconds before trying again to start a fork server that failed to start


def _user_ids(text: str) -> range | None:
    if text.strip().lower() in ("off", "no", "none", "0"):
        return None
    low, _, high = text.partition("-")
    ids = range(int(low), int(high or low) + 1)
    if not ids or ids[0] < 1000 or ids[-1] >= 1 << 31:
        raise ValueError(f"VERIFY_SANDBOX_UIDS={text!r}: expected a range such as 61000-64999, or off")
    return ids


START = os.environ.get("VERIFY_SANDBOX_START", "zygote")   # "zygote" (fork server) or "direct"
USER_IDS = _user_ids(os.environ.get("VERIFY_SANDBOX_UIDS", "61000-64999"))  # None: never change user
NPROC = 32                # processes (and threads) each sandbox's user may have at once, as root
UID_LOCKS = ("/run/verify-sandbox-uids", os.path.join(tempfile.gettempdir(), ".verify-sandbox-uids"))


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


class MissingFunction(FunctionError):
    """The file has no such name at all ('student.py has no function 'grad'')."""


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
    """The candidate ran out of its memory: MemoryError in the child, a library that could not be
    mapped under the limit at import, or the resident size of its processes passed the limit."""


class Crashed(LimitExceeded):
    """The child died or broke the protocol: os._exit, a signal, a garbled or forged frame...

    The message says how, e.g. 'the candidate's process exited with status 0 during a call of
    grad' or 'the candidate's process broke the result channel (bad frame header)'.
    """


class Sandbox:
    """One candidate file loaded in one child process.  Not thread-safe: one caller at a time.

    `timeout` (seconds) is the budget for loading the file, and for the candidate's calls between
    two restart_clock()s; only the time the parent spends waiting for the child counts.  `memory`
    (bytes) limits what the child (and, as root, every process of its user) may use on top of the
    interpreter and the preloaded libraries.  Use it as a context manager: __enter__ starts the
    child and loads the file, __exit__ kills the child's whole process group (as root: every
    process of its user) and removes its temporary directory, whatever happened.
    """

    def __init__(self, path: str | Path, *, timeout: float = 10.0, memory: int = 2 * 1024**3):
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if not memory > 0:
            raise ValueError(f"memory must be positive, not {memory!r}")
        _harden_this_process()
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
        """Kill the child's processes and remove its temporary directory (idempotent)."""
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

        MissingFunction (a FunctionError) when there is no such name at all.  Counts against the
        time budget like a call (looking a name up can run the candidate's code).
        """
        meta, _ = self._request({"op": "function", "name": name, "arity": int(arity)}, [],
                                f"while looking up {name}", {"ok", "function_error"})
        if meta["status"] == "function_error":
            raise _function_error(meta)

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
            raise _function_error(meta)
        if status == "memory":
            self._fail(MemoryLimit, self._memory_message())
        try:
            return _decode_array(blob)
        except ValueError as exc:
            self._fail(Crashed, f"the candidate's process broke the result channel ({exc})")

    # ---- internals ---------------------------------------------------------------------------
    def _start(self) -> None:
        self._stop("the sandbox was restarted")
        file = _check_file(self.path, _other_users())
        self._gone = None
        self._left = self.timeout
        self._seq = 0
        try:
            self._child = _Child(file, self.memory, self._output)
        except OSError as exc:
            raise Crashed(f"could not start the sandbox's process: {_one_line(str(exc))}") from None
        try:
            # Two budgets: starting python + numpy is not the candidate's time, loading its file is.
            meta, _ = self._receive(START_BUDGET, "while starting", starting=True)
            self._expect(meta, 0, {"ready", "setup_error"})
            if meta["status"] == "setup_error":
                self._fail(Crashed, f"could not start the sandbox's process: {_one_line(meta['message'])}")
            self._child.baseline()
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
                    used = None if starting else child.memory_used()  # starting: our code, no baseline yet
                    if used is not None and used > self.memory:
                        self._fail(MemoryLimit, self._memory_message() + ("" if phase.startswith("during")
                                                                          else f" {phase}"))
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
        if (status in ("load_error", "function_error", "raised", "setup_error")
                and not isinstance(meta.get("message"), str)):
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


def _function_error(meta: dict) -> FunctionError:
    kind = MissingFunction if meta.get("missing") is True else FunctionError
    return kind(_one_line(meta["message"]))


def _finish(reader: _FrameReader, pending: list | None) -> tuple[dict, memoryview]:
    if pending is not None:
        raise _BadFrame("a reply came before the request was sent")
    return reader.decode()


class _Died(Exception):
    """The child exited or closed the reply pipe."""


class _BadFrame(Exception):
    """The child sent something that is not a well-formed frame."""


# ---- one child ---------------------------------------------------------------------------------------
class _Child:
    """One child process, its three pipes, its temporary directory and (as root) its user id."""

    def __init__(self, file: Path, memory: int, output: _Output):
        self.output = output
        lease = _UserLease.acquire() if _other_users() else None
        try:
            self.tmp = tempfile.mkdtemp(prefix="verify-sandbox-")
        except BaseException:
            if lease is not None:
                lease.release()
            raise
        parent_ends: list[int] = []
        child_ends: list[int] = []
        self._end = _End(output, self.tmp, lease)
        try:
            if lease is not None:
                os.chown(self.tmp, lease.uid, lease.uid)  # mode 0700 from mkdtemp: nobody else's
            for mine in (1, 0, 0):  # requests: the parent writes; replies and output: it reads
                pair = os.pipe()
                parent_ends.append(pair[mine])
                child_ends.append(pair[1 - mine])
            self.req_w, self.rep_r, self.out_r = parent_ends
            self._end.fds = list(parent_ends)
            for fd in (self.req_w, self.rep_r):
                _grow_pipe(fd)
            config = {"memory": memory, "path": str(file), "home": self.tmp}
            if lease is not None:
                config.update(uid=lease.uid, gid=lease.uid, nproc=NPROC)
            zygote = _zygote() if START == "zygote" else None
            if zygote is not None:
                with contextlib.suppress(_ZygoteGone):
                    self.pid = zygote.spawn(config, child_ends)
                    self._end.zygote = zygote
                    self._end.pidfd = _pidfd(self.pid)  # safe: the zygote keeps it a zombie until released
            if self._end.zygote is None:
                self._end.proc = _spawn_directly(config, child_ends, self.tmp)
                self.pid = self._end.proc.pid
            self._end.pid = self.pid
        except BaseException:
            for fd in child_ends:
                _close(fd)
            self._end.close()
            raise
        for fd in child_ends:  # only the child may hold these, or its death would not show as EOF
            _close(fd)
        # If the Sandbox is dropped without close(), still kill everything and remove the directory.
        self._finalizer = weakref.finalize(self, self._end.close)
        for fd in parent_ends:
            os.set_blocking(fd, False)
        self.poller = select.poll()
        self.poller.register(self.rep_r, select.POLLIN)
        self.poller.register(self.out_r, select.POLLIN)
        self._writing = False
        self._output_open = True
        self.spare = bytearray()  # grown to the largest reply up to SPARE_LIMIT
        self.base = 0             # resident size once ready: the interpreter and what was preloaded

    @property
    def uid(self) -> int | None:
        return self._end.lease.uid if self._end.lease is not None else None

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
        return self._end.running()

    def exited_within(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while self.running():
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)
        return True

    def baseline(self) -> None:
        """Take the child's resident size now (ready, nothing of the candidate's loaded) as its zero."""
        status = _read_status(self.pid)
        self.base = status.get("VmRSS", 0) if status else 0

    def memory_used(self) -> int | None:
        """Bytes the candidate's processes hold beyond the baseline: the child's resident size, plus
        the private memory of every other process of its user (as root) or of its session."""
        status = _read_status(self.pid)
        if not status:
            return None
        used = status.get("VmRSS", 0) - self.base
        uid = self.uid
        for pid, other in _processes():
            if pid == self.pid or other.get("State") in ("Z", "X"):
                continue
            if (other.get("Uid") == uid) if uid is not None else (other.get("NSsid") == self.pid):
                used += _private_memory(pid, other)
        return used

    def kill(self) -> int | None:
        self._finalizer()
        return self._end.status


class _End:
    """Everything needed to end one child, whoever ends it (close(), an error, the finalizer).

    Holds no reference to the _Child, so that a dropped Sandbox is still cleaned up.
    """

    def __init__(self, output: _Output, tmp: str, lease: _UserLease | None):
        self.output, self.tmp, self.lease = output, tmp, lease
        self.owner = os.getpid()
        self.fds: list[int] = []
        self.pid: int | None = None
        self.proc: subprocess.Popen | None = None
        self.zygote: _Zygote | None = None
        self.pidfd: int | None = None
        self.status: int | None = None
        self.exited = False
        self.closed = False
        self.clean = False  # every process of the lease's uid was seen dead

    def running(self) -> bool:
        if self.exited or self.closed:
            return False
        if self.proc is not None:
            # WNOWAIT leaves the child a zombie: its pid (= its process group id) stays reserved until
            # close() has signalled the group, so the group can never be a recycled one.
            try:
                if os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                    return True
            except ChildProcessError:
                pass
            self.exited = True
            return False
        if self.zygote is not None and self.pid is not None:
            if self.zygote.alive():
                status = self.zygote.exits.get(self.pid)
                if status is None:
                    return True
                self.status, self.exited = status, True
                return False
            # The fork server died: the child, adopted by init, is only known through its pidfd.
            if self.pid in self.zygote.exits:
                self.status, self.exited = self.zygote.exits[self.pid], True
                return False
            if not _pidfd_exited(self.pidfd, self.pid):
                return True
            self.exited = True
        return False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if os.getpid() != self.owner:  # a forked copy of the grader: the child is not ours to end
            for fd in self.fds:
                _close(fd)
            return
        try:
            self._kill()
        finally:
            for fd in self.fds[:2]:
                _close(fd)
            if len(self.fds) == 3:
                self._drain(self.fds[2])
            if self.pidfd is not None:
                _close(self.pidfd)
            _rmtree(self.tmp)
            if self.lease is not None:
                if self.clean:
                    _remove_files_of(self.lease.uid)  # nothing of this student's for the next one of this uid
                self.lease.release(self.clean)

    def _kill(self) -> None:
        if self.pid is None:
            return
        pid = self.pid
        if self.zygote is not None:
            try:
                status = self.zygote.release(pid)
                if self.status is None:
                    self.status = status
            except _ZygoteGone:
                # The fork server died: signal the group only while the child is known to be alive
                # (its pid cannot have been reused then), and the child itself through its pidfd.
                if self.pid in self.zygote.exits:
                    self.status = self.zygote.exits[self.pid]
                elif not _pidfd_exited(self.pidfd, pid):
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
                    _pidfd_kill(self.pidfd)
        elif self.proc is not None:
            # SIGKILL, not SIGTERM: the candidate can ignore SIGTERM.  The group, not the pid: grandchildren.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):  # stuck in the kernel (D state): give up
                self.proc.wait(timeout=KILL_WAIT)
            self.status = self.proc.returncode
        if self.lease is not None:
            self.clean = _kill_user(self.lease.uid, spare=pid)  # what left the group (setsid) goes too

    def _drain(self, out_r: int) -> None:
        # Everything the processes wrote is in the pipe now; keep it for `output`, without blocking in
        # case a process that escaped the kill (not root: setsid) still holds the pipe open.
        with contextlib.suppress(OSError):
            os.set_blocking(out_r, False)
        for _ in range(64):
            try:
                data = os.read(out_r, DRAIN_CHUNK)
            except OSError:
                break
            if not data:
                break
            self.output.feed(data)
        self.output.feed(b"", final=True)
        _close(out_r)


def _environment(home: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": home, "TMPDIR": home,
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            # One thread each: 40 sandboxes in a row should not each spin up a BLAS pool, fewer threads
            # reserve less of the address space the memory limit counts, and a fork server must have
            # no other thread when it forks.
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _spawn_directly(config: dict, child_ends: list[int], tmp: str) -> subprocess.Popen:
    req_r, rep_w, out_w = child_ends
    config = {**config, "request": req_r, "reply": rep_w}
    return subprocess.Popen(
        [sys.executable, "-I", str(CHILD), json.dumps(config)],
        stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, cwd=tmp, env=_environment(tmp),
        pass_fds=(req_r, rep_w), start_new_session=True)


# ---- the fork server -------------------------------------------------------------------------------
class _ZygoteGone(Exception):
    """The fork server is dead, or did not answer in time (it is killed then)."""


class _Zygote:
    """This process's end of its fork server (see _sandbox_zygote.py for the other end)."""

    MESSAGE_SIZE = 1 << 16
    REPLY_WAIT = 15.0

    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(ZYGOTE), str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
                env=_environment(tempfile.gettempdir()), start_new_session=True)
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.sock = mine
        self.owner = os.getpid()
        self.lock = threading.RLock()
        self.exits: dict[int, int | None] = {}    # pid -> exit status, for children that exited
        self.replies: dict[int, dict] = {}
        self.hello = False
        self.dead = False
        self.next_id = 0
        deadline = time.monotonic() + START_BUDGET
        while not self.hello:
            if not self._pump(deadline - time.monotonic()) and not self.hello:
                self.stop()
                raise _ZygoteGone("the fork server did not start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        with self.lock:
            if not self.dead:
                self._pump(0)
            if not self.dead and self.proc.poll() is not None:
                self._pump(0)  # what it said before it died
                self.dead = True
            return not self.dead

    def spawn(self, config: dict, fds: list[int]) -> int:
        reply = self._ask({"op": "spawn", "config": config}, fds)
        if reply.get("event") != "spawned" or type(reply.get("pid")) is not int:
            raise _ZygoteGone(str(reply.get("message", "the fork server could not fork")))
        return reply["pid"]

    def release(self, pid: int) -> int | None:
        """Have the child's group killed and the child reaped; its exit status if it had exited.

        Not waited for: the fork server kills the group before it reaps the child (so the group id
        cannot have been reused), and a process that was sent SIGKILL runs no more code.
        """
        with self.lock:
            if self.dead:
                raise _ZygoteGone("the fork server is dead")
            self._pump(0)
            try:
                socket.send_fds(self.sock, [json.dumps({"op": "release", "id": 0, "pid": pid}).encode()], [])
            except OSError:
                self.dead = True
                raise _ZygoteGone("the fork server is gone") from None
            return self.exits.pop(pid, None)

    def stop(self) -> None:
        """Close our end: the fork server then kills its children, cleans up and exits."""
        with self.lock:
            self.dead = True
            with contextlib.suppress(OSError):
                self.sock.close()
            if self.owner == os.getpid():
                with contextlib.suppress(OSError):
                    self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=KILL_WAIT)

    def _ask(self, message: dict, fds: list[int]) -> dict:
        with self.lock:
            if self.dead:
                raise _ZygoteGone("the fork server is dead")
            self.next_id += 1
            ask = message["id"] = self.next_id
            try:
                socket.send_fds(self.sock, [json.dumps(message).encode()], fds)
            except OSError:
                self.dead = True
                raise _ZygoteGone("the fork server is gone") from None
            deadline = time.monotonic() + self.REPLY_WAIT
            while ask not in self.replies:
                left = deadline - time.monotonic()
                if self.dead or left <= 0:
                    self.stop()  # a fork server that does not answer is of no use: kill it
                    raise _ZygoteGone("the fork server did not answer")
                self._pump(left)
            return self.replies.pop(ask)

    def _pump(self, timeout: float) -> bool:
        """Read what the fork server said, waiting up to `timeout` s for the first message."""
        if self.dead:
            return False
        try:
            ready = select.select([self.sock], [], [], max(0.0, timeout))[0]
        except (OSError, ValueError):
            ready = []
        got = False
        while ready:
            try:
                data = self.sock.recv(self.MESSAGE_SIZE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                self.dead = True
                break
            got = True
            try:
                message = json.loads(data)
            except ValueError:
                continue
            event = message.get("event")
            if event == "hello":
                self.hello = True
            elif event == "exit" and type(message.get("pid")) is int:
                status = message.get("status")
                self.exits[message["pid"]] = status if type(status) is int else None
            elif type(message.get("id")) is int and message["id"] > 0:  # not a release's: nobody waits
                self.replies[message["id"]] = message
        return got


_ZYGOTE: _Zygote | None = None
_ZYGOTE_LOCK = threading.Lock()
_ZYGOTE_FAILED = -math.inf  # when starting one last failed (time.monotonic())


def _zygote() -> _Zygote | None:
    """This process's fork server, started on first use and again after it died; None if it cannot."""
    global _ZYGOTE, _ZYGOTE_FAILED
    with _ZYGOTE_LOCK:
        zygote = _ZYGOTE
        if zygote is not None and zygote.owner == os.getpid() and zygote.alive():
            return zygote
        if zygote is not None and zygote.owner == os.getpid():
            zygote.stop()
        _ZYGOTE = None
        if time.monotonic() - _ZYGOTE_FAILED < ZYGOTE_RETRY:
            return None
        try:
            _ZYGOTE = _Zygote()
        except (OSError, _ZygoteGone):
            _ZYGOTE_FAILED = time.monotonic()
            return None
        return _ZYGOTE


def _forget_zygote_after_fork() -> None:
    # A forked worker must not talk over its parent's socket (the replies would go astray) nor keep
    # the parent's fork server alive by holding that socket: it closes its copy and starts its own.
    global _ZYGOTE, _ZYGOTE_LOCK
    zygote, _ZYGOTE = _ZYGOTE, None
    _ZYGOTE_LOCK = threading.Lock()
    if zygote is not None:
        zygote.dead = True
        zygote.lock = threading.RLock()
        with contextlib.suppress(OSError):
            zygote.sock.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_zygote_after_fork)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+
        return None


def _pidfd_exited(pidfd: int | None, pid: int) -> bool:
    if pidfd is not None:
        return bool(select.select([pidfd], [], [], 0)[0])
    status = _read_status(pid)
    return not status or status.get("State") in ("Z", "X")


def _pidfd_kill(pidfd: int | None) -> None:
    if pidfd is not None:
        with contextlib.suppress(OSError, AttributeError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)


# ---- users ---------------------------------------------------------------------------------------------
def _other_users() -> bool:
    """True when each child runs as a user of its own: the grader is root and USER_IDS is set."""
    return USER_IDS is not None and os.geteuid() == 0


class _UserLease:
    """One uid of USER_IDS, held (flock on a lock file in a root-only folder) while a child uses it.

    The lock goes with the process, so a grader killed outright frees its uids; the next lease of
    a uid first kills whatever that uid still runs (a grandchild left behind by then).
    """

    _taken: set[int] = set()  # uids of real users or groups, found in passwd or group: never used

    def __init__(self, uid: int, fd: int):
        self.uid, self.fd = uid, fd

    @classmethod
    def acquire(cls) -> _UserLease:
        assert USER_IDS is not None
        folder = _lock_folder()
        ids = USER_IDS
        for uid in ids:  # the lowest free one: the same few are reused, their lock files say "clean"
            if uid in cls._taken or _known_id(uid):
                cls._taken.add(uid)
                continue
            fd = os.open(os.path.join(folder, str(uid)), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600)
            try:
                import fcntl
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            # "clean": its last holder saw every process of it dead.  Otherwise (a grader killed
            # outright) whatever that uid still runs goes now.
            if os.pread(fd, 5, 0) != b"clean":
                _kill_user(uid)
                _remove_files_of(uid)
            # A zombie of this uid not yet reaped by init still counts toward RLIMIT_NPROC: a
            # uid with any process left waits for a later lease.
            if any(status.get("Uid") == uid for _, status in _processes()):
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                continue
            os.pwrite(fd, b"inuse", 0)
            return cls(uid, fd)
        raise OSError(f"every user id of {ids.start}-{ids.stop - 1} is in use by a sandbox")

    def release(self, clean: bool = False) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                if clean:
                    os.pwrite(self.fd, b"clean", 0)
                import fcntl
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            _close(self.fd)
            self.fd = -1


def _known_id(uid: int) -> bool:
    import grp
    import pwd
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
        except KeyError:
            continue
        return True
    return False


def _lock_folder() -> str:
    for folder in UID_LOCKS:
        with contextlib.suppress(FileExistsError):
            try:
                os.mkdir(folder, 0o700)
            except OSError as exc:
                if not isinstance(exc, FileExistsError):
                    continue
        with contextlib.suppress(OSError):
            info = os.lstat(folder)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022:
                return folder
    raise OSError(f"no root-only folder for the sandbox's user id locks (tried {', '.join(UID_LOCKS)})")


def _kill_user(uid: int, spare: int | None = None) -> bool:
    """SIGKILL every process of `uid` (never 0, never ours) and wait until they are gone; True if they are.

    Through a pidfd where possible, checking the uid after opening it, so that a pid reused in the
    meantime is never signalled.  A process sent SIGKILL runs no more code (a fork it was making is
    aborted), so once a look at /proc finds none but those, none can appear.  Waiting for them to be
    gone (reaped: a zombie still counts toward RLIMIT_NPROC) leaves the next sandbox of this uid all
    of its NPROC; `spare` (the child, which its own parent reaps) is not waited for.
    """
    if uid <= 0 or uid == os.getuid() or uid == os.geteuid():
        return False
    deadline = time.monotonic() + KILL_WAIT
    killed: set[int] = set()
    while True:
        found = [pid for pid, status in _processes()
                 if status.get("Uid") == uid and status.get("State") not in ("Z", "X") and pid not in killed]
        if not found:
            break
        if time.monotonic() >= deadline:
            return False
        killed.update(found)
        for pid in found:
            pidfd = _pidfd(pid)
            if _read_status(pid).get("Uid") == uid:
                if pidfd is not None:
                    _pidfd_kill(pidfd)
                else:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            if pidfd is not None:
                _close(pidfd)
    if spare is not None:
        killed.discard(spare)
    while killed:
        killed = {pid for pid in killed if _read_status(pid).get("Uid") == uid}
        if killed and time.monotonic() >= deadline:
            return False
        if killed:
            time.sleep(0.001)
    return True


SHARED_FOLDERS = (tempfile.gettempdir(), "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")


def _remove_files_of(uid: int) -> None:
    """Remove what `uid` left in the folders everybody may write (its processes are dead by now)."""
    if uid <= 0 or uid == os.getuid():
        return
    for folder in dict.fromkeys(SHARED_FOLDERS):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    _rmtree(entry.path)  # shutil.rmtree follows no link: fd-based where the OS allows
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


# ---- /proc ---------------------------------------------------------------------------------------------
_STATUS_FIELDS = re.compile(rb"^(State|Uid|NSsid|VmRSS|RssAnon|RssShmem):\s+(\S+)", re.MULTILINE)


def _read_status(pid: int) -> dict[str, Any]:
    """State, real Uid, NSsid (session) and the memory fields (in bytes) of /proc/<pid>/status."""
    try:
        with open(f"/proc/{pid}/status", "rb") as file:
            data = file.read()
    except OSError:
        return {}
    fields: dict[str, Any] = {}
    for key, value in _STATUS_FIELDS.findall(data):
        if key == b"State":
            fields["State"] = value.decode()
        elif key.startswith((b"Vm", b"Rss")):
            fields[key.decode()] = int(value) * 1024
        else:
            fields[key.decode()] = int(value)  # Uid: the real one, NSsid: the innermost
    return fields


def _processes():
    """(pid, status fields) of every process on the machine (that /proc shows)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if name.isdigit():
            status = _read_status(int(name))
            if status:
                yield int(name), status


def _private_memory(pid: int, status: dict) -> int:
    """Memory a process adds of its own: its proportional share of anonymous and shared memory
    (a forked grandchild shares most of its pages with the child), else its anonymous resident size."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as file:
            data = file.read()
        total = 0
        found = False
        for line in data.split(b"\n"):
            if line.startswith((b"Pss_Anon:", b"Pss_Shmem:")):
                total += int(line.split()[1]) * 1024
                found = True
        if found:
            return total
    except (OSError, ValueError, IndexError):
        pass
    return status.get("RssAnon", 0) + status.get("RssShmem", 0)


# ---- the grader's own process -----------------------------------------------------------------------
_HARDENED: int | None = None  # the pid that made itself non-dumpable


def _harden_this_process() -> None:
    """PR_SET_DUMPABLE 0: no other process of our user may read or write our memory or fds, or ptrace us.

    It only changes who may look into this process (and that it leaves no core file); Python runs
    on as before, and so do the children, which exec a fresh interpreter or are forked by the fork
    server.  Forked workers inherit it.
    """
    global _HARDENED
    if os.getpid() == _HARDENED or not sys.platform.startswith("linux"):
        return
    _HARDENED = os.getpid()
    with contextlib.suppress(Exception):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE


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
            parts = _npy(arg)
            blobs += parts
            specs.append(["a", sum(len(part) for part in parts)])
        elif isinstance(arg, (bool, int, np.integer)):
            specs.append(["i", int(arg) if not isinstance(arg, bool) else arg])
        elif isinstance(arg, (float, np.floating)):
            specs.append(["f", float(arg)])
        else:
            raise TypeError(f"cannot pass {type(arg).__name__} to the sandbox: arrays, ints and floats only")
    return specs, blobs


def _npy(array: np.ndarray) -> list:
    """The .npy file np.save would write for a numeric array, as buffers for os.writev (the data not copied)."""
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    header = f"{{'descr': {array.dtype.str!r}, 'fortran_order': {fortran!r}, 'shape': {array.shape!r}, }}"
    header += " " * (63 - (_NPY_PREAMBLE.size + len(header)) % 64) + "\n"  # aligned to 64, as np.save does
    data = array.reshape(-1, order="F" if fortran else "C").view(np.uint8)
    return [_NPY_PREAMBLE.pack(b"\x93NUMPY", 1, 0, len(header)) + header.encode("latin1"), data]


# The header np.save writes for a numeric array, and nothing else: anything the child could only
# have crafted (object or structured dtypes, odd spellings, an oversized header) is refused before
# anything is allocated from it.
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|][biufc][0-9]{1,2})', 'fortran_order': (True|False), "
                         rb"'shape': \(((?:[0-9]{1,19}(?:, [0-9]{1,19}){0,63},?)?)\), \} *\n")
_NPY_PREAMBLE = struct.Struct("<6sBBH")  # magic, major, minor, header length (version 1.0)


def _decode_array(blob: memoryview | bytes) -> np.ndarray:
    """The one array of an .npy blob from the child, or ValueError if it is anything but numbers.

    Only the header np.save writes for a plain numeric array is accepted (np.load is not used: an
    object array would be unpickled, and unpickling is running code the child chose); the numbers
    are copied out of the blob, in native byte order, into an array of the caller's own.
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
    shape = tuple(int(n) for n in match[3].split(b",") if n.strip())
    count = math.prod(shape)
    if dtype.kind not in NUMERIC_KINDS or offset + count * dtype.itemsize != len(blob):
        raise ValueError("the array's data does not match its header")
    fortran = match[2] == b"True"
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset) if count else np.empty(0, dtype)
    array = flat.reshape(shape, order="F" if fortran else "C")
    return array.astype(dtype.newbyteorder("="), order="K", copy=True)  # never a view of the blob


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


def _check_file(path: Path, copied: bool) -> Path:
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if path.suffix != ".py":
        raise LoadError(f"{path.name}: not a Python file (expected a .py file)")
    if not path.is_file():
        raise LoadError(f"{path}: not a file")
    # A file the child copies as root is named as given: a symbolic link there is refused by the
    # copy, which never follows one (a student's upload could link hw4.py to the key).
    return Path(os.path.abspath(path)) if copied else path.resolve()


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
    """Remove a directory tree the candidate had the run of, whatever modes it left (chmod 0 folders):
    `_sandbox_child._remove_tree`, the one removal that parent and child both use."""
    _child_module()._remove_tree(path)


@functools.cache
def _child_module():
    """_sandbox_child.py loaded by its path, as the fork server loads it: it may not import this
    package, and this file is also loaded on its own (in a test), so neither imports the other by name."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("_sandbox_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
