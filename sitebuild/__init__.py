"""Offline site builder for the MLSys·im tutorial pages (not shipped in the wheel)."""
