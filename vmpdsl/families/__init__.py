"""The exponential-family registry: one module per family, records in ``registry``."""
from .registry import FAMILIES, Family, get_family, runtime_source

__all__ = ["FAMILIES", "Family", "get_family", "runtime_source"]
