"""API compatibility: the Python cells of the published seed tutorial run unmodified.

``tests/data/gpu-vs-wafer-scale.seed.qmd`` is a page written for the published MLSys·im 0.1.0
(a fixture, copied verbatim from the project's spec folder). Its ```{python} cells are
extracted and executed in order, in one namespace, exactly as written.
"""

import re
from pathlib import Path

import pytest

SEED = Path(__file__).parent / "data" / "gpu-vs-wafer-scale.seed.qmd"
CELL = re.compile(r"^```\{python\}[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def _cells() -> list[str]:
    return CELL.findall(SEED.read_text(encoding="utf-8"))


def test_seed_has_python_cells():
    assert len(_cells()) == 6


def test_seed_cells_run_unmodified(capsys):
    namespace: dict = {"__name__": "__seed__"}
    for i, source in enumerate(_cells()):
        try:
            exec(compile(source, f"{SEED.name}[cell {i}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"seed cell {i} failed: {type(exc).__name__}: {exc}\n{source}")
    # the physics the seed prose gets wrong, our engine gets right
    gpu = namespace["gpu_result"]
    assert gpu.feasible is False  # GPT-3 fp16 (350 GB) does not fit one 80 GB H100
    ws = namespace["ws_result"]
    assert ws.optimal_batch_size <= ws.sram_batch_limit
    assert ws.wafer_memory_utilization > 0
    assert set(namespace["gpu_sens"].sensitivities) >= {"peak_flops", "memory_bandwidth"}
    assert namespace["gpu_sens"].binding_constraint == "memory_bandwidth"
    printed = capsys.readouterr().out
    assert "Different architectures" in printed
