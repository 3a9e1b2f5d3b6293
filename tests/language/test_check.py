"""Every example model checks, and every variable gets the right role, family and shape."""
from pathlib import Path

import pytest

from vmpdsl.language import check, parse, read_model
from vmpdsl.language.model import Plate

MODELS = Path(__file__).resolve().parents[2] / "models"

# model -> variable -> (role, family, plates, event, categories)
EXPECTED = {
    "linreg": {
        "X": ("data", None, (), ("N", "D"), None),
        "y": ("data", "Normal", (), ("N",), None),
        "a0": ("hyper", None, (), (), None), "b0": ("hyper", None, (), (), None),
        "e0": ("hyper", None, (), (), None), "f0": ("hyper", None, (), (), None),
        "alpha": ("latent", "Gamma", (), (), None),
        "lambda": ("latent", "Gamma", (), (), None),
        "w": ("latent", "MvNormal", (), ("D",), None),
    },
    "normal_gamma": {
        "x": ("data", "Normal", (), ("N",), None),
        "mu0": ("hyper", None, (), (), None), "kappa0": ("hyper", None, (), (), None),
        "a0": ("hyper", None, (), (), None), "b0": ("hyper", None, (), (), None),
        "tau": ("latent", "Gamma", (), (), None),
        "mu": ("latent", "Normal", (), (), None),
    },
    "linreg_em": {
        "X": ("data", None, (), ("N", "D"), None),
        "y": ("data", "Normal", (), ("N",), None),
        "a0": ("hyper", None, (), (), None), "b0": ("hyper", None, (), (), None),
        "lambda": ("hyper", None, (), (), None),
        "alpha": ("latent", "Gamma", (), (), None),
        "w": ("point", "MvNormal", (), ("D",), None),
    },
    "gmm_em": {
        "x": ("data", "MvNormal", (), ("N", "D"), None),
        "pi": ("param", None, (), ("K",), None),
        "mu": ("param", None, ("K",), ("D",), None),
        "Lambda": ("param", None, ("K",), ("D", "D"), None),
        "z": ("latent", "Categorical", ("N",), (), "K"),
    },
    "gmm": {
        "x": ("data", "MvNormal", (), ("N", "D"), None),
        "alpha0": ("hyper", None, (), (), None), "beta0": ("hyper", None, (), (), None),
        "nu0": ("hyper", None, (), (), None), "W0": ("hyper", None, (), ("D", "D"), None),
        "m0": ("hyper", None, (), ("D",), None),
        "pi": ("latent", "Dirichlet", (), ("K",), None),
        "Lambda": ("latent", "Wishart", ("K",), ("D", "D"), None),
        "mu": ("latent", "MvNormal", ("K",), ("D",), None),
        "z": ("latent", "Categorical", ("N",), (), "K"),
    },
    "lda": {
        "doc": ("data", None, (), ("T",), "Dc"),
        "word": ("data", "Categorical", (), ("T",), "V"),
        "alpha": ("hyper", None, (), (), None), "eta": ("hyper", None, (), (), None),
        "phi": ("latent", "Dirichlet", ("K",), ("V",), None),
        "theta": ("latent", "Dirichlet", ("Dc",), ("K",), None),
        "z": ("latent", "Categorical", ("T",), (), "K"),
    },
    "pca": {
        "Y": ("data", "Normal", (), ("N", "D"), None),
        "a": ("hyper", None, (), (), None), "b": ("hyper", None, (), (), None),
        "tau": ("latent", "Gamma", (), (), None),
        "alpha": ("latent", "Gamma", ("K",), (), None),
        "W": ("latent", "MvNormal", ("D",), ("K",), None),
        "mu": ("latent", "Normal", ("D",), (), None),
        "z": ("latent", "MvNormal", ("N",), ("K",), None),
    },
    "hier": {
        "y": ("data", "Normal", (), ("N",), None),
        "g": ("data", None, (), ("N",), "G"),
        "mu": ("latent", "Normal", (), (), None),
        "tau": ("latent", "Gamma", (), (), None),
        "sigma": ("latent", "Gamma", (), (), None),
        "theta": ("latent", "Normal", ("G",), (), None),
    },
    "poisson_mix": {
        "c": ("data", "Poisson", (), ("N",), None),
        "pi": ("latent", "Dirichlet", (), ("K",), None),
        "rate": ("latent", "Gamma", ("K",), (), None),
        "z": ("latent", "Categorical", ("N",), (), "K"),
    },
    "coin": {
        "x": ("data", "Bernoulli", (), ("N",), None),
        "p": ("latent", "Beta", (), (), None),
    },
}

DIMS = {"linreg": ["N", "D"], "normal_gamma": ["N"], "linreg_em": ["N", "D"],
        "gmm_em": ["N", "K", "D"], "gmm": ["N", "K", "D"], "lda": ["Dc", "K", "V", "T"],
        "pca": ["N", "D", "K"], "hier": ["N", "G"], "poisson_mix": ["N", "K"], "coin": ["N"]}


def test_every_example_of_the_contract_is_in_models():
    assert set(EXPECTED) <= {p.stem for p in MODELS.glob("*.vmp")}


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.vmp")), ids=lambda p: p.stem)
def test_every_model_file_checks(path):
    model = read_model(path)
    assert model.factors and all(v.role for v in model.variables.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_checks_with_expected_shapes(name):
    model = read_model(MODELS / f"{name}.vmp")
    assert model.name == name
    assert list(model.dims) == DIMS[name]
    got = {v.name: (v.role, v.family, v.plates, v.event, v.categories)
           for v in model.variables.values()}
    assert got == EXPECTED[name]
    for var in model.variables.values():
        assert var.shape == var.plates + var.event
        assert var.dtype == ("int" if var.family in ("Categorical", "Bernoulli", "Poisson")
                             or var.name in ("g", "doc") else "real")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_tilde_is_a_factor_with_its_plates(name):
    model = read_model(MODELS / f"{name}.vmp")
    tildes = [line for line in model.source.splitlines() if "~" in line]
    assert len(model.factors) == len(tildes)
    for factor in model.factors:
        var = model.variables[factor.variable]
        if var.role in ("latent", "point"):
            assert tuple(p.dim for p in factor.plates) == var.plates
            assert model.factor_of(var.name) is factor


def test_factor_plates_of_pca_likelihood():
    model = read_model(MODELS / "pca.vmp")
    likelihood = model.factors[-1]
    assert likelihood.variable == "Y"
    assert likelihood.plates == (Plate("n", "N"), Plate("d", "D"))
    assert likelihood.dist.name == "Normal"


def test_hypers_keep_their_default_expressions():
    model = read_model(MODELS / "gmm.vmp")
    assert list(model.hypers) == ["alpha0", "beta0", "nu0", "W0", "m0"]
    assert model.hypers["W0"].func == "eye"


def test_read_model_takes_a_path_string_or_text():
    path = MODELS / "coin.vmp"
    from_path = read_model(path)
    from_string = read_model(str(path))
    from_text = read_model(path.read_text(), filename="coin_copy.vmp")
    assert from_path.filename == str(path) and from_string.filename == str(path)
    assert from_text.filename == "coin_copy.vmp"
    assert from_path.variables == from_string.variables == from_text.variables


def test_model_name_defaults_to_file_stem_then_model():
    text = "dim N\ndata x[N]\nfor n in N:\n    x[n] ~ Normal(0.0, 1.0)\n"
    assert check(parse(text, "some/dir/flat.vmp")).name == "flat"
    assert check(parse(text)).name == "model"


def test_unicode_names_dim_defaults_and_one_line_plates():
    text = ("dim N, K = 3\ndata y[N]\nhyper λ0 = 1e-3\n"
            "α ~ Gamma(1.0, λ0)\nfor k in K: θ[k] ~ Normal(0.0, α)\n"
            "π ~ Dirichlet(ones(K))\n"
            "for n in N:\n    z[n] ~ Categorical(π)\n    y[n] ~ Normal(θ[z[n]], α)\n")
    model = check(parse(text))
    assert model.dims["K"].value == 3
    assert model.variables["θ"].shape == ("K",)
    assert model.variables["z"].categories == "K"


def test_param_used_whole_has_no_plates_and_fixed_sizes_are_ints():
    text = ("dim N\ndata x[N, 2]\nparam m[2]\nparam P[2, 2]\n"
            "for n in N:\n    x[n] ~ MvNormal(m, P)\n")
    model = check(parse(text))
    assert model.variables["m"].plates == () and model.variables["m"].event == (2,)
    assert model.variables["x"].event == ("N", 2)


def test_slices_matrix_products_and_scalar_division():
    text = ("dim N, D\ndata X[N, D]\ndata y[N]\nhyper A = 2.0 * eye(D)\n"
            "w ~ MvNormal(zeros(D), A @ eye(D) / 2.0)\n"
            "for n in N:\n    y[n] ~ Normal(sum(X[n, :] * w) - -0.5, 1.0)\n")
    model = check(parse(text))
    assert model.variables["A"].event == ("D", "D")


def test_integer_data_ranges_over_the_indexed_plate():
    text = ("dim N, G\ndata y[N]\ndata g[N]: int\nfor j in G:\n    m[j] ~ Normal(0.0, 1.0)\n"
            "for n in N:\n    y[n] ~ Normal(m[g[n]], 1.0)\n")
    assert check(parse(text)).variables["g"].categories == "G"
