"""MLSys·im: first-principles performance models for ML systems, with a sourced catalog.

``import mlsysim`` is cheap: pint, pydantic and the catalog load on first use of a name below.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0.dev0"

# public name -> module that defines it (imported lazily on first access)
_LAZY = {
    "Hardware": "mlsysim.catalog",
    "Models": "mlsysim.catalog",
    "Systems": "mlsysim.catalog",
    "Infra": "mlsysim.catalog",
    "ureg": "mlsysim.units",
    "Q_": "mlsysim.units",
    "HardwareSpec": "mlsysim.specs",
    "TransformerWorkload": "mlsysim.specs",
    "SampleWorkload": "mlsysim.specs",
    "NodeSpec": "mlsysim.specs",
    "FleetSpec": "mlsysim.specs",
    "GridSpec": "mlsysim.specs",
    "load_spec": "mlsysim.specfile",
    "Engine": "mlsysim.solvers",
    "SingleNodeModel": "mlsysim.solvers",
    "WeightStreamingModel": "mlsysim.solvers",
    "SensitivitySolver": "mlsysim.solvers",
    "SynthesisSolver": "mlsysim.solvers",
    "TensorParallelModel": "mlsysim.solvers",
    "CompressionModel": "mlsysim.solvers",
    "sweep": "mlsysim.sweeps",
    "SweepResult": "mlsysim.sweeps",
    "WaferResidentModel": "mlsysim.solvers",
    "Bottleneck": "mlsysim.vocabulary",
    "Phase": "mlsysim.vocabulary",
    "Constraint": "mlsysim.constraints",
    "fmt": "mlsysim.formatting",
    "ServingModel": "mlsysim.solvers",
    "ContinuousBatchingModel": "mlsysim.solvers",
    "TailLatencyModel": "mlsysim.solvers",
    "simulate_queue": "mlsysim.solvers",
    "BatchingOptimizer": "mlsysim.solvers",
    "Fleet": "mlsysim.fleet",
    "TrainingMemoryModel": "mlsysim.solvers.training_memory",
    "collective_time": "mlsysim.solvers.fleet_collectives",
    "bus_bandwidth": "mlsysim.solvers.fleet_collectives",
    "DistributedModel": "mlsysim.solvers.distributed",
    "ParallelismOptimizer": "mlsysim.solvers.parallelism_optimizer",
    "ScalingModel": "mlsysim.solvers.scaling",
    "ReliabilityModel": "mlsysim.solvers.reliability",
    "CheckpointModel": "mlsysim.solvers.checkpoint",
    "EconomicsModel": "mlsysim.solvers.economics",
    "SustainabilityModel": "mlsysim.solvers.sustainability",
    "PlacementOptimizer": "mlsysim.solvers.placement",
    "pareto": "mlsysim.pareto_front",
    "answer": "mlsysim.classroom",
    "answer_free_text": "mlsysim.classroom",
    "prediction": "mlsysim.classroom",
    "CatalogError": "mlsysim.errors",
    "UnknownNameError": "mlsysim.errors",
}
_SUBMODULES = {"units", "specs", "catalog", "registry", "errors", "specfile", "solvers",
               "physics", "show", "viz", "results", "formatting", "cli", "render",
               "vocabulary", "constraints", "validation", "sweeps", "classroom", "tidy"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        from .registry import paused_gc
        with paused_gc():  # first use imports pint, pydantic and the specs at once
            value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        from .registry import paused_gc
        with paused_gc():
            return importlib.import_module(f"mlsysim.{name}")
    raise AttributeError(f"module 'mlsysim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
