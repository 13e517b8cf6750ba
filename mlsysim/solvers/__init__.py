"""Solvers: one module per concept. Each is a stateless object with a keyword ``solve``."""

from .engine import Engine, SingleNodeModel
from .sensitivity import SensitivitySolver, SynthesisSolver
from .tensor_parallel import TensorParallelModel
from .wafer import WaferResidentModel, WeightStreamingModel

__all__ = ["Engine", "SensitivitySolver", "SingleNodeModel", "SynthesisSolver",
           "TensorParallelModel", "WaferResidentModel", "WeightStreamingModel"]
