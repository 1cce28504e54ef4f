"""Inside the sandbox: a small server that runs candidate files, each result in a fresh process.

Run by verify.sandbox as `python -I -S -c <this file's text> CONFIG_JSON`, inside bubblewrap (or as an
unprivileged user, or, when the grader asked for it, unprotected); never imported by the `verify`
package, which the candidate must not be able to reach.  It imports numpy and scipy once.  Then, for
each command on the control pipe (a JSON line {"name", "size", "memory", "again"}), it kills what the
last candidate left running, empties the candidate's folders (/tmp and /dev/shm in bubblewrap),
says "clean" on the status pipe, then reads the file's bytes, writes it there, and forks a fresh
child that loads it and answers the parent's requests (an empty name: no file, no child).  So each
result starts from a fresh state at the cost of a fork, and one server serves submission after
submission.  The child closes the control and status pipes before any line of the candidate's
runs, and the server is not dumpable, so a candidate can neither forge "clean" nor reach into the
server through /proc.

CONFIG_JSON: the pipes "control" (read), "status" (write), "request" (read), "reply" (write);
"home" (the folder the file is written to); "wipe" (folders emptied before each run); "site"
(folders holding numpy and scipy, put on the path); "user" ([uid, gid] to become before loading the
file, when this server runs as root); "kill" (how to end every process of a candidate: "namespace",
kill(-1) inside bubblewrap's PID namespace; "user", kill(-1) as the candidate's user; "group", its
process group alone); "seccomp" (the filter for the candidate, a BPF program in hex).

Protocol (requests and replies): frames of HEAD = <4sII> (magic, meta length, blob length), then a
JSON object, then a blob of concatenated .npy files (read with np.load(allow_pickle=False)).  The
server sends one "ready" frame once numpy and scipy are loaded; each child then sends the outcome
of loading the file ("loaded", "load_error", "memory") and answers "function" and "call" requests
one at a time, echoing their "seq"; a child that ends on its own is reported as "died".  The parent
trusts none of it: this is only the cooperative path.
"""
import contextlib
import decimal
import errno
import json
import numbers
import os
import re
import resource
import select
import signal
import struct
import sys
import time
from typing import NoReturn

if __name__ == "__main__":  # run as `python -I -S -c <text> CONFIG_JSON`: numpy and scipy are found here
    sys.path[:0] = json.loads(sys.argv[1])["site"]

import numpy as np  # noqa: E402

MAGIC = b"SBX1"
HEAD = struct.Struct("<4sII")
MAX_META = 1 << 20
MAX_BLOB = 256 << 20
MAX_MESSAGE = 1000
MODULE_NAME = "_candidate"
NPROC = 64                  # processes and threads a candidate may have at once
NOFILE = 256                # files, pipes... each of its processes may have open at once
SIGPENDING = 256            # signals queued for its user at once (each POSIX timer holds one)
NUMERIC_KINDS = "biufc"
F_GETSIG, F_GETOWN_EX, F_GETPIPE_SZ = 11, 16, 1032   # not in every Python's fcntl module (the candidate's may be old)

# Taken before the candidate runs, so that rebinding os.write or np.save in its module does not
# change how this script talks to the parent (the parent would survive it, but answers would be lost).
_write, _writev, _dumps, _loads = os.write, os.writev, json.dumps, json.loads
_asarray = np.asarray
_frombuffer, _contiguous, _dtype, _uint8 = np.frombuffer, np.ascontiguousarray, np.dtype, np.uint8
_HEADER = re.compile(rb"\{'descr': '([<>|][biufc][0-9]{1,2})', 'fortran_order': (True|False), "
                     rb"'shape': \(((?:[0-9]{1,19}(?:, [0-9]{1,19}){0,63},?)?)\), \} *\n")
_PREAMBLE = struct.Struct("<6sBBH")


def serve(config: dict) -> NoReturn:
    """The server: preload, say ready, then one fresh child per command on the control pipe."""
    sys.dont_write_bytecode = True
    # In bubblewrap this server is the sandbox's pid 1, which the kernel shields from every signal sent from inside
    # that it does not handle: Python's SIGINT handler would be the one way in (each child restores it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    # PR_SET_DUMPABLE 0: no candidate may ptrace us or open /proc/<us>/fd or mem; PR_SET_CHILD_SUBREAPER:
    # what a candidate orphans (a setsid() daemon) becomes our child, for _end_candidate to kill and reap
    if libc.prctl(4, 0, 0, 0, 0) != 0 or libc.prctl(36, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl")
    # What most files import, and what a child needs to load one and judge its functions: paid once
    # here, not in every fresh child.
    for module in ("scipy.signal", "scipy.ndimage", "importlib.util", "inspect", "random"):
        with contextlib.suppress(Exception):
            __import__(module)
    channel = _Channel(config["request"], config["reply"])
    config["refuse_syscalls"] = _syscall_filter(bytes.fromhex(config["seccomp"]))
    shared = _shared_state(config)
    # Everything loaded so far is kept for good: a child's collector then never walks (and so never
    # copies) the pages of these objects, which makes each fork's copy-on-write faults and exit cheaper.
    import gc
    gc.freeze()
    channel.send({"seq": 0, "status": "ready"})
    control = os.fdopen(config["control"], "rb", buffering=0)
    child: int | None = None
    watch: int | None = None
    while True:
        ready = select.select([control] + ([watch] if watch is not None else []), [], [])[0]
        if child is not None and watch is not None and watch in ready and control not in ready:
            # The candidate ended on its own (os._exit, a signal): say how, where the parent waits for it.
            _, status = os.waitpid(child, 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            channel.send({"seq": -1, "status": "died", "code": code})
            os.close(watch)
            child = watch = None
            continue
        line = control.readline()
        command: dict = json.loads(line) if line else {"name": "", "again": False}
        # Between two results of one file ("again") the last child is killed and reaped, what it started
        # only killed.  Otherwise every process of it must be gone first, so that nothing of one student's
        # can touch the next one's folders.
        _end_candidate(config, child, wait=not command["again"])
        if watch is not None:
            os.close(watch)
            watch = None
        if not line:  # the parent closed the control pipe: it is done, or gone
            os._exit(0)
        if not _cleaned(config, shared):
            # something of the last candidate's could not be removed, or it changed what the next one
            # shares with it (a pipe made non-blocking or smaller, attributes on /tmp): this server (and in
            # bubblewrap its tmpfs folders) must not serve another; the parent reads the word and starts a new one
            os.write(config["status"], b"dirty\n")
            os._exit(0)
        os.write(config["status"], b"clean\n")
        if not command["name"]:  # the parent is done with this candidate: nothing to start
            continue
        # The file comes once the parent has emptied the pipes of what the last candidate wrote.
        source = _read_exact(control, command["size"])
        try:
            path = _place(config, command["name"], source)
        finally:
            # Every later child is a fork of this server and can read its own memory: no byte of this
            # file may stay in it once freed, or the next student's code finds this one's there.
            source[:] = bytes(len(source))
        child = os.fork()
        if child == 0:
            control.close()
            os.close(config["status"])
            _child(config, channel, path, command["memory"])
        watch = os.pidfd_open(child)


def _read_exact(control, size: int) -> bytearray:
    data, got = bytearray(size), 0   # one buffer, the only copy (the caller clears it)
    view = memoryview(data)
    while got < size:
        n = control.readinto(view[got:])
        if not n:
            os._exit(0)
        got += n
    return data


def _cleaned(config: dict, shared: tuple) -> bool:
    """Drop what the last candidate left in the request pipe and its folders, in a fork of this server that ends
    with it: the names of a candidate's files and the bytes it wrote to the pipe then never enter this server's
    memory, which every later child inherits and can read (a fresh attacker's student left her whole file as the
    names of empty files in /tmp, and the next student found them in the freed memory of the server's listing).
    True when nothing is left and nothing they share was changed."""
    cleaner = os.fork()
    if cleaner == 0:
        clean = False
        with contextlib.suppress(BaseException):
            _drain(config["request"])
            clean = _wipe(config) and _shared_state(config) == shared
        os._exit(0 if clean else 1)
    _, status = os.waitpid(cleaner, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _drain(fd: int) -> None:
    """Drop what is left in the request pipe: the parent writes nothing there before "clean", so whatever is
    there came from the last candidate (which can open its own pipe for writing through /proc/self/fd),
    and the next child would read it as the start of its first request."""
    os.set_blocking(fd, False)
    try:
        while os.read(fd, 1 << 16):
            pass
    except BlockingIOError:
        pass
    finally:
        os.set_blocking(fd, True)


def _wipe(config: dict) -> bool:
    """Empty the candidate's folders, whatever modes it left; False when something is left.  (System V IPC
    objects, which would outlive it, it cannot make: the seccomp filter refuses them.)"""
    user = config.get("user")
    try:
        for folder in config["wipe"]:
            with os.scandir(folder) as entries:
                names = [entry.name for entry in entries
                         # a shared /tmp: only what the candidate's user owns
                         if user is None or entry.stat(follow_symlinks=False).st_uid == user[0]]
            for name in names:
                if os.path.join(folder, name) != config["home"]:  # the candidate's own folder, emptied on its own
                    _remove(folder, name)
            with os.scandir(folder) as entries:
                if any(user is None or entry.stat(follow_symlinks=False).st_uid == user[0] for entry in entries
                       if entry.path != config["home"]):
                    return False
            if config["kill"] == "namespace":
                # the sandbox's own folder, whose times a candidate that owns it (under a normal user's grader)
                # can set: a fresh attacker left 8 bytes there for the next student to read
                os.utime(folder, ns=(0, 0), follow_symlinks=False)
        if config["kill"] == "namespace":
            # the pipes every candidate of this server shares, whose times it can set too: another left 66 bytes
            for fd in _pipes(config):
                os.utime(fd, ns=(0, 0))
        return True
    except Exception:  # anything the candidate built that this cannot take apart: never serve the next one
        return False


def _pipes(config: dict) -> tuple[int, ...]:
    """The pipes every candidate of this server shares: its output, its error, the requests and the replies."""
    return 1, 2, config["request"], config["reply"]


def _shared_state(config: dict) -> tuple:
    """What one candidate could change for the next in what they share, besides the folders' contents: the
    pipes (the output, the requests, the replies: their flags, such as O_NONBLOCK or the packet mode of
    O_DIRECT, their size, a SIGIO owner, their mode) and the wiped folders themselves (mode, owner, extended
    attributes); _wipe resets the times of both.  A candidate of a normal user's grader owns its /tmp and its
    pipes, and may change all of these."""
    import fcntl
    pipes: list[object] = []
    for fd in _pipes(config):
        try:
            pipes.append((fcntl.fcntl(fd, fcntl.F_GETFL), fcntl.fcntl(fd, F_GETPIPE_SZ),
                          fcntl.fcntl(fd, fcntl.F_GETOWN), fcntl.fcntl(fd, F_GETSIG),
                          fcntl.fcntl(fd, F_GETOWN_EX, bytes(8)), os.fstat(fd).st_mode))
        except OSError as exc:
            pipes.append(exc.errno)
    folders: list[object] = []
    for folder in config["wipe"]:
        try:
            seen = os.stat(folder, follow_symlinks=False)
            folders.append((seen.st_mode, seen.st_uid, seen.st_gid, sorted(os.listxattr(folder))))
        except OSError as exc:
            folders.append(exc.errno)
    return tuple(pipes), tuple(folders)


def _place(config: dict, name: str, source: bytearray) -> str:
    # A new file, never through a link: a process of the last candidate that was still inside a system
    # call when it was killed may have made one there after the wipe, and this server may be root.
    path = os.path.join(config["home"], os.path.basename(name))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:  # os.write, not a buffered file, which would keep a copy of a small file in a buffer of its own
        view = memoryview(source)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    if config.get("user"):
        os.chown(path, *config["user"])
    return path


def _remove(folder: str, name: str) -> None:
    """Remove `name` in `folder`, a file or a tree however deep or wide, and whatever its paths' length: by
    file descriptors, without recursion and with one folder open at a time (a candidate nests folders 1,500
    deep or past PATH_MAX, which path-based, recursive removal cannot take apart), and in time linear in the
    entries (each folder is listed once: a fresh attacker's 20,000 empty folders, each found again by listing
    its parent, cost a minute of the grader's time outside any limit)."""
    top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    current = top
    try:
        try:
            os.unlink(name, dir_fd=top)
            return
        except IsADirectoryError:
            pass
        # the folders open from `top` down to `current`: each one's name, inode and entries not yet removed
        path: list[tuple[str, tuple[int, int], list[str]]] = []
        inner: str | None = name
        while True:
            if inner is not None:  # go down into it
                os.chmod(inner, 0o700, dir_fd=current)  # a folder the candidate closed (chmod 0) is still ours
                below = os.open(inner, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=current)
                if current != top:
                    os.close(current)
                current = below
                seen = os.fstat(current)
                path.append((inner, (seen.st_ino, seen.st_dev), os.listdir(current)))
                inner = None
            entries = path[-1][2]
            while entries:
                entry = entries.pop()
                try:
                    os.unlink(entry, dir_fd=current)
                except IsADirectoryError:
                    inner = entry
                    break
            if inner is not None:
                continue
            # empty: up to its parent, and remove it there by its name, if that name is still this folder
            done, inode, _ = path.pop()
            above = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=current) if path else top
            os.close(current)
            current = above
            seen = os.stat(done, dir_fd=current, follow_symlinks=False)
            if (seen.st_ino, seen.st_dev) != inode:  # moved away while we were inside: never loop over it again
                raise OSError(errno.ENOENT, "a folder moved while it was being removed")
            os.rmdir(done, dir_fd=current)
            if not path:
                return
    finally:
        if current != top:
            os.close(current)
        os.close(top)


def _end_candidate(config: dict, child: int | None, wait: bool = True) -> None:
    """Kill the last child and everything it started (a setsid() daemon too, where we can), and reap.

    The server is a subreaper: whatever the candidate started is its descendant and, once orphaned,
    its child, so "no child left to reap" means that nothing of the candidate runs.  With `wait`
    false only the child itself is waited for, what it started is only killed (it runs nothing more) and
    reaped when it is gone.  The child is always waited for: killed but not yet scheduled, it can still
    finish a read of the request pipe it was blocked in, and so take the first bytes of the next child's
    first request (which then fails as "bad request frame")."""
    deadline = time.monotonic() + 5.0
    while True:
        if config["kill"] == "namespace":
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)  # every process of the sandbox but this one, its pid 1
        elif config["kill"] == "user":
            # as root outside any namespace: kill(-1) as the candidate's user, never as root; done before
            # the next child becomes that user
            killer = os.fork()
            if killer == 0:
                with contextlib.suppress(BaseException):
                    _become(*config["user"])
                    os.kill(-1, signal.SIGKILL)
                os._exit(0)
            os.waitpid(killer, 0)
        elif child is not None:
            with contextlib.suppress(OSError):
                os.killpg(child, signal.SIGKILL)
        try:
            while (pid := os.waitpid(-1, os.WNOHANG)[0]) != 0:
                child = None if pid == child else child
        except ChildProcessError:
            return
        # unprotected, only the child's own group is ours to kill: a daemon it started is not waited for
        if (not wait and child is None) or (config["kill"] == "group" and child is None) \
                or time.monotonic() > deadline:
            return  # (past the deadline a process is stuck in the kernel: the parent's own wait gives up)
        time.sleep(0.001)


def _become(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise PermissionError("the user and group ids did not change")


def _child(config: dict, channel: "_Channel", path: str, memory: int) -> NoReturn:
    """One fresh candidate: load the file, then answer requests until the parent says otherwise."""
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        if config.get("user"):
            _become(*config["user"])
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfaulting candidate leaves no core file
        # stdin of its own: the server's is shared by every child, and its flags (O_APPEND, O_NONBLOCK) carried two
        # bits from one student to the next (a fresh attacker's)
        quiet = os.open(os.devnull, os.O_RDONLY)
        os.dup2(quiet, 0)
        os.close(quiet)
        # A fork bomb stops at NPROC processes and threads of the candidate's uid, which is never root
        # but in the unprotected mode (root's are exempt): nobody in bubblewrap's user namespace (counted
        # per namespace), nobody under a root grader's bwrap, or the candidate's own user.
        resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))  # pipes hold kernel memory too
        # POSIX timers and queued signals hold kernel memory too (a fresh attacker made 96,000 timers)
        resource.setrlimit(resource.RLIMIT_SIGPENDING, (SIGPENDING, SIGPENDING))
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))  # no memory locked outside the watch (mlock refused too)
        # and no POSIX message queue, which open(2) makes on a mounted mqueue file system and which outlives it
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
        _limit_memory(memory)
        # One file may not outgrow the memory limit (in /tmp: EFBIG rather than death by SIGXFSZ).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (memory, memory))
        config["refuse_syscalls"]()
    except BaseException as exc:  # never run the candidate half set up
        channel.send({"seq": 0, "status": "setup_error", "message": f"{type(exc).__name__}: {_text(exc)}"})
        os._exit(1)
    sys.argv = [path]
    # The global random generators start from one fixed state in every child, so that a candidate
    # that uses them gives the same answers whenever the grader repeats a run with --seed.
    import random
    random.seed(0)
    np.random.seed(0)
    module = _load_candidate(channel, path)
    while True:
        try:
            meta, blob = channel.receive()
            op, seq = meta["op"], meta["seq"]
            if op not in ("function", "call"):
                raise ValueError(f"unknown request {op!r}")
        except Exception as exc:
            # A request this child cannot read is the grader's fault: say so on the reply pipe, where the parent
            # reports it as its own error, never print a traceback into the candidate's output.
            channel.send({"seq": -1, "status": "protocol_error", "message": f"{type(exc).__name__}: {_text(exc)}"})
            os._exit(0)
        if op == "function":
            reply = _check_function(module, path, meta["name"], meta["arity"])
            _flush_output()
            channel.send({"seq": seq, **reply})
        elif op == "call":
            reply, payload = _call(module, path, meta, blob)
            _flush_output()
            channel.send({"seq": seq, **reply}, payload)


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


def _syscall_filter(program: bytes):
    """What installs the parent's seccomp filter (a BPF program built by libseccomp) for good: the kernel
    then refuses the system calls it names to that process and all it starts, whatever uid they have.
    Prepared once in the server, so that each child only makes the two calls."""
    import ctypes

    class Program(ctypes.Structure):  # struct sock_fprog
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    fprog = Program(len(program) // 8, program)

    def install() -> None:
        # PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP with SECCOMP_MODE_FILTER
        if prctl(38, 1, None, 0, 0) != 0 or prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "the seccomp filter could not be installed")
    return install


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


# ---- the candidate -----------------------------------------------------------------------------
def _load_candidate(channel: "_Channel", path: str):
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
        return {**_raised(f"the candidate raised {type(exc).__name__}{_colon(exc)}{_at(exc, path)}"),
                "exception": type(exc).__name__}, None
    try:
        array = _asarray(result)
    except MemoryError:
        return {"status": "memory"}, None
    except BaseException as exc:
        if isinstance(result, (list, tuple)) and isinstance(exc, ValueError):
            return _raised("the candidate returned a ragged nested list that is not an array"), None
        return _raised(f"the candidate returned {_a(_type_name(result))} that cannot be converted to an "
                       f"array: {type(exc).__name__}{_colon(exc)}"), None
    if array.dtype.kind == "O" and all(isinstance(v, (numbers.Real, decimal.Decimal)) for v in array.flat):
        with contextlib.suppress(Exception):   # Python numbers in an object array (floats, Fractions...) are values
            array = array.astype(np.float64)
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
    """A fresh, writable copy of the array in one .npy blob of the parent's (np.load's work, without its
    literal_eval of the header)."""
    magic, major, minor, length = _PREAMBLE.unpack_from(view)
    offset = _PREAMBLE.size + length
    match = _HEADER.fullmatch(bytes(view[_PREAMBLE.size:offset]))
    if match is None or magic != b"\x93NUMPY" or (major, minor) != (1, 0):
        raise ValueError("the parent sent an array this server cannot read")  # it writes only this header
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


def _raised(message: str) -> dict:
    return {"status": "raised", "message": message[:MAX_MESSAGE]}


def _describe(result, dtype: np.dtype) -> str:
    if result is None:
        return "None"
    if isinstance(result, (str, bytes)):
        return "a string"
    if dtype.kind == "O":   # a coroutine or a generator is no array: name what it is
        return "an array of dtype object" if isinstance(result, np.ndarray) else _a(_type_name(result))
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
    serve(json.loads(sys.argv[1]))
