"""Registries of catalog entries: ``Hardware``, ``Models``, ``Systems``, ``Infra``.

Attribute access follows the published call surface: grouped namespaces
(``Hardware.Cloud.H100``, ``Models.Language.Llama3_8B``, ``Systems.Nodes.DGX_H100``), attached
registries of another kind (``Systems.Fabrics.InfiniBand_NDR``) and flat aliases
(``Hardware.H100``).
Catalog files are read on first use, so ``import mlsysim`` stays fast. Lookup by string
(``Hardware.get("h100")``, ``Hardware["H100"]``) is case-insensitive and also matches aliases and
display names; an unknown name raises :class:`UnknownNameError` with "did you mean" suggestions.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import UnknownNameError


@contextmanager
def paused_gc():
    """Pause the cyclic garbage collector while a burst of long-lived objects is made (module
    imports, catalog specs): its full passes over them cost ~15 % of a first result."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Namespace:
    """A read-only group of specs with attribute access, iteration and tab completion."""

    def __init__(self, label: str, kind: str, entries: Callable[[], dict[str, Any]]):
        self._label, self._kind, self._entries = label, kind, entries

    # -- lookup -----------------------------------------------------------------------------
    def _index(self) -> dict[str, Any]:
        return self._entries()

    def get(self, name: str) -> Any:
        """The entry called ``name``: key, alias or display name, any case."""
        if not isinstance(name, str):
            raise TypeError(f"{self._kind} name must be a string, got {type(name).__name__}")
        entries = self._index()
        if name in entries:
            return entries[name]
        wanted = _norm(name)
        for key, spec in entries.items():
            names = (key, *getattr(spec, "aliases", ()), getattr(spec, "name", ""))
            if any(_norm(n) == wanted for n in names):
                return spec
        raise UnknownNameError(self._kind, name, self.names(include_aliases=True))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        entries = self._index()
        if name in entries:
            return entries[name]
        for spec in entries.values():
            if name in getattr(spec, "aliases", ()):
                return spec
        raise UnknownNameError(f"{self._kind} in {self._label}", name, self.names(True))

    __getitem__ = get

    def __contains__(self, name: object) -> bool:
        try:
            self.get(name)  # type: ignore[arg-type]
        except (UnknownNameError, TypeError):
            return False
        return True

    def __dir__(self) -> list[str]:
        return sorted(set(self.names(include_aliases=True)) | {"all", "get", "names", "filter"})

    # -- iteration --------------------------------------------------------------------------
    def names(self, include_aliases: bool = False) -> list[str]:
        out = list(self._index())
        if include_aliases:
            out += [a for spec in self._index().values() for a in getattr(spec, "aliases", ())]
        return out

    def all(self) -> list[Any]:
        """Every entry, in catalog order."""
        return list(self._index().values())

    def filter(self, predicate: Callable[[Any], bool] | None = None, **fields: Any) -> list[Any]:
        """Entries whose attributes equal ``fields`` and that satisfy ``predicate``."""
        return [s for s in self.all()
                if all(getattr(s, k, None) == v for k, v in fields.items())
                and (predicate is None or predicate(s))]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._index())

    def __repr__(self) -> str:
        return f"<{self._label}: {', '.join(self.names())}>"


class Registry(Namespace):
    """A namespace of every entry, plus one sub-namespace per group (tier or category)."""

    def __init__(self, label: str, kind: str, loader: Callable[[], dict[str, Any]],
                 groups: dict[str, Callable[[Any], bool]],
                 one: Callable[[str], Any | None] | None = None,
                 attached: dict[str, Namespace] | None = None):
        self._cache: dict[str, Any] | None = None
        self._loader = loader
        # ``one(key)`` loads a single entry by its exact key (None if there is no such file), so
        # ``Hardware.get("H100")`` need not read the whole catalog; the full load reuses it.
        self._one, self._early = one, {}
        super().__init__(label, kind, self._load)
        self._groups = {
            attr: Namespace(f"{label}.{attr}", kind, self._group_loader(test))
            for attr, test in groups.items()
        }
        # ``attached`` namespaces hold entries of another kind reached through this registry
        # (``Systems.Fabrics``): they are not among its own entries, its ``all()`` or names.
        self._groups.update(attached or {})

    def _load(self) -> dict[str, Any]:
        if self._cache is None:
            with paused_gc():
                loaded = self._loader()
            self._cache = {k: self._early.get(k, v) for k, v in loaded.items()}
        return self._cache

    def _exact(self, name: str) -> Any | None:
        """The entry whose key is exactly ``name``, without the full load when possible."""
        if self._cache is not None or self._one is None:
            return None
        if name not in self._early:
            with paused_gc():
                spec = self._one(name)
            if spec is None:
                return None
            self._early[name] = spec
        return self._early[name]

    def get(self, name: str) -> Any:
        if isinstance(name, str):
            spec = self._exact(name)
            if spec is not None:
                return spec
        return super().get(name)

    def _group_loader(self, test: Callable[[Any], bool]) -> Callable[[], dict[str, Any]]:
        cache: dict[str, Any] = {}

        def entries() -> dict[str, Any]:
            if not cache:
                cache.update({k: v for k, v in self._load().items() if test(v)})
            return cache
        return entries

    def __getattr__(self, name: str) -> Any:
        groups = self.__dict__.get("_groups", {})
        if name in groups:
            return groups[name]
        if not name.startswith("_") and "_early" in self.__dict__:
            spec = self._exact(name)
            if spec is not None:
                return spec
        return super().__getattr__(name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._groups))

    @property
    def groups(self) -> dict[str, Namespace]:
        return dict(self._groups)


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())
