"""Systems catalog (issue 11): fabrics, nodes (incl. GB200 NVL72 and TPU pods), clusters, Fleet().

Expectations are derived by hand from the port rates and counts the sources publish."""

import pytest

import mlsysim
from mlsysim.catalog import Fabrics, Systems, sources
from mlsysim.specs import FabricSpec, FleetSpec

GBIT = 1e9 / 8  # bytes per second in one Gb/s

FABRIC_PORT_GBIT = {"InfiniBand_HDR": 200, "InfiniBand_NDR": 400, "InfiniBand_XDR": 800,
                    "RoCE_400G": 400, "Ethernet_100G": 100}


def _bps(q):
    return q.to("B/s").magnitude


def _numeric_paths(data, path=""):
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("provenance", "accelerator", "node", "device_class", "collectives"):
                continue
            yield from _numeric_paths(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            yield from _numeric_paths(value, f"{path}[{i}]")
    elif hasattr(data, "magnitude") or (isinstance(data, (int, float))
                                        and not isinstance(data, bool)):
        yield path


def _assert_sourced(spec):
    for path in _numeric_paths(spec.model_dump(exclude_unset=True, exclude={"provenance"})):
        prov = spec.source_of(path)
        assert prov is not None, f"{spec.key}: {path} has no source"
        assert prov.source in sources(), f"{spec.key}: {path}: unknown source {prov.source}"
        if prov.kind == "estimate":
            assert prov.note, f"{spec.key}: {path} is an estimate without reasoning"


# -- fabrics -----------------------------------------------------------------------------------
def test_the_five_fabrics_exist_under_systems_fabrics():
    assert sorted(Fabrics.names()) == sorted(FABRIC_PORT_GBIT)
    for key in FABRIC_PORT_GBIT:
        assert getattr(Systems.Fabrics, key) is Fabrics.get(key)


@pytest.mark.parametrize("key", sorted(FABRIC_PORT_GBIT))
def test_fabric_port_rate_and_per_node_bandwidth(key):
    fab = Fabrics.get(key)
    assert _bps(fab.port_bandwidth) == pytest.approx(FABRIC_PORT_GBIT[key] * GBIT)
    # bandwidth is per node per direction: ports x port rate
    assert _bps(fab.bandwidth) == pytest.approx(fab.ports_per_node * FABRIC_PORT_GBIT[key] * GBIT)
    bw, lat = fab.si
    assert bw == pytest.approx(_bps(fab.bandwidth)) and lat == fab.latency.to("s").magnitude
    assert 0.1e-6 < lat < 100e-6


@pytest.mark.parametrize("key", sorted(FABRIC_PORT_GBIT))
def test_every_fabric_number_has_a_resolvable_source(key):
    _assert_sourced(Fabrics.get(key))
    assert Fabrics.get(key).source_of("latency").note  # says what the latency covers


def test_ndr_with_eight_ports_is_400_gigabytes_per_second():
    # 8 ports x 400 Gb/s = 3200 Gb/s = 400 GB/s per node per direction
    assert Fabrics.InfiniBand_NDR.bandwidth.to("GB/s").magnitude == pytest.approx(400)


def test_fabric_spec_accepts_a_per_node_bandwidth():
    fab = FabricSpec(name="x", bandwidth="400 GB/s", ports_per_node=8, latency="1 us")
    assert fab.port_bandwidth.to("GB/s").magnitude == pytest.approx(50)
    assert fab.bandwidth.to("GB/s").magnitude == pytest.approx(400)


# -- existing clusters keep their per-node fabric ----------------------------------------------
@pytest.mark.parametrize("key, per_node_gb_s, fabric", [
    ("A100_Cluster_1024", 200, "InfiniBand_HDR"),   # 8 x 200 Gb/s (Megatron-LM SC21, Selene)
    ("H100_Cluster_1024", 400, "InfiniBand_NDR"),   # 8 x 400 Gb/s ConnectX-7
    ("B200_Cluster_1024", 400, "InfiniBand_NDR"),
])
def test_existing_clusters_per_node_fabric_bandwidth_unchanged(key, per_node_gb_s, fabric):
    fleet = getattr(mlsysim.Systems, key)
    assert isinstance(fleet, FleetSpec) and fleet.fabric.key == fabric
    assert fleet.fabric.bandwidth.to("GB/s").magnitude == pytest.approx(per_node_gb_s)
    assert fleet.count == 128 and fleet.accelerators == 1024
    _assert_sourced(fleet)


def test_a_fleets_per_node_fabric_bandwidth_cites_its_derivation():
    prov = mlsysim.Systems.H100_Cluster_1024.source_of("fabric.bandwidth")
    assert prov.kind == "derived" and prov.source in sources()
    assert "8 ports x 400 Gb/s" in prov.note
