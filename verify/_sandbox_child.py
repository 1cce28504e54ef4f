"""Child side of verify.sandbox: load one untrusted Python file and run its functions on request.

Run by the parent as a script (the direct start), or called in a process forked by the fork server
`_sandbox_zygote.py` (which loads this file by its path); never imported as part of a package:

    python -I _sandbox_child.py CONFIG_JSON        # direct start
    run(config)                                    # in a child of the fork server

CONFIG_JSON holds the two protocol fds ("request", "reply"), the memory limit in bytes ("memory"),
the candidate's file ("path"), the fresh temporary directory this process runs in ("home"), and,
when the grader runs as root, the unprivileged "uid" and "gid" to run the candidate as and the
process limit of that uid ("nproc").  As root, this process first copies the candidate's folder
into `home` (regular files only, up to COPY_LIMIT bytes), then gives up root for good (setgroups,
setresgid, setresuid, checked), before it loads a single line of the candidate's file.

It deliberately imports only the standard library and numpy, and never the `verify` package: the
candidate runs in this process and may rewrite anything in it, so nothing here may matter to the
verdict.  The parent treats every byte coming from this process as hostile and validates it; this
script is only the cooperative path that turns what the candidate does into well-formed replies.

Protocol (both directions): frames of HEAD = <4sII> (magic, meta length, blob length), then a JSON
object, then a blob of concatenated .npy files (written with np.save, read with allow_pickle=False).
Replies echo the request's "seq".  Before loading the file the child sends a "ready" frame (so that
interpreter and numpy start-up are not charged to the candidate's load budget) or, if it could not
set itself up (give up root, say), a "setup_error" frame; then the outcome of loading the file;
afterwards it answers "function" and "call" requests one at a time.
"""
import contextlib
import errno
import json
import os
import re
import resource
import select
import signal
import stat
import struct
import sys
import threading
from typing import NoReturn

_HERE = os.path.dirname(os.path.abspath(__file__))
# Python 3.10's -I still puts this script's folder (verify/) first on the path: nothing of the
# project may be importable from here (numpy importing a module named like one of ours, or the
# candidate importing `grade`), so it goes before anything else is imported.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import numpy as np  # noqa: E402

MAGIC = b"SBX1"
HEAD = struct.Struct("<4sII")
MAX_META = 1 << 20
MAX_BLOB = 256 << 20
MAX_MESSAGE = 1000
MODULE_NAME = "_candidate"
NUMERIC_KINDS = "biufc"
SANDBOX_PREFIX = "verify-sandbox-"   # the parent's temporary directories, the only ones removed here
COPY_FOLDER = "src"                  # where the candidate's folder is copied, under the temporary directory
COPY_LIMIT = 20 << 20                # bytes of the candidate's folder copied at most
COPY_FILES = 1000                    # files copied at most
COPY_DEPTH = 4                       # folders below the candidate's own that are copied
PR_SET_NO_NEW_PRIVS = 38

# Taken before the candidate runs, so that rebinding os.write or np.save in its module does not
# change how this script talks to the parent (the parent would survive it, but answers would be lost).
_write, _writev, _dumps, _loads = os.write, os.writev, json.dumps, json.loads
_load, _asarray = np.load, np.asarray
_frombuffer, _contiguous, _dtype, _uint8 = np.frombuffer, np.ascontiguousarray, np.dtype, np.uint8
_HEADER = re.compile(rb"\{'descr': '([<>|][biufc][0-9]{1,2})', 'fortran_order': (True|False), "
                     rb"'shape': \(((?:[0-9]{1,19}(?:, [0-9]{1,19}){0,63},?)?)\), \} *\n")
_PREAMBLE = struct.Struct("<6sBBH")


def main(argv: list[str]) -> None:
    run(json.loads(argv[1]))


def run(config: dict) -> NoReturn:
    """Everything this process does, from its first instruction to its exit (it never returns)."""
    request_fd, reply_fd = config["request"], config["reply"]
    # Grandchildren started with exec must not hold the protocol pipes: a lingering one would keep
    # the reply pipe open after this process dies and hide the death from the parent.
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    sys.dont_write_bytecode = True  # no __pycache__ in the student's folder
    channel = _Channel(request_fd, reply_fd)
    home, path, uid = config["home"], config["path"], config.get("uid")
    problem = None  # what is wrong with the candidate's folder: a load error, once the parent listens
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfaulting candidate leaves no core file
        if uid is not None:
            path, problem = _copy_candidate(path, os.path.join(home, COPY_FOLDER), uid, config["gid"])
            _keep_libraries_reachable()
            _drop_privileges(uid, config["gid"], config["nproc"])
        _prctl(PR_SET_NO_NEW_PRIVS, 1)  # a set-user-ID program (su, mount...) gives the candidate nothing
    except Exception as exc:  # never run the candidate half set up (as root, above all)
        channel.send({"seq": 0, "status": "setup_error", "message": f"{type(exc).__name__}: {_text(exc)}"})
        os._exit(1)
    _watch_parent(request_fd, home, uid is not None)  # first: its stack must not come out of `memory`
    _limit_memory(config["memory"])
    # A file in /dev/shm is memory the watch does not see: no file may grow past the memory limit
    # (a write beyond it fails with EFBIG instead of killing the process with SIGXFSZ).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (config["memory"], config["memory"]))
    channel.send({"seq": 0, "status": "ready"})
    if problem is not None:
        _fail_load(channel, problem)
    sys.argv = [path]
    # The global random generators start from one fixed state in every child (a fork of the server
    # would otherwise inherit its state, a fresh process draw one), so that a candidate that uses
    # them gives the same answers whenever the grader repeats a run with --seed.
    import random
    random.seed(0)
    np.random.seed(0)
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


# ---- running as another user (the grader is root) ------------------------------------------------
def _copy_candidate(path: str, target: str, uid: int, gid: int) -> tuple[str, str | None]:
    """Copy the candidate's folder to `target`, owned by `uid`; return the copy of `path` and a problem.

    Done as root, for a candidate that will not be root: its own folder may be closed to it (mode
    0700, or somewhere under /root), and it must still find its file and import its siblings.  Besides
    the candidate's file, which the grader handed over, only what everybody may read goes: regular
    files readable by others and folders others may list and enter (a 0600 key or another student's
    0700 folder beside it stays out); no symbolic link is followed (a link to the key would hand it
    over).  Breadth first, the candidate's file before anything else, up to COPY_LIMIT bytes and
    COPY_FILES files; what does not fit is left out.  The problem is a load error to report, e.g.
    the file is a link.
    """
    name = os.path.basename(path)
    os.mkdir(target, 0o700)
    os.chown(target, uid, gid)
    copy = os.path.join(target, name)
    try:
        left = COPY_LIMIT - _copy_file(path, copy, uid, gid, COPY_LIMIT)
    except _NotCopied as exc:
        return copy, f"{name}: {exc}"
    files = 1
    queue = [(os.path.dirname(path), target, 0)]
    while queue:
        source, destination, depth = queue.pop(0)
        try:
            with os.scandir(source) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if files >= COPY_FILES:
                return copy, None
            there = os.path.join(destination, entry.name)
            if entry.name == "__pycache__" or (depth == 0 and entry.name == name):
                continue
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
                if mode & _OPEN_TO_OTHERS[stat.S_ISDIR(mode)] != _OPEN_TO_OTHERS[stat.S_ISDIR(mode)]:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth < COPY_DEPTH:
                        os.mkdir(there, 0o700)
                        os.chown(there, uid, gid)
                        queue.append((entry.path, there, depth + 1))
                elif entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_size <= left:
                    left -= _copy_file(entry.path, there, uid, gid, left)
                    files += 1
            except (OSError, _NotCopied):
                continue
    return copy, None


# what a file (False) or a folder (True) must grant every user to be copied for the candidate
_OPEN_TO_OTHERS = {False: stat.S_IROTH, True: stat.S_IROTH | stat.S_IXOTH}


class _NotCopied(Exception):
    pass


def _copy_file(source: str, target: str, uid: int, gid: int, limit: int) -> int:
    """Copy one regular file (never through a link, never blocking on a FIFO); return its size."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _NotCopied("a symbolic link: the sandbox only loads regular files") from None
        raise _NotCopied(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _NotCopied("not a regular file")
        if info.st_size > limit:
            raise _NotCopied(f"too large ({info.st_size} bytes; the sandbox copies at most {limit})")
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.fchown(out, uid, gid)
            size = 0
            while size <= limit:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                os.write(out, chunk)
                size += len(chunk)
            os.fchmod(out, 0o700 if info.st_mode & stat.S_IXUSR else 0o600)
        finally:
            os.close(out)
        return size
    finally:
        os.close(fd)


def _keep_libraries_reachable() -> None:
    """Keep the import path usable once root is gone, where it lies under a folder closed to others.

    Python installed in root's home (pyenv in /root, mode 0700) is common on CI machines: the
    candidate's user could not import a single module of the standard library that is not loaded
    yet.  Each such entry of sys.path (and of the loaded packages' __path__) is opened now, as
    root, and named /proc/self/fd/N from then on: the kernel checks the folder itself, readable by
    everybody, and not the closed folder above it, so this opens the library and nothing else.
    """
    moved: dict[str, str] = {}
    for entry in sys.path:
        path = os.path.abspath(entry or ".")
        if path in moved or path.startswith("/proc/") or not os.path.isdir(path) or _open_to_others(path):
            continue
        if _open_to_others(path, only_itself=True):
            moved[path] = f"/proc/self/fd/{os.open(path, os.O_RDONLY | os.O_DIRECTORY)}"
    if not moved:
        return

    def move(entry: str) -> str:
        for old, new in moved.items():
            if entry == old or entry.startswith(old + os.sep):
                return new + entry[len(old):]
        return entry

    sys.path[:] = [move(entry) for entry in sys.path]
    for module in list(sys.modules.values()):
        # vars(), not getattr(): a module's __getattr__ (scipy's lazy submodules) is slow, and its business
        paths = getattr(module, "__dict__", {}).get("__path__")
        if isinstance(paths, list) and any(isinstance(p, str) and move(p) != p for p in paths):
            paths[:] = [move(p) if isinstance(p, str) else p for p in paths]
    sys.path_importer_cache.clear()


def _open_to_others(path: str, only_itself: bool = False) -> bool:
    """Whether a user with no claim on `path` (not its owner, in none of its groups) can list it."""
    real = os.path.realpath(path)
    try:
        if not os.stat(real).st_mode & stat.S_IROTH:
            return False
        folders = [real] if only_itself else [real, *(p for p in _ancestors(real))]
        return all(os.stat(folder).st_mode & stat.S_IXOTH for folder in folders)
    except OSError:
        return False


def _ancestors(path: str):
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return
        yield parent
        path = parent


def _drop_privileges(uid: int, gid: int, nproc: int) -> None:
    """Become `uid`:`gid` with no supplementary group, for good, and check that root is gone."""
    if uid <= 0 or gid <= 0:
        raise ValueError(f"refusing to run the candidate as uid {uid}, gid {gid}")
    # Counted per user: this uid's processes (and threads) altogether, grandchildren included.
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise PermissionError("the user and group ids did not change")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise PermissionError("root could be taken back")


def _prctl(option: int, value: int) -> None:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _limit_memory(memory: int) -> None:
    """Cap the address space at what python + numpy already use plus `memory` bytes.

    Measured after importing numpy because numpy and OpenBLAS reserve address space they do not
    use; a fixed cap of `memory` would leave the candidate much less than it was promised.  The
    parent also watches the resident size, because root can raise its own hard limit again.
    """
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


def _watch_parent(request_fd: int, home: str, own_user: bool) -> None:
    """Kill this process group when the parent dies, even in the middle of an endless candidate.

    The parent holds the only write end of the request pipe, so the kernel reports POLLHUP on the
    read end exactly when the parent has exited (however it exited, SIGKILL included).  An event
    mask of 0 asks for nothing but hang-ups, so requests arriving do not wake this thread.  A parent
    killed outright has not removed the temporary directory either: do that first.  Running as a
    user of its own, this process also kills every other process of that user (kill(-1) as that
    user), so that a grandchild which left the group with setsid() dies too.
    """
    def watch() -> None:
        poller = select.poll()
        poller.register(request_fd, 0)
        started.set()
        while not poller.poll():
            pass
        try:
            if own_user and os.getuid() != 0 and os.geteuid() != 0:  # never kill(-1) as root
                with contextlib.suppress(OSError):
                    os.kill(-1, signal.SIGKILL)  # every process of this user but this one
            if os.path.basename(home).startswith(SANDBOX_PREFIX):
                _remove_tree(home)
        finally:  # even if the candidate left no memory for the rest
            os.killpg(os.getpgrp(), signal.SIGKILL)

    started = threading.Event()
    threading.Thread(target=watch, name="sandbox-lifeline", daemon=True).start()
    started.wait()


def _remove_tree(path: str) -> None:
    """Remove a directory tree the candidate had the run of, whatever modes it left (chmod 0 folders).

    A folder that cannot be listed or emptied is unlocked (through an O_PATH fd that follows no
    symbolic link, so that a link can never turn it into a chmod of something else) and the removal
    tried again; nothing outside the tree is ever touched, the folder holding it (/tmp) least of all.
    """
    import shutil  # here, not at start-up: rarely needed

    top = os.path.abspath(path)

    def inside(name: str) -> bool:
        name = os.path.abspath(name)
        return name == top or name.startswith(top + os.sep)

    def unlock(function, name, _info) -> None:
        for folder in (os.path.dirname(name), name):
            if inside(folder):
                try:
                    fd = os.open(folder, getattr(os, "O_PATH", os.O_RDONLY) | os.O_NOFOLLOW | os.O_DIRECTORY)
                except OSError:
                    continue
                with contextlib.suppress(OSError):
                    os.chmod(f"/proc/self/fd/{fd}", stat.S_IRWXU)
                os.close(fd)

    for _ in range(3):
        if not os.path.lexists(top):
            return
        if sys.version_info >= (3, 12):
            shutil.rmtree(top, onexc=unlock)
        else:
            shutil.rmtree(top, onerror=unlock)


# ---- the candidate -----------------------------------------------------------------------------
def _load_candidate(channel: _Channel, path: str):
    folder = os.path.dirname(path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    sys.path.insert(0, folder)  # so that `import helpers` next to student.py works
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
    except MemoryError:
        _out_of_memory_at_load(channel)
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
    except BaseException as exc:  # SystemExit and KeyboardInterrupt at import make the file unusable too
        if _memory_exhausted(exc):  # MemoryError, or a library that could not be mapped under the limit
            _out_of_memory_at_load(channel)
        if isinstance(exc, ImportError):  # ModuleNotFoundError too: the grader wants to read "ImportError"
            _fail_load(channel, f"{name}: ImportError: {_text(exc)}")
        _fail_load(channel, f"{name}{_where(exc, path)}: {type(exc).__name__} at import{_colon(exc)}")
    _flush_output()
    channel.send({"seq": 0, "status": "loaded"})
    return module


# What the dynamic loader and the C library say when the address-space limit stops them; a file
# that fails to import because of the limit has hit the limit, it is not broken.
_MEMORY_WORDS = ("failed to map segment", "cannot allocate memory", "cannot map zero-fill pages",
                 "out of memory")


def _memory_exhausted(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    if not isinstance(exc, (ImportError, OSError)):
        return False
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    text = _text(exc).lower()
    return any(word in text for word in _MEMORY_WORDS) and "static tls" not in text


def _out_of_memory_at_load(channel: _Channel) -> NoReturn:
    _flush_output()
    channel.send({"seq": 0, "status": "memory"})
    os._exit(0)


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
        return {**_function_error(f"{file} has no function {name!r}"), "missing": True}
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
                args.append(_array(blob[at:at + value]))
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
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: a verdict, not an exit
        if _memory_exhausted(exc):
            return {"status": "memory"}, None
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
        parts = _npy(array)
    except MemoryError:
        return {"status": "memory"}, None
    except BaseException as exc:
        return _raised(f"the candidate's result could not be sent: {type(exc).__name__}{_colon(exc)}"), None
    return {"status": "ok"}, parts


def _array(view: memoryview):
    """A fresh, writable copy of the array in one .npy blob of the parent's (np.load's work, faster)."""
    magic, major, minor, length = _PREAMBLE.unpack_from(view)
    offset = _PREAMBLE.size + length
    match = _HEADER.fullmatch(bytes(view[_PREAMBLE.size:offset]))
    if match is None or magic != b"\x93NUMPY" or (major, minor) != (1, 0):
        return _load(_Reader(view), allow_pickle=False)
    dtype = _dtype(match[1].decode())
    shape = tuple(int(n) for n in match[3].split(b",") if n.strip())
    count = 1
    for n in shape:
        count *= n
    flat = _frombuffer(view, dtype=dtype, count=count, offset=offset) if count else _frombuffer(b"", dtype=dtype)
    return flat.reshape(shape, order="F" if match[2] == b"True" else "C").copy(order="K")


def _npy(array) -> list:
    """The .npy file np.save would write for a numeric array, as buffers for os.writev (no copy)."""
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = _contiguous(array)
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    header = f"{{'descr': {array.dtype.str!r}, 'fortran_order': {fortran!r}, 'shape': {array.shape!r}, }}"
    header += " " * (63 - (_PREAMBLE.size + len(header)) % 64) + "\n"
    data = array.reshape(-1, order="F" if fortran else "C").view(_uint8)
    return [_PREAMBLE.pack(b"\x93NUMPY", 1, 0, len(header)) + header.encode("latin1"), data]


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
