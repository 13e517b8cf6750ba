"""The sourced catalog (YAML data) and the functions that load it into registries."""

from __future__ import annotations

from ..errors import CatalogError, short
from ..registry import Registry
from ..vocabulary import HARDWARE_TIERS, MODEL_CATEGORIES
from .accuracy import AccuracyRow, accuracy_for, quantization_accuracy
from .loader import CATALOG_DIR, build_spec, iter_files, read_yaml, sources


def _all(kind: str, build):
    """Loader of every file of ``kind`` (a catalog folder), each built by ``build(path)``."""
    return lambda: {p.stem: build(p) for p in iter_files(kind)}


def _one(kind: str, build):
    """Loader of one file of ``kind`` by its exact stem (None when there is none): a first
    result reads the entries it uses, not the whole catalog."""
    def one(key: str):
        files = {p.stem: p for p in iter_files(kind)}  # exact case, on any file system
        return build(files[key]) if key in files else None
    return one


def _device_class_file(p):
    from ..specs.calibration import DeviceClassSpec
    return build_spec(DeviceClassSpec, read_yaml(p), _rel(p), key=p.stem)


def _link_class_file(p):
    from ..specs.calibration import LinkClassSpec
    return build_spec(LinkClassSpec, read_yaml(p), _rel(p), key=p.stem)


def resolve_hardware_references(data: dict, origin: str) -> dict:
    """Replace ``efficiency.device_class`` (a key) by the calibration it names."""
    eff = data.get("efficiency")
    if isinstance(eff, dict) and isinstance(eff.get("device_class"), str):
        key = eff["device_class"]
        if key not in DeviceClasses:
            raise CatalogError(f"{origin}: efficiency.device_class: unknown device class "
                               f"{short(key)}; known: {', '.join(DeviceClasses.names())}")
        data = {**data, "efficiency": {**eff, "device_class": DeviceClasses.get(key)}}
    return data


def resolve_link_references(link: dict, origin: str) -> dict:
    """Replace ``intra_link.collectives`` (a key) by the link class it names."""
    if isinstance(link, dict) and isinstance(link.get("collectives"), str):
        key = link["collectives"]
        if key not in LinkClasses:
            raise CatalogError(f"{origin}: intra_link.collectives: unknown link class "
                               f"{short(key)}; known: {', '.join(LinkClasses.names())}")
        link = {**link, "collectives": LinkClasses.get(key)}
    return link


def _hardware_file(p):
    from ..specs import HardwareSpec
    data = resolve_hardware_references(read_yaml(p), _rel(p))
    return build_spec(HardwareSpec, data, _rel(p), key=p.stem)


_load_hardware = _all("hardware", _hardware_file)
_one_hardware = _one("hardware", _hardware_file)


def _model_file(p):
    from ..specs import SampleWorkload, TransformerWorkload
    data = read_yaml(p)
    cls = SampleWorkload if data.get("kind") == "per_sample" else TransformerWorkload
    return build_spec(cls, data, _rel(p), key=p.stem)


def _load_systems() -> dict:
    from .system_files import load_systems
    return load_systems(iter_files("systems"), _rel, Hardware, Fabrics, resolve_link_references)


def _fabric_file(p):
    from .system_files import fabric_file
    return fabric_file(p, _rel(p))


def _load_grids() -> dict:
    from ..specs import GridSpec
    return {p.stem: build_spec(GridSpec, read_yaml(p), _rel(p), key=p.stem)
            for p in iter_files("grids")}


def _rel(path) -> str:
    return f"catalog/{path.relative_to(CATALOG_DIR).as_posix()}"


def _is(field: str, value: str):
    return lambda spec: getattr(spec, field, None) == value


DeviceClasses = Registry("DeviceClasses", "device class",
                         _all("calibration/devices", _device_class_file), {},
                         one=_one("calibration/devices", _device_class_file))
LinkClasses = Registry("LinkClasses", "link class", _all("calibration/links", _link_class_file),
                       {}, one=_one("calibration/links", _link_class_file))
Hardware = Registry("Hardware", "hardware", _load_hardware,
                    {attr: _is("tier", tier) for attr, tier in HARDWARE_TIERS.items()},
                    one=_one_hardware)
Models = Registry("Models", "model", _all("models", _model_file),
                  {attr: _is("category", c) for attr, c in MODEL_CATEGORIES.items()},
                  one=_one("models", _model_file))
Fabrics = Registry("Systems.Fabrics", "fabric", _all("fabrics", _fabric_file), {},
                   one=_one("fabrics", _fabric_file))
Systems = Registry("Systems", "system", _load_systems,
                   {"Nodes": lambda s: hasattr(s, "accelerator"),
                    "Fleets": lambda s: hasattr(s, "fabric")},
                   attached={"Fabrics": Fabrics})
Infra = Registry("Infra", "grid", _load_grids, {"Grids": lambda s: True})

__all__ = ["AccuracyRow", "DeviceClasses", "Fabrics", "Hardware", "Infra", "LinkClasses", "Models",
           "Systems", "accuracy_for", "build_spec", "quantization_accuracy", "read_yaml",
           "resolve_hardware_references", "sources"]
