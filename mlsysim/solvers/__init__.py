"""Solvers: one module per concept. Each is a stateless object with a keyword ``solve``."""

from .batching_optimizer import BatchingOptimizer
from .compression import CompressionModel
from .continuous_batching import ContinuousBatchingModel
from .engine import Engine, SingleNodeModel
from .queueing import TailLatencyModel, simulate_queue
from .sensitivity import SensitivitySolver, SynthesisSolver
from .serving import ServingModel
from .tensor_parallel import TensorParallelModel
from .wafer import WaferResidentModel, WeightStreamingModel

__all__ = ["Engine", "SensitivitySolver", "ServingModel", "SingleNodeModel", "SynthesisSolver",
           "TailLatencyModel", "TensorParallelModel", "WaferResidentModel",
           "WeightStreamingModel", "simulate_queue"]
__all__ += ["CompressionModel"]
__all__ += ["ContinuousBatchingModel"]
__all__ += ["BatchingOptimizer"]
