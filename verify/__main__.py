"""`python -m verify`: the grader's tool; see verify.cli for the commands and their exit codes."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
