"""Derive: the VMP messages, the ELBO monomials and the printed equations."""
