"""`vmpdsl equations --latex` compiles with pdflatex, for every model of
models/ and every model block of LANGUAGE.md (found afresh each run; a model
the package refuses is skipped with its error).  Each document holds the plain
derivation and the --steps one, inside the preamble the README promises."""
import shutil
import subprocess

import pytest

import vmpdsl
from vmpdsl.errors import VmpError

from model_sources import all_models

PREAMBLE = "\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}\n"
PDFLATEX = shutil.which("pdflatex")


def compiled(source: str):
    try:
        return vmpdsl.load(source)
    except VmpError as err:
        pytest.skip(f"the model is refused: {str(err).splitlines()[0]}")


# Names a user may write: Unicode Greek, subscripts, underscores, a ligature.
UNICODE = """model unicode_names
dim N
data x[N]
hyper α_0 = 2.0, b_rate = 1.0, ﬁ = 0.5
τ ~ Gamma(α_0, b_rate)
for n in N:
    x[n] ~ Normal(ﬁ, τ)
"""
CASES = all_models() + [("unicode-names", UNICODE)]
NEEDS_PDFLATEX = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed "
                                    "(Debian: apt-get install texlive-latex-base; .ci/run "
                                    "installs it)")


@NEEDS_PDFLATEX
@pytest.mark.parametrize("source", [s for _, s in CASES], ids=[i for i, _ in CASES])
def test_latex_compiles(source, tmp_path):
    model = compiled(source)
    fragments = [model.equations("latex"), model.equations("latex", steps=True)]
    (tmp_path / "eq.tex").write_text(PREAMBLE + "\n\n".join(fragments) + "\n\\end{document}\n",
                                     encoding="utf-8")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "eq.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    errors = [l for l in run.stdout.splitlines() if l.startswith(("!", "l."))]
    assert run.returncode == 0, "\n".join(errors) + "\n\n" + fragments[0]
    assert (tmp_path / "eq.pdf").stat().st_size > 0


def test_equations_object_prints_text_and_latex():
    model = vmpdsl.load("models/coin.vmp")
    eq = model.equations()
    assert str(eq).startswith("q(p) = Beta(a, b)")
    assert eq.latex.startswith("\\begin{align*}") and eq.text == str(eq)
    assert eq._repr_latex_().startswith("$$\\begin{aligned}")
    assert model.equations("latex") == eq.latex
    with pytest.raises(ValueError):
        model.equations("html")


def test_unicode_names_are_typeset():
    tex = vmpdsl.load(UNICODE).equations("latex")
    assert r"\tau" in tex and r"\alpha_{0}" in tex and r"\mathrm{b\_rate}" in tex


def test_greek_names_are_typeset():
    model = vmpdsl.load("models/gmm.vmp")
    tex = model.equations("latex")
    for name in (r"\alpha_{0}", r"\Lambda_{k}", r"\nu_{0}", r"\beta_{0}", r"\mu_{k}", r"W_{0}"):
        assert name in tex, name
    assert "alpha0" not in tex and r"\mathrm{Lambda}" not in tex


def test_fit_does_not_import_sympy():
    """sympy only where equations are checked symbolically: a fit (and the
    compile it needs) prints the docstring's equations without it."""
    code = ("import sys, numpy as np, vmpdsl\n"
            "m = vmpdsl.load('models/gmm.vmp')\n"
            "m.fit({'x': np.random.default_rng(0).normal(size=(20, 2)), 'K': 2}, max_iter=3)\n"
            "assert 'Derived updates' in m.code\n"
            "print('sympy' in sys.modules)\n")
    import sys
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
