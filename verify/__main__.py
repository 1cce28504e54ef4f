"""`python -m verify`: the grader's tool; see verify.cli for the commands and their exit codes."""
import contextlib
import os
import sys

from .cli import main

if __name__ == "__main__":
    code = main()
    # os._exit, not sys.exit: a Ctrl-C that once passed through code run by exec() or eval() (a
    # dataclass or a namedtuple being defined during an import) makes Python kill itself with SIGINT
    # at exit, even though main() handled it, and the exit code would be -2 instead of 130.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
