"""Build errors: one readable message naming the page (and the source line when known)."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Remove ANSI colour/escape codes (IPython tracebacks carry them)."""
    return _ANSI.sub("", text)


class BuildError(Exception):
    """A site build problem that is reported as one message and a non-zero exit."""


class PageError(BuildError):
    """A problem in one page: ``page`` (relative path), optional ``line`` (1-based) and detail."""

    def __init__(self, page: str, message: str, line: int | None = None, detail: str = ""):
        self.page, self.line, self.message, self.detail = page, line, message, detail
        super().__init__(page, message, line, detail)

    def __str__(self) -> str:
        where = f"{self.page}:{self.line}" if self.line else self.page
        text = f"{where}: {self.message}"
        if self.detail:
            text += "\n" + self.detail.rstrip()
        return text


class PageNotFoundError(BuildError):
    """A page listed in ``_quarto.yml`` (or on the command line) does not exist."""
