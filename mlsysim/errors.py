"""Error types with messages a reader can act on: the parameter, the value, what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Literal, get_args, get_origin


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


def clip(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis in the middle."""
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 25] + "…" + text[-24:]


def short(value: Any, limit: int = 60) -> str:
    """A short description of ``value`` for an error message: its ``repr`` cut to ``limit``
    characters, or its size for a container or a huge integer (hostile values can be
    megabytes long)."""
    if isinstance(value, dict):
        n = len(value)
        return f"a mapping of {n} key{'s' * (n != 1)}" if value else "an empty mapping"
    if isinstance(value, (list, tuple, set)):
        n = len(value)
        return f"a list of {n} item{'s' * (n != 1)}" if value else "an empty list"
    if hasattr(type(value), "model_fields"):  # a spec: its class and name, not its repr
        name = getattr(value, "name", None)
        return f"{type(value).__name__} {clip(repr(name), limit)}" if name else type(value).__name__
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        return f"an integer of {int(value.bit_length() * 0.30103) + 1} digits"
    return clip(repr(value), limit)


#: Problems and unknown keys shown in one message; the rest are counted.
MAX_PROBLEMS = 4
MAX_UNKNOWN_KEYS = 5
_OWN_MESSAGE = {"value_error", "assertion_error", "missing", "extra_forbidden"}


def format_validation_error(exc, origin: str, spec: type | None = None) -> str:
    """One line: ``origin: field.path: problem (got value); other.field: problem; …``.

    Each problem names its field and what is expected; unknown keys are grouped per mapping
    (the first few shown, with close field names of ``spec`` suggested, the rest counted), and
    values are cut short, so a hostile file cannot produce a megabyte of message."""
    problems: list = []  # a string, or the list of unknown keys of one mapping
    unknown: dict[tuple, list] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err.get("loc", ()) if p != "__root__")
        if err.get("type") == "extra_forbidden" and loc:
            if loc[:-1] not in unknown:
                unknown[loc[:-1]] = []
                problems.append(loc[:-1])
            unknown[loc[:-1]].append(loc[-1])
            continue
        where = clip(".".join(str(p) for p in loc)) or "(top level)"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        msg = msg.replace("Input should be ", "should be ", 1)
        if err.get("type") == "missing":
            expected = _expected(spec, loc)
            msg = "required field is missing" + (f": give {expected}" if expected else "")
        elif err.get("type") not in _OWN_MESSAGE and loc and "input" in err:
            msg += f" (got {short(err['input'])})"
        problems.append(f"{where}: {clip(msg, 240)}" if loc or err.get("type") != "value_error"
                        else clip(msg, 240))  # a check across fields names its fields
    shown = [p if isinstance(p, str) else _unknown_keys(p, unknown[p], spec)
             for p in problems[:MAX_PROBLEMS]]
    more = len(problems) - len(shown)
    tail = f"; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else ""
    return f"{origin}: " + "; ".join(shown) + tail


def _unknown_keys(parent: tuple, keys: list, spec: type | None) -> str:
    model = _model_at(spec, parent)
    fields = [f for f in getattr(model, "model_fields", {}) if f != "provenance"]
    shown = []
    for key in keys[:MAX_UNKNOWN_KEYS]:
        close = suggest(str(key), fields, n=1) if fields and isinstance(key, str) else []
        shown.append(short(key, 40) + (f" (did you mean {close[0]!r}?)" if close else ""))
    more = f" and {len(keys) - len(shown):,} more" if len(keys) > len(shown) else ""
    where = clip(".".join(str(p) for p in parent)) + ": " if parent else ""
    noun = "unknown key" if len(keys) == 1 else "unknown keys"
    if model is None:
        return f"{where}{noun} {', '.join(shown)}{more} (not fields of this spec)"
    return (f"{where}{noun} {', '.join(shown)}{more}: the fields of {model.__name__} are "
            + ", ".join(fields))


def _expected(spec: type | None, loc: tuple) -> str:
    """What the field at ``loc`` of ``spec`` takes, in words ("a quantity in B/s")."""
    model = _model_at(spec, loc[:-1]) if loc else None
    field = getattr(model, "model_fields", {}).get(loc[-1]) if model is not None else None
    if field is None:
        return ""
    for meta in field.metadata:
        unit = getattr(getattr(meta, "func", None), "unit", None)
        if unit:
            return f"a quantity in {unit} (a number and its unit)"
    kind = field.annotation
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(kind))
    if hasattr(kind, "model_fields"):
        return f"a mapping of {kind.__name__} fields"
    return {int: "a whole number", float: "a number", str: "a string"}.get(kind, "")


def _model_at(spec: type | None, loc: tuple):
    """The pydantic model class of the mapping at ``loc`` inside ``spec``, where known."""
    model = spec
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        candidates = [a for a in (get_args(field.annotation) or (field.annotation,))
                      if isinstance(a, type) and hasattr(a, "model_fields")]
        if len(candidates) != 1:
            return None
        model = candidates[0]
    return model
