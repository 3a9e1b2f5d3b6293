"""Printing the derived updates (placeholder replaced below)."""


def equations_text(derivation, style="text"):
    return ""
