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


# -- nodes -------------------------------------------------------------------------------------
NODES = ["DGX_A100", "DGX_H100", "HGX_H200", "DGX_B200", "GB200_NVL72", "TPUv4_Pod", "TPUv5p_Pod"]


@pytest.mark.parametrize("key", NODES)
def test_nodes_are_in_the_nodes_namespace_and_flat(key):
    node = getattr(Systems.Nodes, key)
    assert node is getattr(Systems, key) and node.key == key
    assert node.intra_link is not None and node.intra_link.collectives is not None
    _assert_sourced(node)


def test_gb200_nvl72_is_72_devices_in_one_switched_nvlink_domain():
    nvl = Systems.Nodes.GB200_NVL72
    assert nvl.count == 72 and nvl.domain_size == 72
    assert nvl.accelerator.key == "GB200"
    link = nvl.intra_link
    assert link.topology == "switch" and link.torus_dims is None
    # NVLink 5: 130 TB/s per rack / 72 = 1.8 TB/s bidirectional per GPU = 900 GB/s each way
    assert link.bandwidth.to("GB/s").magnitude == pytest.approx(130_000 / 72 / 2, rel=0.02)
    assert link.collectives.key == "nvswitch_blackwell"
    # 72 devices, not one: memory and peak are totals over 72 GPUs
    assert nvl.total_memory.to("GB").magnitude == pytest.approx(72 * 186)


def test_gb200_gpu_dense_peaks_are_half_the_rack_figures_over_72():
    gpu = mlsysim.Hardware.GB200
    rack_sparse_pflops = {"fp16": 360, "bf16": 360, "fp8": 720, "fp4": 1440, "tf32": 180}
    for precision, rack in rack_sparse_pflops.items():
        dense_tflops = rack * 1000 / 72 / 2
        assert gpu.compute.precision_flops[precision].to("TFLOP/s").magnitude == pytest.approx(
            dense_tflops), precision
    assert gpu.memory.bandwidth.to("TB/s").magnitude == pytest.approx(576 / 72)
    assert gpu.efficiency.device_class.key == "nvidia_blackwell"
    _assert_sourced(gpu)


@pytest.mark.parametrize("key, chips, per_chip_gb_s", [
    ("TPUv4_Pod", 4096, 300),    # Jouppi et al. ISCA 2023: 4096 chips; 2400 Gbps ICI per chip
    ("TPUv5p_Pod", 8960, 600),   # Cloud TPU v5p docs: 8960 chips; 1200 GBps bidirectional
])
def test_tpu_pods_are_one_torus_whose_dims_multiply_to_the_chip_count(key, chips, per_chip_gb_s):
    pod = getattr(Systems.Nodes, key)
    link = pod.intra_link
    assert pod.count == chips and link.topology == "torus" and len(link.torus_dims) == 3
    product = 1
    for d in link.torus_dims:
        product *= d
    assert product == chips == link.domain_size
    assert link.links == 6  # a 3D torus: one link to each of six neighbours
    assert link.bandwidth.to("GB/s").magnitude == pytest.approx(per_chip_gb_s)
    assert link.link_bandwidth.to("GB/s").magnitude == pytest.approx(per_chip_gb_s / 6)
    assert link.collectives.key == "tpu_ici"


def test_a_torus_whose_dims_do_not_hold_the_node_is_refused():
    from mlsysim.specs import InterconnectSpec, NodeSpec
    link = InterconnectSpec(name="ici", bandwidth="600 GB/s", topology="torus",
                            torus_dims=(4, 4, 4))
    with pytest.raises(ValueError, match="torus_dims"):
        NodeSpec(name="pod", accelerator=mlsysim.Hardware.TPUv5p, count=60, intra_link=link)
    with pytest.raises(ValueError, match="torus_dims"):
        InterconnectSpec(name="ici", bandwidth="600 GB/s", topology="torus")


# -- clusters ----------------------------------------------------------------------------------
def test_every_cluster_loads_and_is_sourced():
    fleets = {f.key: f for f in Systems.Fleets}
    assert {"A100_Cluster_1024", "H100_Cluster_1024", "B200_Cluster_1024",
            "GB200_NVL72_Cluster_576"} <= set(fleets)
    for fleet in fleets.values():
        assert fleet.fabric.key in Fabrics.names()
        _assert_sourced(fleet)


def test_gb200_cluster_has_one_ndr_port_per_gpu():
    fleet = Systems.GB200_NVL72_Cluster_576
    assert fleet.count == 8 and fleet.accelerators == 576
    # 72 ports x 400 Gb/s = 28.8 Tb/s = 3600 GB/s per rack; 50 GB/s per GPU
    assert fleet.fabric.bandwidth.to("GB/s").magnitude == pytest.approx(72 * 400 / 8)
    assert (fleet.fabric.bandwidth / fleet.node.count).to("GB/s").magnitude == pytest.approx(50)


# -- Fleet() -----------------------------------------------------------------------------------
def test_fleet_from_names():
    from mlsysim.fleet import Fleet
    fleet = Fleet(node="DGX_H100", count=16, fabric="InfiniBand_NDR")
    assert isinstance(fleet, FleetSpec) and fleet.count == 16 and fleet.accelerators == 128
    assert fleet.node is Systems.DGX_H100
    assert fleet.fabric.bandwidth.to("GB/s").magnitude == pytest.approx(400)


def test_fleet_from_specs_with_ports_per_node():
    from mlsysim.fleet import Fleet
    fleet = Fleet(node=Systems.Nodes.GB200_NVL72, count=4, fabric=Fabrics.InfiniBand_XDR,
                  ports_per_node=72)
    # 72 x 800 Gb/s = 57.6 Tb/s = 7200 GB/s per rack per direction
    assert fleet.fabric.bandwidth.to("GB/s").magnitude == pytest.approx(7200)
    assert fleet.accelerators == 288
    assert Fabrics.InfiniBand_XDR.ports_per_node == 8  # the catalog entry is untouched


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(node="DGX_H10", count=2, fabric="InfiniBand_NDR"), ValueError, "did you mean 'DGX_H100'"),
    (dict(node="DGX_H100", count=2, fabric="InfiniBand NRD"), ValueError, "InfiniBand_NDR"),
    (dict(node="DGX_H100", count=0, fabric="InfiniBand_NDR"), ValueError, "count must be"),
    (dict(node="DGX_H100", count=-3, fabric="InfiniBand_NDR"), ValueError, "count"),
    (dict(node="DGX_H100", count=2.0, fabric="InfiniBand_NDR"), TypeError, "count"),
    (dict(node="DGX_H100", count=True, fabric="InfiniBand_NDR"), TypeError, "count"),
    (dict(node="H100", count=2, fabric="InfiniBand_NDR"), ValueError, "DGX_H100"),
    (dict(node="H100_Cluster_1024", count=2, fabric="RoCE_400G"), ValueError, "is a fleet"),
    (dict(node=3, count=2, fabric="RoCE_400G"), TypeError, "node must be"),
    (dict(node="DGX_H100", count=2, fabric=400), TypeError, "fabric must be"),
    (dict(node="DGX_H100", count=2, fabric="RoCE_400G", ports_per_node=0), ValueError,
     "ports_per_node"),
])
def test_fleet_errors_are_one_clear_line(kwargs, error, words):
    from mlsysim.fleet import Fleet
    with pytest.raises(error) as info:
        Fleet(**kwargs)
    message = str(info.value)
    assert words in message and "\n" not in message
