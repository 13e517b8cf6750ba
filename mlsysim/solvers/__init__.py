"""Solvers: one module per concept. Each is a stateless object with a keyword ``solve``."""

from .roofline import Engine, SingleNodeModel
from .sensitivity import SensitivitySolver, SynthesisSolver
from .tensor_parallel import TensorParallelModel
from .weight_streaming import WeightStreamingModel

__all__ = ["Engine", "SensitivitySolver", "SingleNodeModel", "SynthesisSolver",
           "TensorParallelModel", "WeightStreamingModel"]
