"""Load a user's own hardware or model spec from a YAML file, with clear errors."""

from __future__ import annotations

from pathlib import Path

from .catalog.loader import build_spec, read_yaml
from .errors import CatalogError

_KINDS = ("hardware", "transformer", "per_sample")


def load_spec(path: str | Path, kind: str | None = None):
    """Read ``path`` into a HardwareSpec, TransformerWorkload or SampleWorkload.

    ``kind`` is one of ``"hardware"``, ``"transformer"``, ``"per_sample"``; by default it is
    inferred (a ``compute:`` block means hardware, ``kind: per_sample`` a per-sample network,
    otherwise a transformer). Sources are optional in user files.
    """
    from .specs import HardwareSpec, SampleWorkload, TransformerWorkload

    path = Path(path)
    data = read_yaml(path)
    if kind is None:
        kind = "hardware" if "compute" in data else data.get("kind", "transformer")
    classes = {"hardware": HardwareSpec, "transformer": TransformerWorkload,
               "per_sample": SampleWorkload}
    if kind not in classes:
        raise CatalogError(f"{path}: kind={kind!r} is not one of {', '.join(_KINDS)}")
    return build_spec(classes[kind], data, str(path), key=None, require_source=False)
