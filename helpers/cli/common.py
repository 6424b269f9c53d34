"""What every command of ``python -m helpers`` shares: how an error is said."""

from __future__ import annotations

import sys


def err(message: str) -> None:
    """Say ``message`` on stderr as ``error: ...``; the command then returns its code."""
    print(f"error: {message}", file=sys.stderr)
