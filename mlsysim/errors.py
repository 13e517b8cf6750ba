"""Error types with messages a reader can act on: the parameter, the value, what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MlsysimError(ValueError):
    """Base class: every error we raise on bad input is a ValueError."""


class CatalogError(MlsysimError):
    """A catalog or user YAML spec that is malformed, unsourced or inconsistent."""


class UnknownNameError(MlsysimError, AttributeError, KeyError):
    """An unknown registry name; the message lists the closest known names."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name_requested = kind, name
        self.suggestions = suggest(name, known)
        hint = f"; did you mean {_or_list(self.suggestions)}?" if self.suggestions else ""
        shown = repr(name) if len(repr(name)) <= 60 else f"{repr(name)[:57]}…"
        super().__init__(f"unknown {kind} {shown}{hint}")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


_CONFUSABLE = str.maketrans("oli", "011")  # H1OO, Ll4ma: letters typed for digits


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum()).translate(_CONFUSABLE)


def suggest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Close matches for ``name`` among ``known``: spelling-insensitive (case, spaces, dashes,
    O for 0), then near spellings, then names the query contains ("nvidia h100" → H100) or
    that contain it."""
    known = list(dict.fromkeys(k for k in known if isinstance(k, str)))
    if not isinstance(name, str) or not known:
        return []
    query = _norm(name)[:100]
    forms: dict[str, str] = {}
    for k in known:
        forms.setdefault(_norm(k), k)
    out = [forms[query]] if query in forms else []
    for hit in difflib.get_close_matches(query, list(forms), n=n, cutoff=0.6):
        if forms[hit] not in out:
            out.append(forms[hit])
    if len(out) < n and query:
        inside = sorted((f for f in forms if len(f) >= 3 and f in query), key=len, reverse=True)
        around = [f for f in forms if query in f]
        out += [forms[f] for f in inside + around if forms[f] not in out]
    return out[:n]


def _or_list(items: list[str]) -> str:
    quoted = [repr(i) for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def format_validation_error(exc, origin: str) -> str:
    """One line per problem: ``origin: field.path: message (got value)``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "(top level)"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key (not a field of this spec; check the spelling)"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        lines.append(f"{origin}: {loc}: {msg}")
    return "\n".join(lines)
