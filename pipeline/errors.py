"""The ways a build fails, each with a message that points at the place to fix."""
from __future__ import annotations


class BuildError(Exception):
    """A build failure whose message is meant for the instructor, as is."""


class MissingTool(BuildError):
    """A program the build needs is not installed."""


class SolutionError(BuildError):
    """The solutions package cannot be loaded or names a step twice."""


class CheckFailed(BuildError):
    """A formula of the key failed its check."""


class TemplateError(BuildError):
    """A template has a syntax error, an undefined name or an unknown step."""


class CoverageError(BuildError):
    """The key shows an unchecked display, or a step of solutions/ is shown nowhere."""


class LatexFailed(BuildError):
    """LaTeX stopped with an error; the message names the generated file, line and template."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log
