"""Bad data is refused before any iteration with VmpDataError, and the
message names the offending array."""
import re

import numpy as np
import pytest

from engine_cases import example, quiet_fit
from vmpdsl.errors import VmpDataError


def linreg_data(N=10, D=3):
    rng = np.random.default_rng(0)
    return {"X": rng.normal(size=(N, D)), "y": rng.normal(size=N)}


def hier_data(N=10, G=3):
    rng = np.random.default_rng(1)
    return {"y": rng.normal(size=N), "g": rng.integers(0, G, N), "G": G}


def lda_data():
    return {"doc": np.array([0, 0, 1, 1]), "word": np.array([0, 2, 1, 3]),
            "Dc": 2, "K": 2, "V": 4}


def with_(data, **changes):
    out = dict(data)
    for key, value in changes.items():
        if value is None:
            out.pop(key)
        else:
            out[key] = value
    return out


def nan_at(array, index):
    array = np.array(array, dtype=float)
    array[index] = np.nan
    return array


BASE = linreg_data()
CASES = [
    # id, model, data, the array the message must name
    ("missing-array", "linreg", with_(BASE, y=None), "y"),
    ("missing-X", "linreg", with_(BASE, X=None), "X"),
    ("too-few-axes", "linreg", with_(BASE, X=BASE["X"][:, 0]), "X"),
    ("too-many-axes", "linreg", with_(BASE, y=BASE["y"][:, None]), "y"),
    ("dims-disagree", "linreg", with_(BASE, y=np.zeros(11)), "y"),
    ("nan", "linreg", with_(BASE, X=nan_at(BASE["X"], (4, 1))), "X"),
    ("inf", "linreg", with_(BASE, y=np.where(np.arange(10) == 3, np.inf, BASE["y"])), "y"),
    ("non-numeric", "linreg", with_(BASE, y=["a"] * 10), "y"),
    ("index-too-large", "hier", with_(hier_data(), g=np.array([0, 1, 2, 3, 0, 1, 2, 0, 1, 2])), "g"),
    ("index-negative", "hier", with_(hier_data(), g=np.array([0, 1, -1, 2, 0, 1, 2, 0, 1, 2])), "g"),
    ("categorical-out-of-range", "lda", with_(lda_data(), word=np.array([0, 2, 4, 3])), "word"),
    ("fractional-int", "coin", {"x": np.array([0, 1, 0.5, 1])}, "x"),
    ("fractional-index", "hier", with_(hier_data(), g=np.arange(10) % 3 + 0.25), "g"),
    ("bernoulli-not-binary", "coin", {"x": np.array([0, 1, 2, 1])}, "x"),
    ("poisson-negative", "poisson_mix", {"c": np.array([1, 4, -2, 0]), "K": 2}, "c"),
    ("nan-int", "coin", {"x": np.array([0, 1, np.nan, 1])}, "x"),
]


@pytest.mark.parametrize("model_name,data,array", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_data_raises_naming_the_array(model_name, data, array):
    with pytest.raises(VmpDataError) as caught:
        example(model_name).fit(data, max_iter=5, seed=0)
    message = str(caught.value)
    assert re.search(rf"(?<![\w]){re.escape(array)}(?![\w])", message), \
        f"the message does not name '{array}': {message}"


def test_good_data_passes():
    # the base cases above differ from valid data only in the broken array
    quiet_fit(example("linreg"), BASE, max_iter=5, seed=0)
    quiet_fit(example("hier"), hier_data(), max_iter=5, seed=0)
    quiet_fit(example("lda"), lda_data(), max_iter=5, seed=0)
