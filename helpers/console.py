"""How the course's commands speak to the terminal: ``error: ...`` on stderr, ``note:
...`` on stdout. The bottom layer (it imports nothing of helpers); the commands of
``python -m helpers`` (notebook 01 onwards) use it.
"""

from __future__ import annotations

import sys


def err(message: str) -> None:
    """Say ``message`` on stderr as ``error: ...``; the command then returns its code."""
    print(f"error: {message}", file=sys.stderr)


def note(message: str) -> None:
    """Say ``message`` on stdout as ``note: ...``."""
    print(f"note: {message}")
