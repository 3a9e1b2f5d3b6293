"""Shared test settings.

Under CI (the environment variable CI is set) hypothesis is derandomized, so a
fresh clone runs the same examples every time and a red CI is reproducible;
local runs keep exploring new examples (and the fuzzers keep finding bugs).
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
