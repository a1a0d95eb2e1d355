"""What every command shares: the one-line error that ends a command with exit status 2."""

from __future__ import annotations


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit 2."""
