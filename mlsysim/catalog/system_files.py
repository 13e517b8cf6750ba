"""Build the systems catalog: fabrics (``catalog/fabrics``), nodes and fleets (``catalog/systems``).

A fleet file names its node by key and its fabric either by key (``fabric: InfiniBand_NDR``) or
by key with overrides (``fabric: {key: InfiniBand_NDR, ports_per_node: {value: 72, ...}}``);
the catalog fabric's provenance is carried into the fleet's (under ``fabric.``), overridden
where the fleet gives its own sourced numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CatalogError, short
from .loader import build_spec, read_yaml, split_provenance


def fabric_file(path: Path, origin: str):
    from ..specs.system import FabricSpec
    return build_spec(FabricSpec, read_yaml(path), origin, key=path.stem)


def resolve_fabric(value: Any, origin: str, fabrics):
    """The fleet's fabric: a catalog fabric (with overrides) → FabricSpec; an inline mapping
    without ``key`` → None (the fleet's own validation builds it)."""
    from ..specs.base import Provenance
    from ..specs.system import FabricSpec
    if isinstance(value, str):
        value = {"key": value}
    if not isinstance(value, dict) or "key" not in value:
        return None
    key = value["key"]
    if not isinstance(key, str) or key not in fabrics.names():
        raise CatalogError(f"{origin}: fabric.key: unknown fabric {short(key)}; known: "
                           f"{', '.join(fabrics.names())}")
    base = fabrics.get(key)
    overrides, prov = split_provenance({k: v for k, v in value.items() if k != "key"}, origin)
    data = {**base.model_dump(exclude={"provenance"}, exclude_unset=True), **overrides}
    kept = {p: v for p, v in base.provenance.items() if p not in overrides}
    data["provenance"] = {**kept, **{p: Provenance(**v) for p, v in prov.items()}}
    try:
        return FabricSpec.model_validate(data)
    except ValueError as exc:
        raise CatalogError(f"{origin}: fabric: {str(exc).splitlines()[0]}") from None


def load_systems(paths: list[Path], rel: Callable[[Path], str], hardware, fabrics,
                 resolve_link: Callable[[dict, str], dict]) -> dict:
    """Nodes then fleets from ``paths`` (catalog/systems/*.yaml), keyed by file stem."""
    from ..specs import FleetSpec, NodeSpec
    nodes, fleets = {}, {}
    files = [(p, read_yaml(p)) for p in paths]
    for p, data in files:
        if "accelerator" in data:
            name = str(data["accelerator"])
            if name not in hardware:
                raise CatalogError(f"{rel(p)}: accelerator: unknown hardware {short(name)}; "
                                   f"known: {', '.join(hardware.names())}")
            link = data.get("intra_link")
            if link is not None:
                data = {**data, "intra_link": resolve_link(link, rel(p))}
            nodes[p.stem] = build_spec(NodeSpec, {**data, "accelerator": None}, rel(p),
                                       key=p.stem, accelerator=hardware.get(name))
    for p, data in files:
        if "node" in data:
            name = str(data["node"])
            if name not in nodes:  # never look the node up in the registry being built
                raise CatalogError(f"{rel(p)}: node: unknown node {short(name)}; known nodes: "
                                   f"{', '.join(nodes) or 'none'}")
            fabric = resolve_fabric(data.get("fabric"), rel(p), fabrics)
            if fabric is None:
                fleets[p.stem] = build_spec(FleetSpec, {**data, "node": None}, rel(p),
                                            key=p.stem, node=nodes[name])
                continue
            fleet = build_spec(FleetSpec, {**data, "node": None, "fabric": None}, rel(p),
                               key=p.stem, node=nodes[name], fabric=fabric)
            carried = {f"fabric.{k}": v for k, v in fabric.provenance.items()}
            fleets[p.stem] = fleet.model_copy(
                update={"provenance": {**fleet.provenance, **carried}})
    return {**nodes, **fleets}
