"""Emit: the update program as a standalone NumPy module."""
