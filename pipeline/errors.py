"""The ways a build fails, each with a message that points at the place to fix."""
from __future__ import annotations

from verify.stops import Terminated

__all__ = ["BuildError", "CheckFailed", "CoverageError", "LatexFailed", "MissingTool", "SolutionError",
           "TemplateError", "Terminated"]


class BuildError(Exception):
    """A build failure whose message is meant for the instructor, as is."""

    exit_code = 1


class MissingTool(BuildError):
    """A program the build needs is not installed."""

    exit_code = 3


class SolutionError(BuildError):
    """The homework package cannot be loaded, or does not make sense."""

    exit_code = 4


class CheckFailed(BuildError):
    """A formula of the solutions failed its check."""

    exit_code = 5


class TemplateError(BuildError):
    """A template has a syntax error, an undefined name or an unknown step."""

    exit_code = 6


class CoverageError(BuildError):
    """A document shows unchecked mathematics, or a step or part is missing."""

    exit_code = 7


class LatexFailed(BuildError):
    """LaTeX stopped with an error; the message names the template's file and line."""

    exit_code = 8

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log
