"""Run an untrusted candidate file out of reach of the grader, with limits, and get plain arrays back.

    with Sandbox("student.py", timeout=10, memory=2 * 1024**3) as box:
        box.function("grad", 4)             # FunctionError if missing, not callable, wrong arity
        box.restart_clock()                 # a fresh time budget for the next result checked
        got = box.call("grad", X, W, b, delta)   # an ndarray, or CandidateRaised / LimitExceeded
        box.fresh()                         # the next result starts from a fresh interpreter state

The isolation is bubblewrap's (Debian's `bubblewrap`, Flatpak's sandbox), not ours.  Each Sandbox
starts one `bwrap` process holding a small server (`_sandbox_server.py`, run with `python -I -S`, so
it imports nothing of this package) that loads numpy and scipy once and forks a fresh child for
each result (`fresh()`), which loads the candidate's file.  Inside, the candidate sees the Python
standard library, NumPy and SciPy (read-only, and none of the other packages installed beside
them), its own copy of its file, a /tmp and a /dev/shm of its own (tmpfs, `memory` bytes each, what
it writes there counted against its memory), no network, only its own processes, a new session and
an empty environment; everything in it dies with the grader (--die-with-parent).  Not the key
(`verify`, `solutions`, the PDFs, the report), not other submissions, not the grades.  It is never
root on the host (nobody, in a user namespace or handed to uid 65534 under a root grader), so
RLIMIT_NPROC bounds its processes, and a seccomp filter that libseccomp compiles refuses it the
memory no watch could count (memfds, System V IPC) and sockets, in every isolation mode.

Where namespaces are refused (unprivileged Docker, as on Gradescope), and the grader is root, the
server runs the candidate as an unprivileged user (VERIFY_SANDBOX_USER, default verify-candidate)
on a runtime that holds NumPy and SciPy alone (VERIFY_SANDBOX_PYTHON): autograder/setup.sh creates
both and installs the grader where that user cannot read it.  Where neither works, candidates run
unprotected only when the grader asks for it: VERIFY_SANDBOX=none.  `isolation()` says which one is
in force, in a line the grader prints.

Requests and replies travel over dedicated pipes, never over the candidate's stdout, as frames of a
JSON header and .npy arrays, which the parent reads with np.load(allow_pickle=False) after checking
the frame: the worst a candidate can do to the grader's answers is to answer wrongly, fail, hang or
die, and each of those has its own exception.  The verdict is made here, in the parent.
"""
from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import glob
import itertools
import json
import math
import os
import pwd
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
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = ["SandboxError", "LoadError", "FunctionError", "MissingFunction", "CandidateRaised", "LimitExceeded",
           "TimeLimit", "MemoryLimit", "Crashed", "ProtocolError", "NoIsolation", "Isolation", "Sandbox", "isolation",
           "prepare"]

SERVER = Path(__file__).resolve().with_name("_sandbox_server.py")

# The frame format; _sandbox_server.py has its own copy because it must not import this package.
MAGIC = b"SBX1"
HEAD = struct.Struct("<4sII")  # magic, length of the JSON header, length of the array blob
MAX_META = 1 << 20
MAX_BLOB = 256 << 20
# The largest answer to a call: a gradient has the size of one of its arguments, so a reply many times larger than
# all of them together is refused unread.  (The child writes its own replies: a fresh attacker's server code, patched
# from inside, answered a call on a few hundred bytes with 255 MiB, which cost the grader 0.9-1.4 GB.)
REPLY_FACTOR, REPLY_FLOOR = 16, 1 << 20
# A submission is one Python file: a few KiB of code.  Its bytes cross to the sandbox's server before any
# limit runs (a 64 MB comment once stalled a check 3x past its --timeout), so a larger file is refused at once.
MAX_SOURCE = 1 << 20
NUMERIC_KINDS = "biufc"
_NPY_PREAMBLE = struct.Struct("<6sBBH")  # magic, major, minor, header length (version 1.0)

OUTPUT_LIMIT = 2000       # characters of the candidate's output kept for `output`
MESSAGE_LIMIT = 400       # characters of a message from the child shown to the grader
START_BUDGET = 60.0       # seconds for python + numpy + scipy to start: slow only on a starved machine
WATCH_INTERVAL = 0.05     # seconds between two looks at the candidate's memory while it computes
PIPE_SIZE = 1 << 20       # a 20,000-entry float64 array then crosses in one write
IOV_MAX = os.sysconf("SC_IOV_MAX")  # the most buffers one writev takes (calls sent ahead are many buffers)
DRAIN_CHUNK = 1 << 16
SPARE_LIMIT = 16 << 20    # replies up to this size are read into one buffer kept per sandbox
INODE_COST = 1024         # bytes of kernel memory a file in a tmpfs holds however empty (slab, measured)
KILL_WAIT = 5.0           # seconds to wait for a killed process to be gone (stuck in the kernel: give up)
CANDIDATE_USER = os.environ.get("VERIFY_SANDBOX_USER", "verify-candidate")
CANDIDATE_PYTHON = os.environ.get("VERIFY_SANDBOX_PYTHON", "/opt/verify-candidate/bin/python")
# Under a root grader's bwrap the candidate runs as a uid of its sandbox's own, in a range no account uses: the
# kernel counts RLIMIT_NPROC per uid, and with one uid (nobody) for every sandbox a fresh attacker's submission held
# all the processes of the batch, so that a classmate's correct answer could not start a thread.
CANDIDATE_UIDS = 1 << 30  # the first of them
_SANDBOXES = itertools.count()


def candidate_uid() -> int:
    """A uid (and gid) for one sandbox under a root grader: unique among the sandboxes that run at once (a process
    id, unique among the processes that run at once, and a count of the sandboxes this process started)."""
    return CANDIDATE_UIDS + (os.getpid() % (1 << 22)) * 64 + next(_SANDBOXES) % 64


# Under a root grader: bwrap's namespaces but no user namespace, and of root's capabilities only what the server needs
# to empty the candidate's folders, place its file and hand each candidate to its uid (it keeps none of them).
ROOT_FLAGS = ("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
              "--cap-drop", "ALL", *(a for cap in ("CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID")
                                      for a in ("--cap-add", f"CAP_{cap}")))
MAP_HUGETLB = 0x40000
MAP_SHARED = 0x01       # also set in MAP_SHARED_VALIDATE (0x03)
USER_LOCK = "/run/verify-sandbox.lock"   # one candidate at a time per machine as that user
USER_HOME = "verify-candidate-"           # the prefix of the folder that holds the candidate's file, as that user
KILL = {"bubblewrap": "namespace", "user": "user", "none": "group"}  # how the server ends a candidate's processes
ENVIRONMENT = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               # one thread each: no BLAS pool per sandbox, and a server must have no thread when it forks
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


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
    `exception` names the exception's type when it raised one ("" otherwise).
    """
    exception: str = ""


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


class ProtocolError(SandboxError):
    """The grader's own request could not be read by the child (the pipes out of step): a bug of the grader, or
    the candidate writing on the sandbox's channels (it can, from inside its process), which the child cannot
    tell apart; never the candidate's verdict, and never called the grader's own error.  The sandbox was
    stopped; it must be restart()ed."""


class NoIsolation(SandboxError):
    """No way to keep the candidate from the key here, and the grader did not accept running it unprotected."""


# ---- which isolation ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Isolation:
    """How candidates are isolated on this machine: `name` is bubblewrap, user or none."""
    name: str
    summary: str                 # one line for the grader and the student: what holds
    flags: tuple[str, ...] = ()  # bwrap's namespace flags here (ROOT_FLAGS under a root grader)

    def __str__(self) -> str:
        return self.summary


@functools.cache
def isolation() -> Isolation:
    """The isolation in force: $VERIFY_SANDBOX (bubblewrap, user, none) or else the first that works.

    NoIsolation when none works and VERIFY_SANDBOX=none was not given: never run untrusted code
    unprotected unless the grader asked for it.
    """
    wanted = os.environ.get("VERIFY_SANDBOX", "auto").strip().lower() or "auto"
    if wanted not in ("auto", "bubblewrap", "user", "none"):
        raise NoIsolation(f"VERIFY_SANDBOX={wanted!r}: expected bubblewrap, user or none")
    if wanted in ("auto", "bubblewrap"):
        flags = _bwrap_flags()
        if flags is not None:
            # a fresh attacker's file read the key from a clone under /usr/local/src, which the sandbox shows
            for key in _key_folders():
                if shown(key):
                    raise NoIsolation(f"{key}: the grader's install lies where the sandbox shows every candidate "
                                      "(under /usr or the interpreter's folder): install it elsewhere")
            return Isolation("bubblewrap", "isolation: bubblewrap (the candidate sees only Python, NumPy, SciPy "
                             "and its own file; no network; its processes end with it)", flags)
        if wanted == "bubblewrap":
            raise NoIsolation("VERIFY_SANDBOX=bubblewrap, but bwrap is missing or cannot create namespaces here")
    if wanted in ("auto", "user"):
        problem = _user_problem()
        if problem is None:
            return Isolation("user", f"isolation: user {CANDIDATE_USER} (the candidate runs as an unprivileged "
                             "user on a runtime with NumPy and SciPy alone; no sockets, so no network)")
        if wanted == "user":
            raise NoIsolation(f"VERIFY_SANDBOX=user, but {problem}")
    if wanted == "none":
        return Isolation("none", "isolation: NONE (VERIFY_SANDBOX=none: the candidate runs as the grader and can "
                         "read the key, the other submissions and the grades, and use the network)")
    raise NoIsolation("no isolation for the candidate's code: install bubblewrap (apt-get install bubblewrap) where "
                      "it may create namespaces, or run as root with autograder/setup.sh's candidate user; to run "
                      "untrusted code unprotected anyway, set VERIFY_SANDBOX=none")


def _bwrap_flags() -> tuple[str, ...] | None:
    """The namespace flags bwrap accepts here, or None when it cannot sandbox at all.

    A normal user's bwrap makes a user namespace with nobody inside (the grader's own uid outside).
    As root that namespace would map nobody to uid 0, which the kernel exempts from RLIMIT_NPROC:
    root's bwrap makes no user namespace, keeps for the server only the capabilities it needs to
    hand each candidate to a uid of its sandbox's own (candidate_uid), a real unprivileged uid.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    if os.geteuid() == 0:
        options: tuple[tuple[str, ...], ...] = (ROOT_FLAGS,)
    else:
        # --disable-userns (bubblewrap 0.8): no user namespace inside, where it could mount a tmpfs of its own;
        # the seccomp filter refuses that too, and an older bwrap without the option still sandboxes.
        user = ("--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534")
        options = ((*user, "--disable-userns"), user, ("--unshare-all",))
    for flags in options:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if subprocess.run([bwrap, *flags, "--die-with-parent", "--ro-bind", "/", "/", "true"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30).returncode == 0:
                return flags
    return None


def _user_problem() -> str | None:
    if os.geteuid() != 0:
        return "the grader is not root, and only root can run the candidate as another user"
    try:
        user = pwd.getpwnam(CANDIDATE_USER)
    except KeyError:
        return f"there is no user {CANDIDATE_USER} (VERIFY_SANDBOX_USER; autograder/setup.sh creates it)"
    # Between two candidates every process of that user is killed and its files in /tmp removed: never a person's.
    if user.pw_uid == 0 or os.path.basename(user.pw_shell) not in ("nologin", "false"):
        return (f"the user {CANDIDATE_USER} can log in (shell {user.pw_shell or 'none'}); the candidate's user must "
                "be one that nothing else uses, whose processes and files the grader may remove "
                "(autograder/setup.sh creates verify-candidate)")
    # a folder of its own outlives every candidate: one left a note there for the next (the system user man, whose
    # /var/cache/man it owns); the files it may own elsewhere are not searched for
    with contextlib.suppress(OSError):
        if os.stat(user.pw_dir).st_uid == user.pw_uid:
            return (f"the user {CANDIDATE_USER} owns its home folder {user.pw_dir}, where one candidate could leave "
                    "data for the next: use a user that owns no folder (autograder/setup.sh creates verify-candidate)")
    if not os.access(CANDIDATE_PYTHON, os.X_OK):
        return f"there is no candidate runtime {CANDIDATE_PYTHON} (VERIFY_SANDBOX_PYTHON)"
    # the key is the grader's own source: a fresh attacker's file imported it from a plain clone, whose folders
    # every user may read, and scored 30/30 with no formula
    # the whole folder: beside the packages, a clone's output/ and build/ hold the key's PDF, report and LaTeX (a
    # fresh attacker read them once the two packages alone were private)
    for folder in _key_folders():
        if _enterable_by(user, folder):
            return (f"the user {CANDIDATE_USER} can enter the grader's install ({folder}), which holds the key: make "
                    f"it private (chmod 700 {folder}; autograder/setup.sh installs it so)")
    return None


def _key_folders() -> list[Path]:
    """The folder that holds each package of the key, this library and every installed homework: a clone's root,
    with its build/ and output/ (or the grader's own site-packages)."""
    import importlib.metadata
    import importlib.util
    homeworks = [entry.value.split(":")[0] for entry in importlib.metadata.entry_points(group="verify.homework")]
    found = [importlib.util.find_spec(name) for name in homeworks]
    packages = [Path(__file__), *(Path(spec.origin) for spec in found if spec is not None and spec.origin)]
    return list(dict.fromkeys(path.resolve().parents[1] for path in packages))


def shown(path: str | Path) -> bool:
    """Whether bubblewrap's sandbox shows `path` to the candidate: it lies under a folder the sandbox binds (the
    system's, the interpreter's prefix, NumPy's and SciPy's own folders) and under none it hides (site-packages)."""
    _, mounts, _ = _runtime()
    where = os.path.realpath(path)

    def under(folder: str) -> bool:
        return where == folder or where.startswith(folder.rstrip("/") + "/")
    options = _options(list(mounts))
    bound = [args[0] for option, *args in options if option == "--ro-bind"]
    hidden = [args[-1] for option, *args in options if option == "--tmpfs"]
    return any(map(under, bound)) and not any(map(under, hidden))


def _allows(user: pwd.struct_passwd, path: Path, bit: int) -> bool:
    """Whether the mode of `path` gives `user` (not root) the permission `bit` (4 read, 2 write, 1 search)."""
    seen = os.stat(path)
    groups = {user.pw_gid, *os.getgrouplist(user.pw_name, user.pw_gid)}
    shift = 6 if seen.st_uid == user.pw_uid else 3 if seen.st_gid in groups else 0
    return bool(seen.st_mode >> shift & bit)


def _enterable_by(user: pwd.struct_passwd, folder: Path) -> bool:
    """Whether `user` may reach what is in `folder`: it and every folder above it searchable."""
    folder = folder.resolve()
    return all(_allows(user, each, 1) for each in (*reversed(folder.parents), folder))


def classmate_in_reach(path: Path, submission_file: str) -> Path | None:
    """A file the user isolation's candidate could read beside the one checked at `path`: another .py file in its
    folder, or `submission_file` in a folder beside that one (the grader's command line shows it the path).  A folder
    it may enter but not list is no protection: it guesses the names (a fresh attacker's file tried the numbers
    next to its own submission_1001 in a class folder of mode 0711, and read submission_1002's file)."""
    user = pwd.getpwnam(CANDIDATE_USER)
    path = path.resolve()
    beside: list[Path] = []
    with contextlib.suppress(OSError):
        if _enterable_by(user, path.parent):
            beside += [p for p in path.parent.iterdir() if p.suffix == ".py" and p != path]
        if _enterable_by(user, path.parent.parent):
            beside += [p / submission_file for p in path.parent.parent.iterdir() if p != path.parent]
    for other in beside:
        with contextlib.suppress(OSError):
            if other.is_file() and _enterable_by(user, other.parent) and _allows(user, other, 4):
                return other
    return None


def candidate_may_write(folder: Path) -> bool:
    """Whether the user isolation's candidate may write in `folder` (and so put a link where the grader writes)."""
    return _allows(pwd.getpwnam(CANDIDATE_USER), folder, 2)


# System calls no gradient needs, which a seccomp filter (the kernel's) refuses to every candidate with EPERM: memory
# that neither --memory's watch nor the tmpfs sizes bound (a memfd written but never mapped, a System V segment
# created then detached, message queues and semaphores, POSIX message queues), sockets (no network, even where
# namespaces are refused), io_uring (its IORING_OP_SOCKET makes a socket that no filter of system calls can see), and
# namespaces and mounts of its own (a tmpfs mounted in a mount namespace of its own holds memory the watch cannot see),
# other processes' memory (ptrace and its kin: a normal user's candidate could take over a process of its own uid
# outside the candidate's reach otherwise), and the kernel's keyrings (a nobody's keyring outlives the candidate:
# a channel from one submission to the next).  Any other ABI (32-bit calls from a 64-bit process) kills the process.
REFUSED_SYSCALLS = ("memfd_create", "memfd_secret", "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd",
                    "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl", "socket", "socketpair",
                    # POSIX message queues, also those made with open(2) on a mounted mqueue file system (Docker's
                    # /dev/mqueue, mode 1777: a fresh attacker's student passed her whole file through one to the
                    # next submission under user isolation, and the queue outlived the run)
                    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
                    "io_uring_setup", "io_uring_enter", "io_uring_register",
                    "unshare", "setns", "mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount",
                    "move_mount", "open_tree", "mount_setattr",
                    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
                    "add_key", "keyctl", "request_key", "perf_event_open", "bpf", "userfaultfd",
                    # kernel memory per watch that no limit of the candidate's counts: a fresh attacker held 371 MB
                    # of epoll watches under --memory 64M (no numerical code waits on file descriptors this way)
                    "epoll_create", "epoll_create1", "inotify_init", "inotify_init1", "fanotify_init",
                    # a lock on a file every sandbox reads (the Python install) is seen from another sandbox graded at
                    # the same time: a fresh attacker passed a whole file so, a bit per file locked
                    "flock",
                    # memory locked into RAM, which the watch does not count as the candidate's (pages of the
                    # Python install's files): a fresh attacker locked 460 MiB under --memory 256M
                    "mlock", "mlock2", "mlockall",
                    # the page cache of the files every sandbox reads, evicted and read back page by page, carried a
                    # classmate's whole file from one submission to the next (a fresh attacker's): no eviction,
                    # and no asking which pages are cached
                    "fadvise64", "readahead", "cachestat", "mincore",
                    # Linux AIO, whose RWF_NOWAIT reads tell a cached page from one on disk as preadv2's do
                    "io_setup", "io_submit",
                    # a pipe keeps whole pages spliced into it alive after they are unmapped, counted nowhere: a fresh
                    # attacker held 3 GB of huge pages so under --memory 64M, and another 2.35 GB of the page cache of
                    # /usr's files, 2 MiB per pipe slot, through splice (sendfile to a pipe splices too; Python's
                    # file copies fall back to read and write)
                    "vmsplice", "splice", "tee", "sendfile",
                    # file times: every sandbox shares the host's device nodes, which anyone may touch (/dev/null is
                    # writable): a fresh attacker passed a word from a root grader's student to a normal user's in a
                    # later run through /dev/null's times (no numerical code sets a file's times)
                    "utime", "utimes", "futimesat", "utimensat",
                    # many waiters on one futex word (futex_waitv's flags are in memory no filter reads); see below
                    "futex_waitv")
# Every system call from Linux 6.7's futex2 calls (454) on, known today or not: ENOSYS, as a kernel without them says,
# on which a library falls back.  No numerical code needs them, and they kept bringing what the filter refuses
# elsewhere (futex_wake and futex_wait without FUTEX2_PRIVATE carried a fresh attacker's file between sandboxes;
# file_setattr sets an inode's flags).  Numbers from 424 on are the same on every architecture.
NEWER_SYSCALLS = range(454, 512)
# futex operations without FUTEX_PRIVATE_FLAG (128): a futex on a file mapping is keyed by the file, shared by every
# sandbox that maps the same NumPy library, and a fresh attacker passed a classmate's file through waiters parked
# there; a process's own threads (Python's locks, glibc's) use private futexes alone
FUTEX_PRIVATE_FLAG = 128
INT_BITS = 0xFFFFFFFF      # an argument the kernel reads as an int: its low 32 bits
# madvise's advice that evicts a file's pages from the page cache (MADV_COLD 20, MADV_PAGEOUT 21), as above
MADVISE_EVICT = (20, 21)
# preadv2's RWF_NOWAIT (flags, argument 5), which tells a cached page from one on disk, as above
RWF_NOWAIT = 0x8
# fcntl's commands that a program needs for its own descriptors, every other refused: F_DUPFD, F_GETFD, F_SETFD,
# F_GETFL, F_SETFL, F_DUPFD_CLOEXEC and F_GETPIPE_SZ.  Locks and leases on a file every sandbox reads were a channel
# between two sandboxes graded at once; so were F_NOTIFY's directory events, and F_SET_RW_HINT stored two bits in
# each inode of the grader's install, read by a later run (fresh attackers did all three).
FCNTL_ALLOWED = (0, 1, 2, 3, 4, 1030, 1032)
# ioctl's only with the type of a terminal's ('T', bits 8-15 of the command: isatty, the window's size, FIONBIO,
# FIOCLEX): the others set a file's flags (FS_IOC_SETFLAGS on /tmp outlived a submission), read its extents, or
# mark its inode (EXT4_IOC_PRECACHE_EXTENTS), on files other sandboxes see.
IOCTL_TYPE, IOCTL_TYPE_BITS = 0x5400, (8, 16)
# clone() only with one of these flags (a new namespace): fork and threads stay open.  (CLONE_NEWTIME is unshare's
# and clone3's alone; in clone() that bit is part of the exit signal.)
CLONE_NEW = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
             "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
             "CLONE_NEWNET": 0x40000000}
# clone3() passes its flags in memory, which seccomp cannot read: ENOSYS, on which glibc falls back to clone().
# Landlock's rulesets (444-446) hold kernel memory per rule, counted nowhere (a fresh attacker held 900 MB under
# --memory 64M with rules it never enforced); a program that asks for them handles ENOSYS, a kernel without them.
ENOSYS_SYSCALLS = ("clone3", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self")
# Extended attributes are set nowhere a gradient needs them, and a tmpfs charges their memory to no limit: a fresh
# attacker held 1 GB under --memory 64M in POSIX ACLs on its /tmp's files.  EOPNOTSUPP, as a file system without
# them says (Python's file copies go on without them).
ENOTSUP_SYSCALLS = ("setxattr", "lsetxattr", "fsetxattr")
# Filters of its own, stacked on the grader's, hold kernel memory counted nowhere (a fresh attacker held 1.4 GB of
# them under --memory 64M): seccomp() and prctl's PR_SET_SECCOMP (22) are refused.
PR_SET_SECCOMP = 22
# Calls that change another process's limits, priority, CPUs or memory placement, by the arguments that name it:
# refused unless each is 0, the caller itself.  Under a normal user's grader the sandbox's server has the
# candidate's uid, and a candidate that lowered its limits (prlimit) or its priority and CPUs made the next student's
# results fail or crawl; setpriority and ioprio_set by user or group reach every process of the grader's uid.
OWN_PROCESS_ONLY = {"prlimit64": (0,), "setpriority": (0, 1), "ioprio_set": (1,), "sched_setaffinity": (0,),
                    "sched_setscheduler": (0,), "sched_setparam": (0,), "sched_setattr": (0,),
                    "migrate_pages": (0,), "move_pages": (0,)}
# ioprio_set's `which` (argument 0) must be IOPRIO_WHO_PROCESS, 1; setpriority's, PRIO_PROCESS, 0, as above.
OWN_WHICH = {"ioprio_set": 1}
_SCMP_ACT_ALLOW, _SCMP_ACT_ERRNO, _SCMP_CMP_NE, _SCMP_CMP_MASKED_EQ = 0x7FFF0000, 0x00050000, 1, 7


def masks_outside(allowed, bits: tuple[int, int] = (0, 32)) -> list[tuple[int, int]]:
    """(mask, value) pairs such that a number whose bits low..high-1 are none of `allowed`'s has (number & mask) ==
    value for one pair at least, and one of `allowed` for none: an allowlist for a filter that can only refuse, one
    rule per pair (libseccomp compares an argument once per rule, and rules are alternatives)."""
    low, high = bits
    pairs = []

    def walk(bit: int, prefix: int, left: list[int]) -> None:
        if not left:   # no allowed number starts so: refuse every number that does
            pairs.append((((1 << high) - 1) ^ ((1 << bit) - 1), prefix))
        elif bit > low:
            below = bit - 1
            for value in (0, 1):
                walk(below, prefix | value << below, [a for a in left if (a >> below) & 1 == value])
    walk(high, 0, sorted({a & ((1 << high) - 1) & ~((1 << low) - 1) for a in allowed}))
    return pairs


@functools.cache
def _seccomp_program() -> bytes:
    """The filter as a BPF program, compiled by libseccomp (Debian's libseccomp2, as systemd and Docker use it)."""
    import ctypes
    import ctypes.util

    class ArgCmp(ctypes.Structure):  # struct scmp_arg_cmp
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                    ("datum_b", ctypes.c_uint64)]

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    except OSError:
        raise NoIsolation("libseccomp is missing (apt-get install libseccomp2); without it a candidate's shared "
                          "memory escapes the memory limit") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(ArgCmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    context = lib.seccomp_init(_SCMP_ACT_ALLOW)  # allow whatever is not refused

    def refuse(name: str, error: int, *compare: ArgCmp) -> None:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        rules = (ArgCmp * len(compare))(*compare) if compare else None
        if number < 0 or lib.seccomp_rule_add_array(context, _SCMP_ACT_ERRNO | error, number, len(compare),
                                                    rules) != 0:
            raise NoIsolation(f"libseccomp cannot refuse {name} on this machine")

    read, write = os.pipe()
    try:
        for name in REFUSED_SYSCALLS:
            refuse(name, errno.EPERM)
        for name in ENOSYS_SYSCALLS:
            refuse(name, errno.ENOSYS)
        for name in ENOTSUP_SYSCALLS:
            refuse(name, errno.EOPNOTSUPP)
        for flag in CLONE_NEW.values():  # (flags & flag) == flag, one rule per flag: any of them is refused
            refuse("clone", errno.EPERM, ArgCmp(0, _SCMP_CMP_MASKED_EQ, flag, flag))
        for name, arguments in OWN_PROCESS_ONLY.items():   # one rule per argument: any of them not the caller
            for number in arguments:
                refuse(name, errno.EPERM, ArgCmp(number, _SCMP_CMP_NE, 0, 0))
        for name, which in OWN_WHICH.items():
            refuse(name, errno.EPERM, ArgCmp(0, _SCMP_CMP_NE, which, 0))
        refuse("process_madvise", errno.EPERM)   # another process's memory, through a pidfd
        refuse("seccomp", errno.EPERM)
        refuse("prctl", errno.EPERM, ArgCmp(0, _SCMP_CMP_MASKED_EQ, INT_BITS, PR_SET_SECCOMP))
        # the kernel reads these two arguments as 32-bit ints: compared on their low 32 bits, or a command with
        # bit 32 set passes the filter and runs as the command refused (a fresh attacker's locks did so)
        for mask, value in masks_outside(FCNTL_ALLOWED):
            refuse("fcntl", errno.EPERM, ArgCmp(1, _SCMP_CMP_MASKED_EQ, mask, value))
        for mask, value in masks_outside((IOCTL_TYPE,), IOCTL_TYPE_BITS):
            refuse("ioctl", errno.ENOTTY, ArgCmp(1, _SCMP_CMP_MASKED_EQ, mask, value))
        for number in NEWER_SYSCALLS:
            if lib.seccomp_rule_add_array(context, _SCMP_ACT_ERRNO | errno.ENOSYS, number, 0, None) != 0:
                raise NoIsolation(f"libseccomp cannot refuse system call {number} on this machine")
        for advice in MADVISE_EVICT:
            refuse("madvise", errno.EPERM, ArgCmp(2, _SCMP_CMP_MASKED_EQ, INT_BITS, advice))
        refuse("futex", errno.EPERM, ArgCmp(1, _SCMP_CMP_MASKED_EQ, FUTEX_PRIVATE_FLAG, 0))
        # huge pages of the host's pool, which no resident size counts: a fresh attacker held 180 MiB of them under
        # --memory 64M (numerical code gets transparent huge pages without asking)
        refuse("mmap", errno.EPERM, ArgCmp(3, _SCMP_CMP_MASKED_EQ, MAP_HUGETLB, MAP_HUGETLB))
        # shared mappings: anonymous ones, or /dev/zero's, are pages of the kernel's own tmpfs, which stay when
        # madvise(MADV_DONTNEED) drops them from the process (no resident size counts them then): a fresh attacker
        # held 63 x --memory so, in helper processes (a gradient maps nothing shared; glibc reads the one file it
        # would map shared, iconv's cache, instead)
        refuse("mmap", errno.EPERM, ArgCmp(3, _SCMP_CMP_MASKED_EQ, MAP_SHARED, MAP_SHARED))
        for name in ("preadv2", "pwritev2"):
            refuse(name, errno.EPERM, ArgCmp(5, _SCMP_CMP_MASKED_EQ, RWF_NOWAIT, RWF_NOWAIT))
        if lib.seccomp_export_bpf(context, write) != 0:
            raise NoIsolation("libseccomp could not compile the candidate's system-call filter")
        os.close(write)
        write = -1
        with os.fdopen(os.dup(read), "rb") as program:
            return program.read()
    finally:
        lib.seccomp_release(context)
        for fd in (read, write):
            if fd >= 0:
                _close(fd)


class Sandbox:
    """One candidate file, loaded in a fresh process inside the isolation.  Not thread-safe.

    `timeout` (seconds) is the budget for loading the file, and for the candidate's calls between
    two restart_clock()s; only the time the parent spends waiting for the candidate counts.
    `memory` (bytes) limits what the candidate's processes and its /tmp and /dev/shm hold together,
    on top of the interpreter, numpy and scipy.  Use it as a context manager: __enter__ starts the
    sandbox and loads the file, __exit__ kills every process of it, whatever happened.
    """

    def __init__(self, path: str | Path, *, timeout: float = 10.0, memory: int = 2 * 1024**3):
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if not memory > 0:
            raise ValueError(f"memory must be positive, not {memory!r}")
        self.path = Path(path)
        self.timeout = float(timeout)
        self.memory = int(memory)
        self.isolation = isolation()  # NoIsolation now, before any candidate runs
        _seccomp_program()            # likewise
        self._process: _Process | None = None
        self._output = _Output(OUTPUT_LIMIT)
        self._left = self.timeout
        self._seq = 0
        self._gone: str | None = None  # why the last process stopped, for calls made after it
        # calls sent ahead (see ahead()): the frames' parts not yet written, and per call sent, in order,
        # (seq, name, what identifies its arguments, the bytes of its frame, the largest reply it may get)
        self._unsent: list = []
        self._unsent_bytes = 0
        self._ahead: deque[tuple[int, str, tuple, int, int]] = deque()
        self._ahead_bytes = 0

    # ---- life cycle --------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        """Start the sandbox and load the file; LoadError or LimitExceeded if that fails."""
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the candidate: every process of it is killed, and its files removed; the server, if still
        in step, is kept for the next Sandbox of this process.  Idempotent."""
        process, self._process = self._process, None
        self._gone = None  # using it now is the caller's mistake, not the candidate's crash
        self._forget_ahead()
        if process is not None:
            process.drain_output(256)
            try:
                process.run("", b"", self.memory)  # every process of the candidate ends now
            except OSError:
                process.kill()
                return
            _keep_idle(process, (self.isolation.name, self.memory))

    def restart(self) -> None:
        """Start a new sandbox and reload the file, e.g. after a LimitExceeded; the clock restarts."""
        self._stop("the sandbox was restarted")
        self._start()

    def fresh(self) -> None:
        """Load the file again in a fresh process (a fork of the server, in emptied folders): nothing
        of the last result's run is left.  LoadError or LimitExceeded as for __enter__."""
        if self._process is None or not self._process.running():
            self.restart()
            return
        if self._seq == 0:  # nothing asked since the file was loaded: already fresh
            return
        self._left = self.timeout
        self._process.drain_output()
        self._output = _Output(OUTPUT_LIMIT)   # each result its own budget of printed output
        self._process.output = self._output
        self._load(again=True)

    def restart_clock(self) -> None:
        """Give the candidate a new time budget of `timeout` seconds for the calls that follow."""
        self._left = self.timeout

    @property
    def alive(self) -> bool:
        """True while the sandbox is running and in step with the parent."""
        return self._process is not None and self._process.running()

    @property
    def output(self) -> str:
        """What the candidate printed (stdout and stderr) so far, cut after ~2000 characters."""
        if self._process is not None:
            self._process.drain_output()
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
        """Run name(*args) in the sandbox and return its answer as an ndarray of a numeric dtype.

        Arrays arrive as fresh copies (0-d stays 0-d), ints as ints, floats as floats.  The answer
        is np.asarray(return value), converted in the sandbox; its dtype is kept (bool, ints,
        floats, complex).  Raises CandidateRaised, FunctionError or LimitExceeded.
        """
        phase, allowed = f"during a call of {name}", {"ok", "raised", "function_error", "memory"}
        if self._ahead:
            key = _identity(args)
            while self._ahead and self._ahead[0][1:3] != (name, key):
                self._answer(phase, allowed)   # sent ahead, but the caller went another way: dropped
        if self._ahead:
            meta, blob = self._answer(phase, allowed)
        else:
            specs, blobs = _encode_args(args)
            meta, blob = self._request({"op": "call", "name": name, "args": specs}, blobs, phase, allowed,
                                       limit=_reply_limit(blobs))
        status = meta["status"]
        if status == "raised":
            raised = CandidateRaised(_one_line(meta["message"]))
            exception = meta.get("exception")
            raised.exception = exception if isinstance(exception, str) else ""
            raise raised
        if status == "function_error":
            raise _function_error(meta)
        if status == "memory":
            self._fail(MemoryLimit, self._memory_message())
        try:
            return _decode_array(blob)
        except ValueError as exc:
            self._fail(Crashed, f"the candidate's process broke the result channel ({exc})")

    def ahead(self, name: str, calls: list[tuple]) -> None:
        """Send these calls of `name` now, without waiting for their answers: the candidate computes them
        one after the other while the caller judges the answers it has, and call() with the same
        arguments, in the same order, takes each answer as it comes.  It saves a round trip per call and
        lets the candidate compute beside its judge.  A call() that is not the next one sent drops the
        answers before it; fresh() drops them all.  Only the time spent waiting for an answer counts
        against the budget, as for every call."""
        self._running()
        for args in calls:
            specs, blobs = _encode_args(tuple(args))
            self._seq += 1
            frame = _frame({"op": "call", "name": name, "args": specs, "seq": self._seq}, blobs)
            size = sum(len(part) for part in frame)
            self._unsent += frame
            self._unsent_bytes += size
            self._ahead.append((self._seq, name, _identity(tuple(args)), size, _reply_limit(blobs)))
            self._ahead_bytes += size

    # ---- internals ---------------------------------------------------------------------------
    def _answer(self, phase: str, allowed: set[str]) -> tuple[dict, memoryview]:
        """The answer to the first call sent ahead, writing the later ones as the pipe takes them."""
        process = self._running()
        seq, _, _, size, limit = self._ahead[0]
        started = time.monotonic()
        try:
            reply, blob = self._exchange(process, self._unsent or None, self._left, phase,
                                         behind=self._ahead_bytes - size, limit=limit, unsent=self._unsent_bytes)
        finally:
            self._left -= time.monotonic() - started
        self._ahead.popleft()
        self._ahead_bytes -= size
        self._expect(reply, seq, allowed, phase)
        if reply["status"] != "ok" and len(blob):
            self._fail(Crashed, "the candidate's process broke the result channel (unexpected data)")
        return reply, blob

    def _forget_ahead(self) -> None:
        self._unsent, self._unsent_bytes, self._ahead, self._ahead_bytes = [], 0, deque(), 0

    def _start(self) -> None:
        if self.path.is_symlink():  # an upload could link hw4.py to the key
            raise LoadError(f"{self.path.name}: a symbolic link, which is not accepted: submit the file itself")
        if not self.path.exists():
            raise LoadError(f"{self.path}: no such file")
        if self.path.suffix != ".py":
            raise LoadError(f"{self.path.name}: not a Python file (expected a .py file)")
        try:
            self._source = _read_regular(self.path)
        except OSError as exc:
            raise LoadError(f"{self.path.name}: cannot read the file: {exc.strerror or exc}") from None
        self._gone = None
        self._left = self.timeout
        process = _IDLE.pop((self.isolation.name, self.memory), None)
        if process is not None and not process.running():
            process.kill()
            process = None
        if process is None:
            try:
                process = _Process(self.isolation, self.memory)
            except OSError as exc:
                raise Crashed(f"could not start the sandbox: {_one_line(str(exc))}") from None
        process.output = self._output
        self._process = process
        if not process.ready:
            try:
                # Two budgets: starting python, numpy and scipy is not the candidate's time, loading its file is.
                self._seq = 0
                meta, _ = self._exchange(process, None, START_BUDGET, "while starting", starting=True)
                self._expect(meta, 0, {"ready"})
                process.baseline()
                process.ready = True
            except BaseException:
                self._stop("starting the sandbox failed")
                raise
        self._load()

    def _load(self, again: bool = False) -> None:
        """Have the server end what ran, empty the folders, write the file and fork a child that loads it."""
        process = self._process
        assert process is not None
        self._seq = 0
        self._forget_ahead()   # the last child's calls: the server drops what it had of them
        try:
            process.run(self.path.name, self._source, self.memory, again)
            phase = f"while loading {self.path.name}"
            try:
                meta, _ = self._exchange(process, None, self.timeout, phase)
                self._expect(meta, 0, {"loaded", "load_error", "memory", "setup_error"}, phase)
            except Crashed as exc:  # os._exit or a crash at import: the file cannot be loaded, no limit was hit
                raise LoadError(f"{self.path.name}: cannot be loaded: {str(exc).removesuffix(' ' + phase)}") from None
            if meta["status"] == "setup_error":
                self._fail(Crashed, f"could not start the candidate's process: {_one_line(meta['message'])}")
            if meta["status"] == "memory":
                self._fail(MemoryLimit, self._memory_message() + f" {phase}")
            if meta["status"] == "load_error":
                self._fail(LoadError, _one_line(meta["message"]))
        except OSError as exc:  # the server is gone: its pipes are closed
            self._stop("the sandbox's server is gone")
            raise Crashed(f"the sandbox's server is gone ({_one_line(str(exc))})") from None
        except BaseException:
            self._stop("loading the file failed")  # __exit__ does not run when __enter__ raises
            raise

    def _request(self, meta: dict, blobs: list, phase: str, allowed: set[str],
                 limit: int = REPLY_FLOOR) -> tuple[dict, memoryview]:
        while self._ahead:   # their answers come first: read and dropped
            self._answer(phase, {"ok", "raised", "function_error", "memory"})
        process = self._running()
        self._seq += 1
        meta["seq"] = self._seq
        frame = _frame(meta, blobs)
        started = time.monotonic()
        try:
            reply, blob = self._exchange(process, frame, self._left, phase, limit=limit)
        finally:
            self._left -= time.monotonic() - started
        self._expect(reply, self._seq, allowed, phase)
        if reply["status"] != "ok" and len(blob):
            self._fail(Crashed, "the candidate's process broke the result channel (unexpected data)")
        return reply, blob

    def _exchange(self, process: _Process, frame: list | None, budget: float, phase: str, *,
                  starting: bool = False, behind: int = 0, limit: int = REPLY_FLOOR,
                  unsent: int | None = None) -> tuple[dict, memoryview]:
        """Send `frame` (if any) and wait for one reply frame, enforcing time and memory.

        `behind`: how many bytes at the end of `frame` are later requests (calls sent ahead), which
        need not be written before the reply comes; what is left of them stays in self._unsent.
        `unsent`: the bytes of `frame`, when the caller keeps count (calls sent ahead are thousands of
        buffers, too many to count at every exchange).

        Everything that can go wrong ends here with the sandbox killed and a LimitExceeded raised;
        anything else escaping (KeyboardInterrupt in the parent) also kills it, since a half-done
        exchange leaves the pipes out of step.
        """
        try:
            now = time.monotonic()
            # the watch keeps its pace from one exchange to the next, and a look that is due is taken before the
            # request goes out: memory that helper processes hold between calls, and free when one starts, shows
            deadline, watch = now + budget, process.watch_at
            pending = frame
            pending_bytes = unsent if unsent is not None else sum(len(part) for part in frame or ())
            reader = _FrameReader(process, limit)
            if not starting and now >= watch:
                watch = process.watch_at = now + WATCH_INTERVAL
                self._look(process, phase, reader)
            while True:
                if pending is not None:
                    pending, written = process.write(pending)
                    pending_bytes -= written
                    # only the awaited request must be out before its answer can come: the calls sent ahead
                    # go as the pipe takes them, without a wakeup for each page the candidate reads
                    process.want_write(pending is not None and pending_bytes > behind)
                wait = max(0.0, min(deadline, watch) - time.monotonic())
                for fd, _ in process.poller.poll(math.ceil(wait * 1000)):
                    if fd == process.out_r:
                        process.drain_output()
                    elif fd == process.rep_r and reader.read(fd):
                        return self._finish(reader, pending, pending_bytes, behind)
                now = time.monotonic()
                if now >= watch:
                    watch = process.watch_at = now + WATCH_INTERVAL
                    if self._look(process, phase, reader, starting):
                        return self._finish(reader, pending, pending_bytes, behind)
                if now >= deadline:
                    if starting:
                        self._fail(Crashed, f"the sandbox did not start within {budget:g} s")
                    suffix = "" if phase.startswith("during") else f" {phase}"
                    self._fail(TimeLimit, f"time limit of {self.timeout:g} s exceeded{suffix}")
        except _Died:
            self._fail(Crashed, f"the candidate's process {process.death()} {phase}")
        except _BadFrame as exc:
            self._fail(Crashed, f"the candidate's process broke the result channel ({exc})")
        except SandboxError:
            raise
        except BaseException:
            self._stop("interrupted while waiting for it")
            raise

    def _finish(self, reader: _FrameReader, pending: list | None, pending_bytes: int,
                behind: int) -> tuple[dict, memoryview]:
        if pending is not None and pending_bytes > behind:
            raise _BadFrame("a reply came before the request was sent")
        self._unsent, self._unsent_bytes = (pending, pending_bytes) if pending is not None else ([], 0)
        return reader.decode()

    def _look(self, process: _Process, phase: str, reader: _FrameReader, starting: bool = False) -> bool:
        """The watch: raise _Died or MemoryLimit; True when the reply came just before the process ended."""
        if not process.running():
            if reader.read(process.rep_r):  # it may have answered just before it ended
                return True
            raise _Died
        if not starting and process.over(self.memory):
            self._fail(MemoryLimit, self._memory_message() + ("" if phase.startswith("during") else f" {phase}"))
        return False

    def _expect(self, meta: dict, seq: int, allowed: set[str], phase: str = "") -> None:
        status, got = meta.get("status"), meta.get("seq")
        if status == "protocol_error":
            self._fail(ProtocolError, "the sandbox could not read the grader's request "
                       f"({_one_line(str(meta.get('message')), 120)}): the channel between them went out of step, "
                       "which a candidate that writes on the sandbox's own channels causes, as would a bug of the "
                       "grader")
        if status == "died" and type(meta.get("code")) is int:  # the server saw the candidate end
            self._fail(Crashed, f"the candidate's process {_death(meta['code'])} {phase}".rstrip())
        if type(got) is not int or got != seq or not isinstance(status, str) or status not in allowed:
            self._fail(Crashed, "the candidate's process broke the result channel (unexpected reply)")
        if (status in ("load_error", "function_error", "raised", "setup_error")
                and not isinstance(meta.get("message"), str)):
            self._fail(Crashed, "the candidate's process broke the result channel (malformed reply)")

    def _running(self) -> _Process:
        if self._process is None:
            if self._gone is None:
                raise RuntimeError("the sandbox is not started: use `with Sandbox(path) as box:`")
            raise Crashed(f"the candidate's process is not running ({self._gone}); call restart()")
        return self._process

    def _fail(self, kind: type[SandboxError], message: str) -> NoReturn:
        if issubclass(kind, (LimitExceeded, LoadError, ProtocolError)):
            self._stop(message)
            self._gone = message
        raise kind(message) from None

    def _stop(self, reason: str) -> None:
        process, self._process = self._process, None
        self._forget_ahead()
        if process is not None:
            self._gone = reason
            process.drain_output(256)  # what it printed before it ended is still the candidate's output
            process.kill()

    def _memory_message(self) -> str:
        return f"memory limit of {_size(self.memory)} exceeded"


def _function_error(meta: dict) -> FunctionError:
    kind = MissingFunction if meta.get("missing") is True else FunctionError
    return kind(_one_line(meta["message"]))


def _reply_limit(blobs: list) -> int:
    return max(REPLY_FLOOR, REPLY_FACTOR * sum(len(blob) for blob in blobs))


def _identity(args: tuple) -> tuple:
    """What tells two calls' arguments apart: their types, dtypes, shapes and bytes."""
    return tuple((a.dtype.str, a.shape, a.tobytes()) if isinstance(a, np.ndarray) else (type(a).__name__, a)
                 for a in args)


class _Died(Exception):
    """The child exited or closed the reply pipe."""


class _BadFrame(Exception):
    """The child sent something that is not a well-formed frame."""


# ---- the sandbox's processes ---------------------------------------------------------------------------
class _Process:
    """The server of a sandbox (in bwrap, as the candidate's user, or plain), and its five pipe ends."""

    def __init__(self, how: Isolation, memory: int):
        self.how = how
        self.output = _Output(OUTPUT_LIMIT)  # the current Sandbox's
        self.spare = bytearray()  # grown to the largest reply up to SPARE_LIMIT
        self.base = 0             # what the server holds once ready: the interpreter, numpy, scipy
        self.watch_at = 0.0       # when the watch next looks at its memory (time.monotonic)
        self.ready = False
        self._end = _End(how)
        parent_ends: list[int] = []
        child_ends: list[int] = []
        try:
            # control and requests: the parent writes; status, replies and output: it reads
            for mine in (1, 0, 1, 0, 0):
                pair = os.pipe()
                parent_ends.append(pair[mine])
                child_ends.append(pair[1 - mine])
            self.ctl_w, self.status_r, self.req_w, self.rep_r, self.out_r = parent_ends
            self._end.fds = list(parent_ends)
            for fd in (self.req_w, self.rep_r):
                _grow_pipe(fd)
            config = {"control": child_ends[0], "status": child_ends[1], "request": child_ends[2],
                      "reply": child_ends[3], "kill": KILL[how.name], "seccomp": _seccomp_program().hex()}
            self._end.proc = subprocess.Popen(
                self._command(config, memory), stdin=subprocess.DEVNULL, stdout=child_ends[4],
                stderr=child_ends[4], cwd="/", env=ENVIRONMENT, pass_fds=child_ends[:4], start_new_session=True)
        except BaseException:
            self._end.close()
            raise
        finally:
            for fd in child_ends:  # only the sandbox may hold these, or its death would not show as EOF
                _close(fd)
        self._finalizer = weakref.finalize(self, self._end.close)  # a dropped Sandbox is still cleaned up
        for fd in (self.req_w, self.rep_r, self.out_r):
            os.set_blocking(fd, False)
        self.poller = select.poll()
        self.poller.register(self.rep_r, select.POLLIN)
        self.poller.register(self.out_r, select.POLLIN)
        self._writing = False
        self._output_open = True

    def _command(self, config: dict, memory: int) -> list[str]:
        server = SERVER.read_text(encoding="utf-8")
        if self.how.name == "bubblewrap":
            python, mounts, site = _runtime()
            config.update(home="/tmp", wipe=["/tmp", "/dev/shm"], site=site)
            if self.how.flags == ROOT_FLAGS:
                uid = candidate_uid()
                config.update(user=[uid, uid])
            # --as-pid-1: the server is the sandbox's pid 1, not bwrap's init, which would run as the candidate's
            # uid under a normal user's grader, dumpable and unfiltered, and outlive every candidate it served
            return ["bwrap", *self.how.flags, "--as-pid-1", "--die-with-parent", "--new-session",
                    "--clearenv", *(a for k, v in ENVIRONMENT.items() for a in ("--setenv", k, v)), *mounts,
                    "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(memory),
                    "--tmpfs", "/tmp", "--perms", "1777", "--size", str(memory), "--tmpfs", "/dev/shm",
                    # no pseudo-terminals (/dev/ptmx leads into /dev/pts): each holds kernel memory no limit
                    # counts, and the host has a few thousand for everyone
                    "--perms", "0555", "--size", "4096", "--tmpfs", "/dev/pts",
                    # /dev is a tmpfs bwrap makes for the device nodes: read-only, or a candidate of a normal
                    # user's grader fills it uncounted and leaves files there for the next submission
                    "--remount-ro", "/dev/pts", "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp",
                    python, "-I", "-S", "-c", server, json.dumps(config)]
        # Without namespaces the candidate's copy lives in a private folder of its own.
        if self.how.name == "user":
            user = pwd.getpwnam(CANDIDATE_USER)
            self._end.uid = user.pw_uid
            self._end.lock = _lock_user()
            # before this candidate's folder is made: a grader's workers made theirs before waiting for the lock, and
            # the one holding it removed the others' as stale (a right submission graded 'error', 2 runs in 5)
            _remove_stale_homes()
        home = self._end.home = tempfile.mkdtemp(prefix=USER_HOME if self.how.name == "user" else "verify-sandbox-")
        config.update(home=home, wipe=[home], site=[])
        if self.how.name == "user":
            os.chmod(home, 0o755)  # root's: the candidate reads its file there, but cannot move the folder away
            # the folders every user may write in (a fresh attacker left a file for the next student in /run/lock)
            shared = [folder for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock") if os.path.isdir(folder)]
            config.update(user=[user.pw_uid, user.pw_gid], wipe=[home, *shared])
            return [CANDIDATE_PYTHON, "-I", "-c", server, json.dumps(config)]
        config["site"] = [str(Path(np.__file__).parents[1])]
        return [os.path.realpath(sys.executable), "-I", "-S", "-c", server, json.dumps(config)]

    def run(self, name: str, source: bytes, memory: int, again: bool = False) -> None:
        """Have the server start a fresh child on this file ("": none): wait for its word that nothing of
        the last one runs, drop what the last one left in the pipes, then send the file.  OSError if the
        server is gone."""
        command = {"name": name, "size": len(source), "memory": memory, "again": again}
        os.write(self.ctl_w, json.dumps(command).encode() + b"\n")
        word = b""
        deadline = time.monotonic() + START_BUDGET
        while not word.endswith(b"\n"):
            if not select.select([self.status_r], [], [], max(0.0, min(1.0, deadline - time.monotonic())))[0]:
                if time.monotonic() >= deadline:
                    raise OSError("the sandbox's server did not answer")
                # a candidate of the server's own uid (a normal user's grader) may have stopped it (SIGSTOP)
                for pid in self._end.processes():
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGCONT)
                continue
            chunk = os.read(self.status_r, 64)
            if not chunk:
                raise OSError("the sandbox's server ended")
            word += chunk
        if word == b"dirty\n":  # it could not empty the last candidate's folders, and has ended
            raise OSError("the sandbox's server could not remove what the last candidate left, and ended")
        if word != b"clean\n":
            raise OSError("the sandbox's server broke its protocol")
        # What is left in the pipes was written by the last candidate: it goes nowhere, above all
        # not into the output of the next student's Sandbox.
        current, self.output = self.output, _Output(0)
        self.drain_output(256)
        self.output = current
        with contextlib.suppress(BlockingIOError):
            while os.read(self.rep_r, DRAIN_CHUNK):
                pass
        view = memoryview(source)  # the server forks the child once the whole file is there
        while view:
            view = view[os.write(self.ctl_w, view):]

    def write(self, parts: list) -> tuple[list | None, int]:
        """Write what the pipe takes now; return what is left (None when all is written) and the bytes written."""
        try:
            n = written = os.writev(self.req_w, parts[:IOV_MAX])
        except BlockingIOError:
            return parts, 0
        except BrokenPipeError:
            raise _Died from None
        for at, part in enumerate(parts):  # drop what went out, without copying what did not
            if n < len(part):
                return [memoryview(part)[n:] if n else part, *parts[at + 1:]], written
            n -= len(part)
        return None, written

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
        return self._end.proc is not None and self._end.proc.poll() is None

    def death(self) -> str:
        """How the sandbox ended, once the reply channel closed: give it a moment to finish dying."""
        proc = self._end.proc
        assert proc is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.2)
        return _death(proc.returncode) if proc.returncode is not None else "closed the result channel"

    def baseline(self) -> None:
        """Take what the server holds now (ready, nothing of the candidate's loaded) as zero."""
        self.base = sum(_private_memory(pid) + _usage(pid)[1] for pid in self._end.processes())

    def over(self, limit: int) -> bool:
        """Whether the candidate holds more than `limit` bytes beyond the baseline: its processes' own memory, their
        page tables and its tmpfs files.  A process's resident size, which the kernel keeps counted, is at least its
        share of anonymous and shared memory; that share (smaps_rollup walks every page of the process, milliseconds
        for a forked interpreter, at every look) is read only when the resident sizes are over the limit."""
        pids = self._end.processes()
        usage = [_usage(pid) for pid in pids]   # and their page tables (_usage)
        files = self._tmpfs_used(pids) + sum(tables for _, tables in usage)
        if sum(resident for resident, _ in usage) - self.base + files <= limit:
            return False
        return sum(_private_memory(pid) for pid in pids) - self.base + files > limit

    def _tmpfs_used(self, pids: list[int]) -> int:
        """Bytes of the candidate's /tmp and /dev/shm in bubblewrap, seen through a process inside."""
        used = 0
        if self.how.name == "bubblewrap":
            for pid in pids[:1]:
                for folder in ("tmp", "dev/shm"):
                    with contextlib.suppress(OSError):
                        info = os.statvfs(f"/proc/{pid}/root/{folder}")
                        # an empty file holds no block but its inode, about a KiB of the kernel's memory
                        used += ((info.f_blocks - info.f_bfree) * info.f_frsize
                                 + (info.f_files - info.f_ffree) * INODE_COST)
        return used

    def kill(self) -> None:
        self._finalizer()


class _End:
    """Everything needed to end one sandbox, whoever ends it (close(), an error, the finalizer).

    Holds no reference to the _Process, so that a dropped Sandbox is still cleaned up.
    """

    def __init__(self, how: Isolation):
        self.how = how
        self.proc: subprocess.Popen | None = None
        self.fds: list[int] = []
        self.home: str | None = None
        self.uid: int | None = None
        self.lock: int | None = None
        self.parents: dict[int, int] = {}

    def processes(self) -> list[int]:
        """The sandbox's processes, the server first: bwrap's tree, or the candidate user's processes."""
        if self.proc is None:
            return []
        if self.uid is not None:
            owned = [pid for pid in _pids() if _owner(pid) == self.uid]
            return [self.proc.pid, *owned]
        found = self._tree()
        if self.how.name == "bubblewrap":
            # the sandbox's own /proc counts its processes: a tree that misses one (a parent's pid taken by another
            # process before the next look, its orphan filed under that one) is read again in full
            if len(found) < 2 or _namespace_size(found[1]) > len(found) - 1:
                self.parents.clear()
                found = self._tree()
            return found[1:]  # bwrap's own process outside holds nothing of the candidate's
        return found

    def _tree(self) -> list[int]:
        """bwrap's process (or the plain server) and its descendants.  Each process's parent is kept from look to
        look: reading every process's stat at each look (every 50 ms) cost a grader more CPU than judging, on a host
        with a few hundred processes.  A parent is read again when it ends (its orphans move to the server, a
        subreaper), and a pid is forgotten when it ends."""
        assert self.proc is not None
        live = _pids()
        known = self.parents
        for pid in known.keys() - set(live):
            del known[pid]
        children: dict[int, list[int]] = {}
        for pid in live:
            parent = known.get(pid)
            if parent is None or (parent and parent not in known):   # 0: the parent of init and of kthreadd
                parent = _parent(pid)
                if parent >= 0:
                    known[pid] = parent
            children.setdefault(parent, []).append(pid)
        found, at = [self.proc.pid], 0
        while at < len(found):
            found += children.get(found[at], [])
            at += 1
        return found

    def close(self) -> None:
        try:
            if self.proc is not None:
                if self.fds:  # the control pipe: the server ends everything it started
                    _close(self.fds.pop(0))
                if self.uid is not None:
                    _kill_user(self.uid)
                for pid in reversed(self.processes()):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(KILL_WAIT)
        finally:
            for fd in self.fds:
                _close(fd)
            self.fds = []
            if self.home is not None:
                shutil.rmtree(self.home, ignore_errors=True)
                self.home = None
            if self.lock is not None:
                _close(self.lock)
                self.lock = None


# A server kept for the next Sandbox of this process, by isolation and memory limit: a submission then costs a fork,
# not an interpreter start with numpy and scipy (~0.7 s of CPU).
_IDLE: dict[tuple[str, int], _Process] = {}


def _keep_idle(process: _Process, key: tuple[str, int]) -> None:
    # Not as the candidate's user: its server holds the lock that lets one candidate run at a time.
    if not process.running() or not process.ready or process.how.name != key[0] or key[0] == "user":
        process.kill()
        return
    previous = _IDLE.pop(key, None)
    if previous is not None:
        previous.kill()
    _IDLE[key] = process


def _forget_idle_in_child() -> None:
    """A forked child leaves its parent's servers alone: it neither uses nor kills them."""
    for process in _IDLE.values():
        process._finalizer.detach()
        for fd in process._end.fds:
            _close(fd)
    _IDLE.clear()


os.register_at_fork(after_in_child=_forget_idle_in_child)


def prepare() -> Isolation:
    """Work out now what every sandbox of this process needs once (the isolation, the seccomp filter,
    bwrap's mounts: ~0.3 s), so that the processes forked from this one (the grader's workers) inherit it."""
    how = isolation()
    _seccomp_program()
    if how.name == "bubblewrap":
        _runtime()
    return how


@functools.cache
def _runtime() -> tuple[str, tuple[str, ...], list[str]]:
    """The interpreter, bwrap's mounts of the runtime (read-only), and the folders inside holding numpy and scipy.

    The system folders and the interpreter's own prefix, with every site-packages folder we know of
    hidden under an empty tmpfs (our own packages may be installed there, or an editable install's
    finder that points at the project); then numpy's and scipy's own files, and nothing else
    installed beside them, bound under /site.
    """
    from importlib import metadata
    python = os.path.realpath(sys.executable)
    mounts: list[str] = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            mounts += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            mounts += ["--ro-bind", top, top]
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/usr/") and prefix != "/usr":
        mounts += ["--ro-bind", prefix, prefix]
    hidden = set()
    for pattern in (f"{prefix}/lib/python3*/*-packages", "/usr/lib/python3*/*-packages",
                    "/usr/local/lib/python3*/*-packages", *sys.path):
        for folder in glob.glob(pattern):
            folder = os.path.realpath(folder)
            if folder.endswith(("site-packages", "dist-packages")) and os.path.isdir(folder) and (
                    folder.startswith(prefix + "/") or folder.startswith("/usr/")):
                hidden.add(folder)
    for folder in sorted(hidden):
        # read-only and tiny: under a normal user's grader the candidate owns a tmpfs bwrap makes, and filled these
        # with 300 MB under --memory 64M, left for the next student (only /tmp and /dev/shm are emptied and counted)
        mounts += ["--perms", "0555", "--size", "4096", "--tmpfs", folder, "--remount-ro", folder]
    for name in ("numpy", "scipy"):
        distribution = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in distribution.files or []}
        for top in sorted(tops - {"..", "bin"}):
            source = Path(str(distribution.locate_file(top)))
            if source.exists() and not top.endswith(".pth"):
                mounts += ["--ro-bind", str(source), f"/site/{top}"]
    # bwrap makes the folders above a mount point private (0700), which nobody, the candidate under a root
    # grader, could not cross: make them first, readable.
    folders = {str(parent) for option, *args in _options(mounts) if option in ("--ro-bind", "--tmpfs")
               for parent in Path(args[-1]).parents if str(parent) != "/"}
    made = [a for folder in sorted(folders, key=len) for a in ("--perms", "0755", "--dir", folder)]
    return python, (*made, *mounts), ["/site"]


def _options(arguments: list[str]) -> list[list[str]]:
    """bwrap's mount options, each with its arguments."""
    grouped: list[list[str]] = []
    for argument in arguments:
        if argument.startswith("--"):
            grouped.append([argument])
        else:
            grouped[-1].append(argument)
    return grouped


def _read_regular(path: Path) -> bytes:
    """The file's bytes, never through a symbolic link (an upload could link hw4.py to the key) nor a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        if info.st_size > MAX_SOURCE:
            raise OSError(0, f"{_size(info.st_size)}, more than the {_size(MAX_SOURCE)} a submission's file may hold")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(MAX_SOURCE + 1)
        if len(data) > MAX_SOURCE:   # it grew while being read
            raise OSError(0, f"more than the {_size(MAX_SOURCE)} a submission's file may hold")
        return data
    finally:
        os.close(fd)


def _lock_user() -> int:
    """One candidate at a time as the candidate's user: each ends the last one's processes with kill(-1)."""
    fd = os.open(USER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    import fcntl
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _remove_stale_homes() -> None:
    """The folders of candidates whose grader was killed before it removed them (each holds a student's file,
    readable by the candidate's user, whom every later candidate runs as: a fresh attacker's read one).  Called
    holding the user's lock, before the next candidate's folder is made, so no folder left is in use."""
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), USER_HOME + "*")):
        seen = os.lstat(folder)
        if stat.S_ISDIR(seen.st_mode) and seen.st_uid == os.geteuid():
            shutil.rmtree(folder, ignore_errors=True)


def _kill_user(uid: int) -> None:
    """kill(-1) as `uid` in a forked child: every process of that user, a setsid() daemon included."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _namespace_size(server: int) -> int:
    """How many processes the sandbox's PID namespace holds, from its own /proc (a very large number when it cannot
    be read, so that the caller reads every process instead)."""
    try:
        return sum(name.isdigit() for name in os.listdir(f"/proc/{server}/root/proc"))
    except OSError:
        return sys.maxsize


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            return int(file.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _owner(pid: int) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def _usage(pid: int) -> tuple[int, int]:
    """A process's resident size and the size of its page tables, in bytes, from /proc/<pid>/status: counters, read
    without walking its pages.  The page tables are kernel memory its mappings cost (one-page mappings a gigabyte
    apart show no resident page, a read maps the shared zero page, but cost 8 KiB of tables each: a fresh attacker
    held 780 MB so under --memory 64M)."""
    fields = _status(f"/proc/{pid}")
    if fields.get(b"State", b"").strip().startswith(b"Z"):   # its first thread has ended: a live thread's (_memory_of)
        fields = _status(_memory_of(pid))
    return _kib(fields.get(b"VmRSS")), _kib(fields.get(b"VmPTE"))


def _status(folder: str) -> dict[bytes, bytes]:
    """The fields of a /proc status file, each with the rest of its line; none when it cannot be read."""
    try:
        with open(f"{folder}/status", "rb") as file:
            return dict(line.split(b":", 1) for line in file.read().splitlines() if b":" in line)
    except OSError:
        return {}


def _kib(value: bytes | None) -> int:
    try:
        return int(value.split()[0]) * 1024 if value else 0
    except (ValueError, IndexError):
        return 0


def _memory_of(pid: int) -> str:
    """The /proc folder that shows a process's memory: its own, or, when its first thread has ended while others
    run (a zombie leader, whose own files show no memory at all), one of its live threads' (a fresh attacker held
    500 MB under --memory 64M in helper processes whose first thread had exited)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            state = file.read().rsplit(b")", 1)[1].split()[0]
        if state != b"Z":
            return f"/proc/{pid}"
        for tid in os.listdir(f"/proc/{pid}/task"):
            if tid != str(pid):
                return f"/proc/{pid}/task/{tid}"
    except (OSError, IndexError):
        pass
    return f"/proc/{pid}"


def _private_memory(pid: int) -> int:
    """Memory a process adds of its own: its proportional share of anonymous memory (a forked child
    shares most of its pages with the server, and each is charged half of them) and of any shared
    memory it maps (the system-call filter refuses every way to make some; counted should one be missed)."""
    used = 0
    try:
        with open(f"{_memory_of(pid)}/smaps_rollup", "rb") as file:
            for line in file.read().split(b"\n"):
                if line.startswith((b"Pss_Anon:", b"Pss_Shmem:")):
                    used += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return used


# ---- frames and arrays -------------------------------------------------------------------------------
class _FrameReader:
    """Reads exactly one frame from a non-blocking fd, validating its header before its body.

    The body goes into the child's `spare` buffer, kept from call to call: a fresh buffer of a few
    hundred KiB per call costs more in page faults than the rest of the call.  Decode the frame
    before reading the next one.
    """

    def __init__(self, owner: _Process, limit: int = MAX_BLOB) -> None:
        self.owner = owner
        self.limit = limit
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
                if blob_len > self.limit:
                    raise _BadFrame(f"an answer of {_size(blob_len)}, more than {REPLY_FACTOR} times the size of its "
                                    f"arguments: no gradient of them is that large")
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


def _decode_array(blob: memoryview | bytes) -> np.ndarray:
    """The one array of an .npy blob from the child, or ValueError if it is anything but numbers.

    Only the header the server writes for a numeric array (np.save's, version 1.0) is read, and the
    data must fill the rest exactly: an object array would need unpickling, which is running code the
    child chose, and a structured or text dtype has no such header.  The numbers end in an array of
    the caller's own, writable, in native byte order.
    """
    view = memoryview(blob)
    if len(view) < _NPY_PREAMBLE.size:
        raise ValueError("not an .npy array")
    magic, major, minor, length = _NPY_PREAMBLE.unpack_from(view)
    offset = _NPY_PREAMBLE.size + length
    match = _PLAIN_HEADER.fullmatch(bytes(view[_NPY_PREAMBLE.size:offset]))
    if match is None or magic != b"\x93NUMPY" or (major, minor) != (1, 0):
        raise ValueError("not an .npy array of numbers")
    try:
        dtype = np.dtype(match[1].decode())
    except TypeError:
        raise ValueError(f"an array of dtype {match[1].decode()} is refused") from None
    shape = tuple(int(n) for n in match[3].split(b",") if n.strip())
    if math.prod(shape) * dtype.itemsize != len(view) - offset:
        raise ValueError("not exactly one .npy array")  # truncated, or trailing data
    flat = np.frombuffer(view, dtype=dtype, offset=offset)
    return flat.reshape(shape, order="F" if match[2] == b"True" else "C").astype(dtype.newbyteorder("="), order="K")


# The header np.save writes for a plain numeric array, as the server writes it.
_PLAIN_HEADER = re.compile(rb"\{'descr': '([<>|][biufc][0-9]{1,2})', 'fortran_order': (True|False), "
                           rb"'shape': \(((?:[0-9]{1,19}(?:, [0-9]{1,19}){0,31},?)?)\), \} *\n")


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


def _one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message from the child as one printable line: it must not be able to forge a verdict line."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _death(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:  # the number may come from the candidate's side (a forged "died"): any integer
            name, description = signal.Signals(-code).name, signal.strsignal(-code)
        except (ValueError, OverflowError):
            name, description = "unknown", None
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
