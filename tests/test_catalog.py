"""Catalog integrity: every entry validates, every number is sourced, peaks are dense and sane."""

import math

import pint
import pytest

import mlsysim
from mlsysim.catalog import sources
from mlsysim.units import ureg

PRECISION_ORDER = ["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp4"]


def _numeric_leaves(data, path=""):
    """Yield dotted paths of every number or quantity in a model_dump(exclude_unset=True)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("provenance", "accelerator", "node", "device_class", "collectives"):
                continue
            yield from _numeric_leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            yield from _numeric_leaves(value, f"{path}[{i}]")
    elif isinstance(data, pint.Quantity) or (
        isinstance(data, (int, float)) and not isinstance(data, bool)
    ):
        yield path


def _all_specs():
    from mlsysim.catalog import DeviceClasses, LinkClasses
    return [*mlsysim.Hardware.all(), *mlsysim.Models.all(), *mlsysim.Systems.all(),
            *mlsysim.Infra.all(), *DeviceClasses.all(), *LinkClasses.all()]


def test_catalog_is_not_empty():
    assert len(mlsysim.Hardware) >= 1 and len(mlsysim.Models) >= 1


@pytest.mark.parametrize("spec", _all_specs(), ids=lambda s: s.key)
def test_every_number_has_a_resolvable_source(spec):
    dumped = spec.model_dump(exclude_unset=True, exclude={"provenance"})
    for path in _numeric_leaves(dumped):
        prov = spec.source_of(path)
        assert prov is not None, f"{spec.key}: {path} has no provenance"
        assert prov.source in sources(), f"{spec.key}: {path}: unknown source {prov.source}"
        if prov.kind == "estimate":
            assert prov.note, f"{spec.key}: {path} is an estimate without its reasoning"


def test_sources_are_complete():
    for key, entry in sources().items():
        assert isinstance(entry, dict), key
        assert entry.get("title") and entry.get("retrieved"), f"source {key} lacks title/retrieved"
        assert entry.get("url") or entry.get("publisher"), f"source {key} lacks url/publisher"


@pytest.mark.parametrize("hw", mlsysim.Hardware.all(), ids=lambda h: h.key)
def test_flop_rates_are_marked_dense(hw):
    for precision in hw.compute.precision_flops:
        prov = hw.source_of(f"compute.precision_flops.{precision}")
        assert prov is not None and prov.sparsity == "dense", (hw.key, precision)


@pytest.mark.parametrize("hw", mlsysim.Hardware.all(), ids=lambda h: h.key)
def test_narrower_formats_are_never_slower(hw):
    """Dense peaks rise (or stay) as precision narrows: fp32 ≤ tf32 ≤ 16-bit ≤ 8-bit ≤ 4-bit.

    A 16-bit figure above the 8-bit one usually means a sparse number slipped in."""
    flops = {p: q.to("flop/s").magnitude for p, q in hw.compute.precision_flops.items()}
    groups = [["fp32"], ["tf32"], ["fp16", "bf16"], ["fp8", "int8"], ["int4", "fp4"]]
    levels = [max(flops[p] for p in g if p in flops) for g in groups if any(p in flops for p in g)]
    assert levels == sorted(levels), f"{hw.key}: {flops}"


@pytest.mark.parametrize("hw", mlsysim.Hardware.all(), ids=lambda h: h.key)
def test_ridge_points_are_plausible(hw):
    ridge = hw.ridge_point.to("flop/byte").magnitude
    assert math.isfinite(ridge) and ridge > 0
    if hw.tier == "cloud" and not hw.is_wafer_scale:
        # datacenter GPUs/TPUs: dense 16-bit peak over HBM bandwidth is tens to hundreds
        assert 20 < ridge < 1000, (hw.key, ridge)
    else:
        assert 0.05 < ridge < 2000, (hw.key, ridge)


@pytest.mark.parametrize("hw", mlsysim.Hardware.all(), ids=lambda h: h.key)
def test_efficiencies_are_fractions(hw):
    assert 0.2 <= hw.gemm_efficiency <= 1 and 0.2 <= hw.efficiency.memory <= 1
    cal = hw.device_class
    assert 0 < cal.attention.ceiling <= 1 and 0 < cal.attention.kv_bandwidth <= 1
    assert all(0 < v <= 1 for v in cal.dequantization.values())


@pytest.mark.parametrize("hw", mlsysim.Hardware.all(), ids=lambda h: h.key)
def test_every_device_is_calibrated(hw):
    """A device names its class's calibration, or (tiny and mobile parts with no published
    curves) carries a flat compute fraction and launch cost of its own, with reasoning."""
    if hw.efficiency.device_class is None:
        assert hw.efficiency.compute is not None and hw.efficiency.kernel_launch is not None
        assert hw.source_of("efficiency.compute").note
    else:
        assert hw.efficiency.device_class.key in mlsysim.catalog.DeviceClasses.names()


def test_every_node_link_names_its_collective_algorithms():
    """No node's small all-reduce is free: every collective line has a fixed step latency."""
    for node in mlsysim.Systems.Nodes:
        assert node.intra_link is not None and node.intra_link.collectives is not None, node.key
        assert node.intra_link.collectives.lines
        _, lines = node.intra_link.si
        assert all(latency > 0 for _, latency, _ in lines), node.key


def test_a_fleet_naming_an_unknown_node_is_a_catalog_error_naming_the_file(tmp_path,
                                                                          monkeypatch):
    """Used to recurse forever through the registry being built."""
    import mlsysim.catalog as catalog
    systems = tmp_path / "systems"
    systems.mkdir()
    (systems / "DGX_H100.yaml").write_text(
        (catalog.CATALOG_DIR / "systems" / "DGX_H100.yaml").read_text())
    (systems / "Typo_Cluster.yaml").write_text(
        "name: typo\nnode: DGX_H10\ncount: {value: 2, source: nvidia-dgx-h100-user-guide}\n"
        "fabric: {name: x, bandwidth: {value: 1 GB/s, source: nvidia-dgx-h100-user-guide}}\n")
    real = catalog.iter_files
    monkeypatch.setattr(catalog, "iter_files",
                        lambda kind: sorted(systems.glob("*.yaml")) if kind == "systems"
                        else real(kind))
    monkeypatch.setattr(catalog, "_rel", lambda p: f"catalog/systems/{p.name}")
    with pytest.raises(mlsysim.CatalogError,
                       match=r"Typo_Cluster\.yaml: node: unknown node 'DGX_H10'.*DGX_H100"):
        catalog._load_systems()


def test_wafer_scale_devices_have_wafer_fields():
    wafers = [h for h in mlsysim.Hardware.all() if h.is_wafer_scale]
    for hw in wafers:
        assert hw.sram is not None
        assert hw.wafer.injection_bandwidth.to("B/s").magnitude > 0


def _transformer_param_estimates(m):
    """Independent count: attention + FFN (2 or 3 matrices) per layer, plus embeddings."""
    d, L = m.hidden_dim, m.layers
    d_kv = m.n_kv_heads * m.head_dim
    attn = d * d + 2 * d * d_kv + d * d
    ffn = m.ffn_dim or 4 * d
    experts = m.moe.experts if m.moe else 1
    vocab = (m.vocab_size or 0) * d
    for matrices in (2, 3):
        for embeddings in (1, 2):
            yield L * (attn + experts * matrices * d * ffn) + embeddings * vocab


@pytest.mark.parametrize(
    "model", [m for m in mlsysim.Models.all() if m.kind == "transformer"], ids=lambda m: m.key
)
def test_transformer_parameter_counts_match_their_shapes(model):
    stated = model.parameter_count
    best = min(abs(e / stated - 1) for e in _transformer_param_estimates(model))
    assert best < 0.10, f"{model.key}: shapes imply a count {best:.0%} away from {stated:.3g}"


@pytest.mark.parametrize(
    "model", [m for m in mlsysim.Models.all() if m.kind == "per_sample"], ids=lambda m: m.key
)
def test_per_sample_models_have_flops(model):
    flops = model.flops_per_sample.to("flop").magnitude
    if model.category == "recommendation":
        # embedding tables hold nearly all parameters but are only looked up, not multiplied
        assert flops > 0 and model.bytes_per_sample.to("B").magnitude > 0
    else:  # every weight of a CNN/ViT is used at least once per sample: ≥ 2 FLOP/param
        assert flops >= 2 * model.parameter_count


def test_moe_active_parameters_are_fewer():
    for m in mlsysim.Models.all():
        if getattr(m, "moe", None):
            assert m.moe.active_parameters < m.parameters


def test_catalog_quantities_share_the_package_registry():
    assert mlsysim.Hardware.H100.memory.bandwidth._REGISTRY is ureg


def test_a_new_source_does_not_inherit_another_sources_section():
    from mlsysim.catalog.loader import split_provenance

    data = {"source": "nvidia-h100-datasheet", "section": "Table 1",
            "memory": {"capacity": "80 GB"},
            "tdp": {"value": "700 W", "source": "nvidia-cuda-graphs-blog"}}
    _, prov = split_provenance(data, "test")
    assert prov["memory.capacity"]["section"] == "Table 1"
    assert "section" not in prov["tdp"] and prov["tdp"]["source"] == "nvidia-cuda-graphs-blog"
