"""Compatibility module: the single-device solvers now live in ``solvers/engine.py``."""

from .engine import Engine, SingleNodeModel, solve_device

__all__ = ["Engine", "SingleNodeModel", "solve_device"]
