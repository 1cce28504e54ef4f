"""The one exception for SIGTERM and SIGHUP, and the way a swallowed stop is raised again, shared by the grader
(verify.cli) and the build (build.py).

Light on purpose: both import it before their slow imports, to install their signal handlers.
"""
from __future__ import annotations

import signal
from collections.abc import Callable


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds as Ctrl-C does, then exits 128 + the signal's number (143, 129).

    A KeyboardInterrupt, because the checking engine turns whatever a candidate raises, SystemExit
    included, into a verdict and lets only KeyboardInterrupt through (the sandboxes kill their
    child on the way): the grader's candidates and the build's wrong answers run as candidates,
    and a signal arriving then must not be lost.
    """

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signum)
        self.exit_code = 128 + signum


def raise_soon(raise_stop: Callable) -> None:
    """Have SIGALRM call `raise_stop` (a handler that raises the run's stop) 5 ms from now, in the code the run is
    in by then.  For a stop Python swallowed where it ignores exceptions (an import lock's weakref callback, a
    __del__), reported to sys.unraisablehook: a signal sent from that hook would be handled inside it, and lost
    again."""
    signal.signal(signal.SIGALRM, raise_stop)
    signal.setitimer(signal.ITIMER_REAL, 0.005)
