"""The sourced catalog (YAML data) and the functions that load it into registries."""

from __future__ import annotations

from ..registry import Registry
from .loader import build_spec, iter_files, read_yaml, sources

HARDWARE_TIERS = {"Cloud": "cloud", "Workstation": "workstation", "Mobile": "mobile",
                  "Edge": "edge", "Tiny": "tiny"}
MODEL_CATEGORIES = {"Language": "language", "Vision": "vision", "Tiny": "tiny",
                    "Recommendation": "recommendation"}


def _load_hardware() -> dict:
    from ..specs import HardwareSpec
    return {p.stem: build_spec(HardwareSpec, read_yaml(p), _rel(p), key=p.stem)
            for p in iter_files("hardware")}


def _load_models() -> dict:
    from ..specs import SampleWorkload, TransformerWorkload
    out = {}
    for p in iter_files("models"):
        data = read_yaml(p)
        cls = SampleWorkload if data.get("kind") == "per_sample" else TransformerWorkload
        out[p.stem] = build_spec(cls, data, _rel(p), key=p.stem)
    return out


def _load_systems() -> dict:
    from ..specs import FleetSpec, NodeSpec
    nodes, fleets = {}, {}
    files = [(p, read_yaml(p)) for p in iter_files("systems")]
    for p, data in files:
        if "accelerator" in data:
            hw = Hardware.get(str(data["accelerator"]))
            nodes[p.stem] = build_spec(NodeSpec, {**data, "accelerator": None}, _rel(p),
                                       key=p.stem, accelerator=hw)
    for p, data in files:
        if "node" in data:
            node = nodes.get(str(data["node"])) or Systems.get(str(data["node"]))
            fleets[p.stem] = build_spec(FleetSpec, {**data, "node": None}, _rel(p),
                                        key=p.stem, node=node)
    return {**nodes, **fleets}


def _load_grids() -> dict:
    from ..specs import GridSpec
    return {p.stem: build_spec(GridSpec, read_yaml(p), _rel(p), key=p.stem)
            for p in iter_files("grids")}


def _rel(path) -> str:
    return f"catalog/{path.parent.name}/{path.name}"


def _is(field: str, value: str):
    return lambda spec: getattr(spec, field, None) == value


Hardware = Registry("Hardware", "hardware", _load_hardware,
                    {attr: _is("tier", tier) for attr, tier in HARDWARE_TIERS.items()})
Models = Registry("Models", "model", _load_models,
                  {attr: _is("category", c) for attr, c in MODEL_CATEGORIES.items()})
Systems = Registry("Systems", "system", _load_systems,
                   {"Nodes": lambda s: hasattr(s, "accelerator"),
                    "Fleets": lambda s: hasattr(s, "fabric")})
Infra = Registry("Infra", "grid", _load_grids, {"Grids": lambda s: True})

__all__ = ["Hardware", "Infra", "Models", "Systems", "build_spec", "read_yaml", "sources"]
