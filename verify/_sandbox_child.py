"""Child side of verify.sandbox: load one untrusted Python file and run its functions on request.

Run by the parent as a script, never imported:

    python -I _sandbox_child.py REQUEST_FD REPLY_FD MEMORY_BYTES /abs/path/student.py

It deliberately imports only the standard library and numpy, and never the `verify` package: the
candidate runs in this process and may rewrite anything in it, so nothing here may matter to the
verdict.  The parent treats every byte coming from this process as hostile and validates it; this
script is only the cooperative path that turns what the candidate does into well-formed replies.

Protocol (both directions): frames of HEAD = <4sII> (magic, meta length, blob length), then a JSON
object, then a blob of concatenated .npy files (written with np.save, read with allow_pickle=False).
Replies echo the request's "seq".  Before loading the file the child sends a "ready" frame (so that
interpreter and numpy start-up are not charged to the candidate's load budget), then the outcome
of loading it; afterwards it answers "function" and "call" requests one at a time.
"""
import contextlib
import json
import os
import resource
import select
import signal
import struct
import sys
import threading
from typing import NoReturn

import numpy as np

MAGIC = b"SBX1"
HEAD = struct.Struct("<4sII")
MAX_META = 1 << 20
MAX_BLOB = 256 << 20
MAX_MESSAGE = 1000
MODULE_NAME = "_candidate"
NUMERIC_KINDS = "biufc"

# Taken before the candidate runs, so that rebinding os.write or np.save in its module does not
# change how this script talks to the parent (the parent would survive it, but answers would be lost).
_write, _writev, _dumps, _loads = os.write, os.writev, json.dumps, json.loads
_save, _load, _asarray = np.save, np.load, np.asarray


def main(argv: list[str]) -> None:
    request_fd, reply_fd, memory = int(argv[1]), int(argv[2]), int(argv[3])
    path = argv[4]
    # Grandchildren started with exec must not hold the protocol pipes: a lingering one would keep
    # the reply pipe open after this process dies and hide the death from the parent.
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    sys.dont_write_bytecode = True  # no __pycache__ in the student's folder
    sys.argv = [path]
    _watch_parent(request_fd)  # first: its stack and malloc arena must not come out of `memory`
    _limit_memory(memory)
    channel = _Channel(request_fd, reply_fd)
    channel.send({"seq": 0, "status": "ready"})
    module = _load_candidate(channel, path)
    while True:
        meta, blob = channel.receive()
        op, seq = meta["op"], meta["seq"]
        if op == "function":
            reply = _check_function(module, path, meta["name"], meta["arity"])
            _flush_output()
            channel.send({"seq": seq, **reply})
        elif op == "call":
            reply, payload = _call(module, path, meta, blob)
            _flush_output()
            channel.send({"seq": seq, **reply}, payload)
        else:
            raise ValueError(f"unknown request {op!r}")


class _Channel:
    """Blocking framed I/O on the two protocol pipes (the parent is trusted on this side)."""

    def __init__(self, request_fd: int, reply_fd: int):
        self.request_fd, self.reply_fd = request_fd, reply_fd
        self.spare = bytearray()  # one request buffer for all calls: fresh ones cost page faults

    def send(self, meta: dict, blob: list | None = None) -> None:
        text = _dumps(meta).encode()
        blob = blob or []
        parts = [HEAD.pack(MAGIC, len(text), sum(map(len, blob))), text, *blob]
        written = _writev(self.reply_fd, parts)
        rest = memoryview(b"".join(parts))[written:] if written < sum(map(len, parts)) else b""
        while rest:  # a blocking pipe writes everything at once unless a signal interrupts it
            rest = rest[_write(self.reply_fd, rest):]

    def receive(self) -> tuple[dict, memoryview]:
        magic, meta_len, blob_len = HEAD.unpack(bytes(self._exact(HEAD.size)))
        if magic != MAGIC or meta_len > MAX_META or blob_len > MAX_BLOB:
            raise ValueError("bad request frame")
        body = self._exact(meta_len + blob_len)
        return _loads(bytes(body[:meta_len])), body[meta_len:]

    def _exact(self, n: int) -> memoryview:
        if n > len(self.spare):
            self.spare = bytearray(n)
        view, got = memoryview(self.spare)[:n], 0
        while got < n:
            chunk = os.readv(self.request_fd, [view[got:]])
            if chunk == 0:  # the parent closed the pipe: it is gone or done with us
                os._exit(0)
            got += chunk
        return view


def _limit_memory(memory: int) -> None:
    """Cap the address space at what python + numpy already use plus `memory` bytes.

    Measured after importing numpy because numpy and OpenBLAS reserve address space they do not
    use; a fixed cap of `memory` would leave the candidate much less than it was promised.  The
    parent also watches the resident size, because root can raise its own hard limit again.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfaulting candidate leaves no core file
    try:
        with open("/proc/self/status") as status:
            used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        used = 0
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + memory
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _watch_parent(request_fd: int) -> None:
    """Kill this process group when the parent dies, even in the middle of an endless candidate.

    The parent holds the only write end of the request pipe, so the kernel reports POLLHUP on the
    read end exactly when the parent has exited (however it exited, SIGKILL included).  An event
    mask of 0 asks for nothing but hang-ups, so requests arriving do not wake this thread.  A parent
    killed outright has not removed the temporary directory either: do that first.
    """
    home = os.getcwd()  # the parent's fresh temporary directory, before the candidate can chdir

    def watch() -> None:
        poller = select.poll()
        poller.register(request_fd, 0)
        started.set()
        while not poller.poll():
            pass
        try:
            if os.path.basename(home).startswith("verify-sandbox-"):
                import shutil  # here, not at start-up: rarely needed
                shutil.rmtree(home, ignore_errors=True)
        finally:  # even if the candidate left no memory to import shutil with
            os.killpg(os.getpgrp(), signal.SIGKILL)

    started = threading.Event()
    threading.Thread(target=watch, name="sandbox-lifeline", daemon=True).start()
    started.wait()


def _load_candidate(channel: _Channel, path: str):
    folder = os.path.dirname(path)
    here = os.path.dirname(os.path.abspath(__file__))
    # Python 3.10's -I still puts this script's folder (verify/) first; the candidate must see its
    # own folder instead, so that `import helpers` next to student.py works.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, folder)
    name = os.path.basename(path)
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        _fail_load(channel, f"{name}: cannot read the file: {exc.strerror or exc}")
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = f":{exc.lineno}" if exc.lineno else ""
        _fail_load(channel, f"{name}{line}: {type(exc).__name__}: {exc.msg}")
    except Exception as exc:  # null bytes (ValueError on 3.11), nesting too deep (RecursionError)...
        _fail_load(channel, f"{name}: {type(exc).__name__}: {_text(exc)}")
    import importlib.util
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        _fail_load(channel, f"{name}: not a Python module")
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # dataclasses and typing look their module up there
    try:
        exec(code, module.__dict__)
    except MemoryError:
        _flush_output()
        channel.send({"seq": 0, "status": "memory"})
        os._exit(0)
    except ImportError as exc:  # ModuleNotFoundError too: the grader wants to read "ImportError"
        _fail_load(channel, f"{name}: ImportError: {_text(exc)}")
    except BaseException as exc:  # SystemExit and KeyboardInterrupt at import make the file unusable too
        _fail_load(channel, f"{name}{_where(exc, path)}: {type(exc).__name__} at import{_colon(exc)}")
    _flush_output()
    channel.send({"seq": 0, "status": "loaded"})
    return module


def _fail_load(channel: _Channel, message: str) -> NoReturn:
    _flush_output()
    channel.send({"seq": 0, "status": "load_error", "message": message[:MAX_MESSAGE]})
    os._exit(0)  # the parent has nothing more to ask; it kills the group (grandchildren too)


def _check_function(module, path: str, name: str, arity: int) -> dict:
    """{"status": "ok"} if module.name can be called with `arity` positional arguments."""
    file = os.path.basename(path)
    try:
        function = getattr(module, name)
    except AttributeError:
        return _function_error(f"{file} has no function {name!r}")
    except BaseException as exc:  # a module-level __getattr__ can raise anything
        return _function_error(f"{file}: looking up {name!r} raised {type(exc).__name__}{_colon(exc)}")
    if not callable(function):
        return _function_error(f"{file}: {name!r} is not a function (it is {_a(_type_name(function))})")
    import inspect
    try:
        signature = inspect.signature(function)
    except BaseException:  # builtins such as ufuncs may have no signature: call them as they are
        return {"status": "ok"}
    parameters = signature.parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    keyword_only = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    shown = f"{file}: {name}{signature}"
    if len(required) > arity:
        return _function_error(f"{shown} requires {len(required)} positional arguments, "
                               f"but it is called with {arity}")
    if len(positional) < arity and not varargs:
        return _function_error(f"{shown} takes {len(positional)} positional arguments, "
                               f"but it is called with {arity}")
    if keyword_only:
        return _function_error(f"{shown} has the required keyword-only argument {keyword_only[0]!r}, "
                               f"but it is called with {arity} positional arguments only")
    return {"status": "ok"}


def _function_error(message: str) -> dict:
    return {"status": "function_error", "message": message[:MAX_MESSAGE]}


_checked: set[tuple[str, int]] = set()


def _call(module, path: str, meta: dict, blob: memoryview) -> tuple[dict, list | None]:
    """Run one call; return the reply and its blob.  Every failure is the candidate's verdict."""
    name = meta["name"]
    args: list = []
    at = 0
    try:
        for kind, value in meta["args"]:
            if kind == "a":  # a fresh array per call: what the candidate did to the last one is gone
                args.append(_load(_Reader(blob[at:at + value]), allow_pickle=False))
                at += value
            else:
                args.append(value)
    except MemoryError:  # the candidate may keep so much alive that the arguments no longer fit
        return {"status": "memory"}, None
    # The engine asks function() first; checking here too (once per name and arity) keeps a missing
    # or mis-declared function a FunctionError rather than a TypeError charged to the candidate.
    if (name, len(args)) not in _checked:
        verdict = _check_function(module, path, name, len(args))
        if verdict["status"] != "ok":
            return verdict, None
        _checked.add((name, len(args)))
    try:
        result = getattr(module, name)(*args)
    except MemoryError:
        return {"status": "memory"}, None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: a verdict, not an exit
        return _raised(f"the candidate raised {type(exc).__name__}{_colon(exc)}{_at(exc, path)}"), None
    try:
        array = _asarray(result)
    except MemoryError:
        return {"status": "memory"}, None
    except BaseException as exc:
        if isinstance(result, (list, tuple)) and isinstance(exc, ValueError):
            return _raised("the candidate returned a ragged nested list that is not an array"), None
        return _raised(f"the candidate returned {_a(_type_name(result))} that cannot be converted to an "
                       f"array: {type(exc).__name__}{_colon(exc)}"), None
    dtype = array.dtype
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        return _raised(f"the candidate returned {_describe(result, dtype)}, not a numeric array"), None
    if array.nbytes > MAX_BLOB - 4096:
        return _raised(f"the candidate returned an array of {array.nbytes >> 20} MiB; "
                       f"the sandbox accepts at most {MAX_BLOB >> 20} MiB"), None
    try:
        npy = _Parts()
        _save(npy, array, allow_pickle=False)
    except MemoryError:
        return {"status": "memory"}, None
    except BaseException as exc:
        return _raised(f"the candidate's result could not be sent: {type(exc).__name__}{_colon(exc)}"), None
    return {"status": "ok"}, npy.parts


class _Reader:
    """A read-only file over a buffer, for np.load: saves copying the request into a BytesIO."""

    def __init__(self, view: memoryview):
        self.view, self.pos = view, 0

    def read(self, n: int | None = -1) -> bytes:
        end = len(self.view) if n is None or n < 0 else min(len(self.view), self.pos + n)
        data = bytes(self.view[self.pos:end])
        self.pos = end
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = min(max(0, (0, self.pos, len(self.view))[whence] + offset), len(self.view))
        return self.pos

    def tell(self) -> int:
        return self.pos


class _Parts:
    """A write-only file for np.save that keeps the pieces for os.writev instead of joining them."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)


def _raised(message: str) -> dict:
    return {"status": "raised", "message": message[:MAX_MESSAGE]}


def _describe(result, dtype: np.dtype) -> str:
    if result is None:
        return "None"
    if isinstance(result, (str, bytes)):
        return "a string"
    if dtype.kind == "O":
        return f"{_a(_type_name(result))} (an array of dtype object)"
    if dtype.kind in "US":
        return f"text (dtype {dtype})"
    return f"dtype {dtype}"


def _type_name(value) -> str:
    return type(value).__name__


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except BaseException:  # a candidate's exception can make str() itself raise
        return f"<unprintable {type(exc).__name__}>"


def _colon(exc: BaseException) -> str:
    text = _text(exc)
    return f": {text}" if text else ""


def _line(exc: BaseException, path: str) -> int | None:
    """The last line of the student's own file in the traceback (not numpy's, not a helper's)."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _where(exc: BaseException, path: str) -> str:
    line = _line(exc, path)
    return f":{line}" if line else ""


def _at(exc: BaseException, path: str) -> str:
    line = _line(exc, path)
    return f" ({os.path.basename(path)}:{line})" if line else ""


def _flush_output() -> None:
    # Output goes to a pipe, so it is block-buffered: flush before replying so that the parent finds
    # it in the pipe by the time the reply arrives.  The candidate may have closed or replaced them.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


if __name__ == "__main__":
    main(sys.argv)
