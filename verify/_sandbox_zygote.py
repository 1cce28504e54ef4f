"""Fork server ("zygote") of verify.sandbox: a small process that forks one fresh sandbox child per request.

Started once per grader process, lazily, by the parent (`verify.sandbox`), never imported:

    python -I _sandbox_zygote.py SOCKET_FD

It imports the standard library, numpy and the preload list (scipy.signal and scipy.ndimage when
they are installed), then loads `_sandbox_child.py` by its path, and never the `verify` package: it
holds nothing of the homework, nothing of the key, and runs no line of a candidate's.  A sandbox
child forked from it starts in a few milliseconds with all of that already imported, where a fresh
`python -I _sandbox_child.py` takes ~0.1 s, plus ~0.8 s when the candidate imports scipy.signal.

The parent talks to it over a Unix SOCK_SEQPACKET socket pair, one JSON object per message:

    parent -> zygote   {"op": "spawn", "id": N, "config": {...}}   with 3 fds: request, reply, output
                       {"op": "release", "id": N, "pid": P}         kill P's group, reap P
    zygote -> parent   {"event": "hello", "pid": P}                 ready to fork
                       {"event": "spawned", "id": N, "pid": P}      or {"event": "failed", "id": N, ...}
                       {"event": "exit", "pid": P, "status": S}     P exited on its own (S as Popen's
                                                                    returncode: -signal or the status)
                       {"event": "released", "id": N, "pid": P, "status": S}

Each child is forked, made the leader of a session of its own, given /dev/null as stdin, the output
pipe as stdout and stderr, its temporary directory as working directory, HOME and TMPDIR, and no
other fd than its two protocol pipes; then `_sandbox_child.run(config)` gives up root (when given a
uid) before it loads the candidate's file, exactly as a directly started child does.  The zygote
keeps every exited child a zombie until the parent releases it, so that the child's pid (= its
process group id) cannot be reused while the parent may still signal that group.

When the parent goes away (its end of the socket closes, SIGKILL included), the zygote kills every
child's process group and, for a child given a uid, every process of that uid (a helper forked for
the purpose gives itself that uid and calls kill(-1, SIGKILL)), removes the children's temporary
directories, and exits.  It makes itself non-dumpable, so that a process of the same user (the
grader is not root) can neither read nor write its memory nor ptrace it.
"""
import contextlib
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # nothing of verify/ importable

import numpy as np  # noqa: E402, F401  (what every child needs, loaded once here)

PRELOAD = ("scipy.signal", "scipy.ndimage")
CHILD = os.path.join(_HERE, "_sandbox_child.py")
SANDBOX_PREFIX = "verify-sandbox-"
MESSAGE_SIZE = 1 << 16
PR_SET_DUMPABLE = 4
KILL_WAIT = 5.0  # seconds to wait for a killed child to be gone before giving up on it (D state)


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[1]))
    _nondumpable()
    for name in PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    spec = importlib.util.spec_from_file_location("_sandbox_child", CHILD)
    assert spec is not None and spec.loader is not None
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)
    gc.collect()
    gc.freeze()  # the children's collections then leave these objects alone: fewer pages copied
    Zygote(sock, child).serve()


class Zygote:
    def __init__(self, sock: socket.socket, child) -> None:
        self.sock = sock
        self.child = child
        self.kids: dict[int, dict] = {}  # pid -> {"uid", "home", "status"}
        self.strays: set[int] = set()    # released children that would not die in time: reaped later
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd hears of it
        self.wake_w = wake_w

    def send(self, message: dict) -> None:
        self.sock.send(json.dumps(message).encode())

    def serve(self) -> None:
        self.send({"event": "hello", "pid": os.getpid()})
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        while True:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            for fd, _ in events:
                if fd == self.wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 4096)
                    self.check_children()
                elif not self.receive():
                    self.shutdown()
                    return

    def receive(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MESSAGE_SIZE, 3)
        except (ConnectionError, OSError):
            return False
        if not data:
            for fd in fds:
                os.close(fd)
            return False
        message = json.loads(data)
        if message.get("op") == "spawn":
            self.spawn(message, fds)
        else:
            for fd in fds:
                os.close(fd)
            if message.get("op") == "release":
                self.release(message)
        return True

    # ---- children ------------------------------------------------------------------------------
    def spawn(self, message: dict, fds: list[int]) -> None:
        config = dict(message["config"])
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            self.send({"event": "failed", "id": message["id"], "message": "expected 3 fds"})
            return
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            self.send({"event": "failed", "id": message["id"], "message": str(exc)})
            return
        if pid == 0:
            try:
                self.become_child(config, fds)
            finally:
                os._exit(70)
        for fd in fds:  # only the child may hold them, or its death would not show as EOF
            os.close(fd)
        self.kids[pid] = {"uid": config.get("uid"), "home": config["home"], "status": None}
        self.send({"event": "spawned", "id": message["id"], "pid": pid})

    def become_child(self, config: dict, fds: list[int]) -> None:
        """In the forked child: become what `python -I _sandbox_child.py` would be, then run it."""
        os.setsid()
        self.sock.detach()  # its fd is closed below; the object must never close a reused number
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        request, reply, output = fds
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        # Nothing of the zygote's (its socket above all: a candidate must never be able to ask for
        # a child of its own choosing) and nothing of another child's stays open.
        keep = sorted({0, 1, 2, request, reply})
        for low, high in zip(keep, [*keep[1:], 1 << 20]):
            os.closerange(low + 1, high)
        os.chdir(config["home"])
        os.environ["HOME"] = os.environ["TMPDIR"] = config["home"]
        tempfile = sys.modules.get("tempfile")
        if tempfile is not None:
            tempfile.tempdir = None  # type: ignore[attr-defined]  # gettempdir() looks again, at TMPDIR
        config["request"], config["reply"] = request, reply
        sys.argv = [config["path"]]
        self.child.run(config)

    def check_children(self) -> None:
        """Report every child that exited since the last look; keep it a zombie until released."""
        for pid in list(self.strays):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            self.strays.discard(pid)
        for pid, kid in self.kids.items():
            if kid["status"] is not None:
                continue
            try:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = None
                kid["status"] = -signal.SIGKILL  # cannot happen: nothing else reaps them
            if info is not None:
                kid["status"] = _status(info)
            if kid["status"] is not None:
                self.send({"event": "exit", "pid": pid, "status": kid["status"]})

    def release(self, message: dict) -> None:
        pid = message["pid"]
        kid = self.kids.pop(pid, None)
        status = self.end(pid, kid) if kid is not None else None
        self.send({"event": "released", "id": message["id"], "pid": pid, "status": status})

    def end(self, pid: int, kid: dict, *, everything: bool = False) -> int | None:
        """Kill the child's group (its pid is still reserved: it is our unreaped child), then reap it."""
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        if everything and kid["uid"] is not None:
            _kill_user(kid["uid"])
        try:  # a pidfd wakes us the moment it is dead (at once if it already is)
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        deadline = time.monotonic() + KILL_WAIT
        while True:
            try:
                reaped, code = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                reaped, code = pid, None
            if reaped or time.monotonic() >= deadline:
                break
            if pidfd is not None:
                select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
            else:
                time.sleep(0.002)
        if pidfd is not None:
            os.close(pidfd)
        if not reaped:
            self.strays.add(pid)
            return None
        if kid["status"] is not None or code is None:
            return kid["status"]
        return os.waitstatus_to_exitcode(code)

    def shutdown(self) -> None:
        """The parent is gone: leave nothing of its sandboxes behind."""
        for pid, kid in list(self.kids.items()):
            self.end(pid, kid, everything=True)
            home = kid["home"]
            if os.path.isabs(home) and os.path.basename(home).startswith(SANDBOX_PREFIX):
                self.child._remove_tree(home)
        self.kids.clear()


def _status(info: os.waitid_result) -> int:
    if info.si_code == os.CLD_EXITED:
        return info.si_status
    return -info.si_status  # killed or dumped core: the signal


def _kill_user(uid: int) -> None:
    """Kill every process of `uid`: a helper gives itself that uid and sends kill(-1, SIGKILL)."""
    if uid <= 0 or uid == os.getuid():
        return
    try:
        pid = os.fork()
    except OSError:
        return
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if os.getuid() == uid and os.geteuid() == uid:  # never kill(-1) as root
                for _ in range(3):  # a fork in flight when the first one lands is aborted by it
                    os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os._exit(0)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _nondumpable() -> None:
    with contextlib.suppress(Exception):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


if __name__ == "__main__":
    main(sys.argv)
