"""The one exception for SIGTERM and SIGHUP, shared by the grader (verify.cli) and the build (build.py).

Light on purpose: both import it before their slow imports, to install their signal handlers.
"""
from __future__ import annotations

import signal


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
