"""The error every anatomy reader raises: its message names the file (and the line, column or label)."""
from __future__ import annotations


class AnatomyError(ValueError):
    """An anatomy file or label that cannot be used; the message names it and says what was expected."""
