"""``contract`` with one-hot operands of every shape, against np.einsum on their
dense one-hot arrays: one or several one-hots over any rows, whose category
axes are gathered against other operands or reach the output, with their rows
summed, kept in the output, or shared with dense operands.  (Before
runtime/scatter.py, a one-hot output that kept a row axis, or a gather sharing
several row axes, raised NotImplementedError inside fit, and integer data read
through integer data, g[doc[t]], an IndexError; a one-hot with a repeated
row label, y[n, n], a ValueError; two one-hots over one category, the
diagonal of z[doc[s]], z[doc[t]], a ValueError.)"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vmpdsl.runtime.prelude import OneHot, contract

ROWS = {"n": 4, "f": 3, "t": 2}
CATS = {"a": 3, "b": 2}
DENSE = {"d": 2}
SIZES = {**ROWS, **CATS, **DENSE}


@st.composite
def one_hot_contractions(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    hots = []
    pool = sorted(ROWS)
    for cat in draw(st.lists(st.sampled_from(sorted(CATS)), min_size=1, max_size=2)):
        candidates = [l for l in pool if l != cat]
        rows = draw(st.permutations(candidates))[:draw(st.integers(1, len(candidates)))]
        if draw(st.integers(0, 4)) == 0:
            rows = rows + rows[:1]  # y[n, n]: a diagonal of one-hot data
        hots.append(("".join(rows) + cat, OneHot(rng.integers(0, CATS[cat], [SIZES[r] for r in rows]),
                                                 CATS[cat])))
        pool = pool + [cat] * (cat not in pool)  # a later one may be indexed by it: g[doc[t]]
    used = sorted({l for lab, _ in hots for l in lab} | set(DENSE))
    dense = []
    for _ in range(draw(st.integers(0, 2))):
        labels = draw(st.permutations(used))[:draw(st.integers(0, 3))]
        dense.append(("".join(labels), rng.normal(size=[SIZES[l] for l in labels])))
    out = "".join(draw(st.permutations(used))[:draw(st.integers(0, 4))])
    return hots + dense, out


def _dense(x):
    return np.eye(x.size)[x.values] if isinstance(x, OneHot) else x


@settings(max_examples=300, deadline=None, derandomize=True)
@given(one_hot_contractions())
def test_one_hot_contraction_equals_dense_einsum(case):
    operands, out = case
    spec = ",".join(lab for lab, _ in operands) + "->" + out
    present = "".join(l for l in out if any(l in lab for lab, _ in operands))
    expected = np.einsum(",".join(lab for lab, _ in operands) + "->" + present,
                         *[_dense(op) for _, op in operands])
    expected = expected.reshape([SIZES[l] if l in present else 1 for l in out])
    got = contract(spec, *[op for _, op in operands])
    assert np.ndim(got) == len(out), spec
    np.testing.assert_allclose(np.broadcast_to(got, expected.shape), expected,
                               rtol=1e-12, atol=1e-12, err_msg=spec)


def test_weighted_counts_equal_dense_einsum():
    """One weight per row summed into its category (hier's Σ_{n: g[n]=j} y[n] and
    |{n: g[n]=j}|) is a bincount, not a rows × categories matrix: equal weights
    (a broadcast one) are the counts times it, strided weights are read as given,
    and an empty category (or no rows at all) is 0."""
    rng = np.random.default_rng(5)
    g = OneHot(rng.integers(0, 4, 50), 6)  # categories 4 and 5 are empty
    y = rng.normal(size=(50, 2))[:, 0]  # a strided view
    for spec, operands, dense in (("n,na->a", (y, g), (y, _dense(g))),
                                  ("na->a", (g,), (_dense(g),)),
                                  (",na->a", (2.5, g), (2.5, _dense(g))),
                                  ("n,na->da", (y, g), (y, _dense(g))),
                                  ("na->a", (OneHot(np.zeros(0, int), 6),), (np.zeros((0, 6)),))):
        got = contract(spec, *operands)
        expected = np.einsum(spec.replace("->da", "->a"), *dense)
        assert got.shape == ((1, 6) if spec.endswith("da") else (6,)), spec
        np.testing.assert_allclose(got.reshape(6), expected, rtol=1e-14, atol=0, err_msg=spec)
