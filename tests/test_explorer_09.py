"""The explorer of tutorial 09 (collectives) in a browser: at sampled settings of its controls
(fleet, collective, message size, GPU count), every value it shows equals the engine's at the
same inputs, formatted with ``mlsysim.fmt``; the controls work from the keyboard; and an input
event is answered within 50 ms. Plus a check by hand of the page's ring all-reduce claim.

The page is built in a copy of the project (as tests/test_explorer_04.py does) and opened in
Debian's Chromium. Expected values are solved here, independently of the page: the test reads
which inputs the page says it shows and calls ``collective_time`` with exactly those; the bus
bandwidth is worked out here from nccl-tests' definition (doc/PERFORMANCE.md: algorithm
bandwidth S/t times 2(n−1)/n for all-reduce, (n−1)/n for reduce-scatter, all-gather and
all-to-all, 1 for a send) and must also equal ``bus_bandwidth``'s.
"""

import html
import random
import re
from pathlib import Path

import pytest
from explorer_support import build_page, open_page, response_times
from explorer_support import labels as _labels
from explorer_support import slide as _slide
from explorer_support import text as _text

import mlsysim
from mlsysim import Q_, Models, Systems, fmt
from mlsysim.solvers.fleet_collectives import bus_bandwidth, collective_time

pytestmark = pytest.mark.slow
PAGE = "tutorials/09_collectives.qmd"
BUDGET_MS = 50.0
ETHERNET = mlsysim.Fleet(node="DGX_H100", count=128, fabric="Ethernet_100G")
FLEETS = {f.name: f for f in (Systems.A100_Cluster_1024, Systems.H100_Cluster_1024,
                              Systems.B200_Cluster_1024, ETHERNET)}
A100, H100, B200, ETH = FLEETS  # the option labels, in the page's order
COLLECTIVES = {"allreduce": "All-reduce", "reduce_scatter": "Reduce-scatter",
               "allgather": "All-gather", "alltoall": "All-to-all", "p2p": "Point-to-point"}
KIB, MIB, GIB = 2 ** 10, 2 ** 20, 2 ** 30
# (fleet, collective, message bytes, GPUs): the page's default, both ends of both sliders,
# every fleet and collective, inside a node and across it, published dots shown and not
SAMPLES = [
    (H100, "allreduce", MIB, 8),
    (H100, "allreduce", 16 * GIB, 1024),
    (A100, "allreduce", 4 * GIB, 8),          # Azure's A100 measurements drawn
    (A100, "reduce_scatter", 64 * KIB, 64),
    (B200, "allgather", GIB, 16),
    (B200, "allreduce", 256 * MIB, 8),        # no published B200 curve
    (ETH, "alltoall", 4 * MIB, 256),
    (H100, "p2p", KIB, 2),
    (ETH, "p2p", 16 * GIB, 1024),
    (ETH, "allreduce", KIB, 1024),
    (H100, "alltoall", 16 * MIB, 4),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_page(tmp_path_factory, PAGE, "explorer09")


@pytest.fixture(scope="module")
def page(site):
    with open_page(site, PAGE, "#co-explorer") as tab:
        yield tab


def _size_label(message: int) -> str:
    return fmt(Q_(message / KIB, "KiB"))


def _set(tab, fleet: str, collective: str, message: int, gpus: int) -> None:
    tab.select_option("#co-fleet", label=fleet)
    tab.select_option("#co-coll", label=COLLECTIVES[collective])
    sizes = _labels(tab, "#co-size", "#co-sizev")
    groups = _labels(tab, "#co-gpus", "#co-gpusv")
    assert _size_label(message) in sizes and f"{gpus:,}" in groups, (message, sizes, groups)
    _slide(tab, "#co-size", sizes.index(_size_label(message)))
    _slide(tab, "#co-gpus", groups.index(f"{gpus:,}"))


def _selected(tab, selector: str) -> str:
    return tab.evaluate(f"() => {{ const s = document.querySelector('{selector}');"
                        f" return s.options[s.selectedIndex].text; }}")


def _shown(tab) -> dict:
    """What the explorer shows, and the inputs it says it shows them for."""
    values = {k: _text(tab, f"#co-{k}") for k in ("time", "alg", "busbw", "links", "status")}
    values.update(fleet=_selected(tab, "#co-fleet"),
                  collective=next(k for k, v in COLLECTIVES.items()
                                  if v == _selected(tab, "#co-coll")),
                  size=_text(tab, "#co-sizev"),
                  gpus=int(_text(tab, "#co-gpusv").replace(",", "")),
                  dots=tab.evaluate("() => [...document.querySelectorAll('#co-svg circle')]"
                                    ".filter(c => c.getAttribute('fill') === 'var(--co-meas)')"
                                    ".length"))
    return values


def _factor(collective: str, n: int) -> float:
    """nccl-tests' bus-bandwidth factor (doc/PERFORMANCE.md), written out here."""
    if collective == "allreduce":
        return 2 * (n - 1) / n
    if collective == "p2p":
        return 1.0
    return (n - 1) / n


def _expected(fleet: str, collective: str, message: int, gpus: int) -> dict:
    system = FLEETS[fleet]
    cost = collective_time(system, collective, message, gpus)
    busbw = message / cost.seconds * _factor(collective, gpus)  # B/s
    engine = bus_bandwidth(system, collective, message, gpus)
    assert engine.to("B/s").magnitude == pytest.approx(busbw, rel=1e-12)
    per = system.node.count
    node_link, fabric = system.node.intra_link.name, system.fabric.name
    # which links the data must cross, from the placement alone
    if gpus <= per:
        assert cost.links == (node_link,)
        where = ("one send between two GPUs in the same node" if collective == "p2p"
                 else f"{gpus:,} GPUs in one {system.node.name}")
    else:
        assert cost.links == ((fabric,) if collective == "p2p" else (node_link, fabric))
        where = ("one send between two GPUs in different nodes" if collective == "p2p"
                 else f"{gpus:,} GPUs on {gpus // per:,} nodes, {per} per node")
    measured = {"DGX_A100": 12, "DGX_H100": 12}.get(system.node.key, 0)
    return {"time": fmt(Q_(cost.seconds, "s")), "alg": cost.algorithm,
            "busbw": fmt(Q_(busbw, "B/s")), "links": " → ".join(cost.links),
            "status": f"{COLLECTIVES[collective]} of {_size_label(message)}: {where}.",
            "dots": measured if collective == "allreduce" and gpus == 8 else 0}


def _random_samples(n: int, seed: int = 9) -> list[tuple]:
    rng = random.Random(seed)
    return [(rng.choice(list(FLEETS)), rng.choice(list(COLLECTIVES)),
             4 ** rng.randint(5, 17), 2 ** rng.randint(1, 10)) for _ in range(n)]


@pytest.mark.parametrize("fleet, collective, message, gpus", SAMPLES + _random_samples(4))
def test_shown_values_equal_the_engine(page, fleet, collective, message, gpus):
    _set(page, fleet, collective, message, gpus)
    shown = _shown(page)
    assert (shown["fleet"], shown["collective"], shown["size"], shown["gpus"]) == \
        (fleet, collective, _size_label(message), gpus)
    expected = _expected(fleet, collective, message, gpus)
    for key, value in expected.items():
        assert shown[key] == value, (key, shown[key], value)
    assert page.errors == []


def test_the_page_opens_on_the_default_and_loads_nothing(page, site):
    """Default: an all-reduce of 1 MiB among the 8 GPUs of one node of the NDR H100 cluster,
    Azure's H100 measurements drawn; and the explorer fetches nothing from a server."""
    page.goto(page.url, wait_until="load")  # a fresh navigation: no restored form state
    shown = _shown(page)
    assert (shown["fleet"], shown["collective"], shown["size"], shown["gpus"]) == \
        (H100, "allreduce", _size_label(MIB), 8)
    assert shown["dots"] == 12
    html_text = (site / Path(PAGE).with_suffix(".html")).read_text(encoding="utf-8")
    explorer = html_text.split('id="co-explorer"')[1].split("</script>")[0]
    assert "cdn" not in explorer.lower() and "http" not in explorer.replace(
        "http://www.w3.org/2000/svg", "")


def test_controls_have_labels_and_spoken_values(page):
    for control in ("co-fleet", "co-coll", "co-size", "co-gpus"):
        assert page.locator(f"label[for='{control}']").count() == 1, control
    _set(page, H100, "allreduce", 64 * MIB, 64)
    assert page.get_attribute("#co-size", "aria-valuetext") == _size_label(64 * MIB)
    assert page.get_attribute("#co-gpus", "aria-valuetext") == "64 GPUs"
    label = page.get_attribute("#co-svg", "aria-label")
    cost = collective_time(FLEETS[H100], "allreduce", 64 * MIB, 64)
    assert fmt(Q_(cost.seconds, "s")) in label and cost.algorithm in label
    assert page.get_attribute("#co-readout", "aria-live") == "polite"
    # the selects work from the keyboard too
    page.focus("#co-coll")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    assert _shown(page)["collective"] == "reduce_scatter"
    assert page.errors == []


def test_an_input_event_is_answered_within_50_ms(page):
    """An input event on every control is answered within 50 ms (see
    :func:`explorer_support.response_times`)."""
    layout = response_times(page, ["co-size", "co-gpus", "co-coll", "co-fleet"], "co-explorer", 40)
    assert layout[-1] < BUDGET_MS, layout
    assert page.errors == []


def test_ring_allreduce_claim_by_hand(site):
    """The page says the ring all-reduce of Llama-3 8B's gradients across 1,024 H100s takes
    2(n−1)/n · S/B + 2(n−1)·α = <time>. Worked out here from the datasheets: S = 8.03e9
    parameters (Meta's Llama 3 8B) × 2 bytes (bf16); n = 1,024; B = 8 NDR ports × 400 Gb/s
    = 400 GB/s per node, which a ring step leaving a node uses in full (below NVLink 4's
    900/2 = 450 GB/s per GPU); α = 1.2 µs, the fabric's one-byte latency, + 2 µs, NCCL's cost of
    one step fitted inside the node (a 1 KB all-reduce over 8 H100s: 14 steps, about 26 µs)."""
    s = 8.03e9 * 2
    n = 1024
    b = 8 * 400e9 / 8
    wire, software = 1.2e-6, 2e-6
    alpha = wire + software
    by_hand = 2 * (n - 1) / n * s / b + 2 * (n - 1) * alpha
    assert by_hand == pytest.approx(0.0802 + 0.006547, rel=2e-3)  # 80.2 ms + 6.55 ms
    # the catalog holds the same inputs
    cluster = Systems.H100_Cluster_1024
    assert float(Models.Llama3_8B.parameters.to("param").magnitude) == pytest.approx(8.03e9)
    assert float(cluster.fabric.bandwidth.to("B/s").magnitude) == pytest.approx(b)
    assert float(cluster.fabric.latency.to("s").magnitude) == pytest.approx(wire)
    assert min(lat for _, lat, _ in cluster.node.intra_link.si[1]) == pytest.approx(software)
    assert float(cluster.node.intra_link.bandwidth.to("B/s").magnitude) == pytest.approx(450e9)
    # the engine's time is the formula, and the page prints it
    cost = collective_time(cluster, "allreduce", s, n)
    assert cost.algorithm == "ring"
    assert cost.seconds == pytest.approx(by_hand, rel=1e-9)
    text = html.unescape(re.sub(r"<[^>]+>", "", (site / Path(PAGE).with_suffix(".html"))
                                .read_text(encoding="utf-8")))
    text = " ".join(text.split())
    claim = re.search(r"2\(n−1\)/n · S/B \+ 2\(n−1\)·α = ([^,]+),", text)
    assert claim, "the page no longer states the ring formula's value"
    assert claim.group(1) == fmt(Q_(by_hand, "s")), (claim.group(1), by_hand)
    # and the balance size it gives, S* = n·α·B
    assert f"is {fmt(Q_(n * alpha * b, 'B'))}: the gradients are far above it" in text
