"""``contract`` (the emitted runtime's einsum) against plain np.einsum on dense arrays.

Its extensions must change only the cost, never the value: a ``OneHot`` is its
one-hot matrix, a ``SharedOuter`` is m mᵀ + Σ, a contraction past the block
size equals the unblocked one, and output labels no operand carries come back
as size-1 axes.
"""
import numpy as np
import pytest

from vmpdsl.emit import prelude
from vmpdsl.emit.prelude import OneHot, SharedOuter, contract, inner_product

N, K, D = 7, 3, 4


def _outer(rng, batch=(N,), shared_axes=(0,)):
    mean = rng.normal(size=batch + (K,))
    a = rng.normal(size=(K, K))
    cov_shape = tuple(1 if i in shared_axes else n for i, n in enumerate(batch)) + (K, K)
    cov = np.broadcast_to(a @ a.T + K * np.eye(K), cov_shape).copy()
    cov += 0.1 * rng.normal(size=cov_shape)  # distinct where not shared
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    return SharedOuter(mean, cov), mean[..., :, None] * mean[..., None, :] + cov


def _dense(x):
    if isinstance(x, OneHot):
        return np.eye(x.size)[x.values]
    return np.asarray(x)


def _einsum(spec, *arrays):
    """np.einsum, with output labels no input carries as size-1 axes (contract's rule)."""
    inputs, out = spec.split("->")
    present = "".join(l for l in out if l in inputs)
    result = np.einsum(f"{inputs}->{present}", *arrays)
    return result.reshape([result.shape[present.index(l)] if l in present else 1 for l in out])


def _check(spec, *operands):
    expected = _einsum(spec, *[_dense(o) for o in operands])
    got = contract(spec, *operands)
    out = spec.split("->")[1]
    assert np.ndim(got) == len(out)
    np.testing.assert_allclose(np.broadcast_to(got, np.shape(expected)), expected,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec,shapes", [
    ("nij->", None),                 # Σ_n E[x xᵀ]: the shared axis becomes a factor N
    ("nij->ij", None),               # Σ_n E[x_n x_nᵀ] = N Σ + Mᵀ M
    ("nii->n", None),                # per-row trace: the dropped axis survives in the output
    ("nij,dij->d", (D, K, K)),       # with a dense operand that does not carry n
    ("nij,n->ij", (N,)),             # the shared axis summed against a weight
    ("nij,nij->", (N, K, K)),
    (",nij->dij", ()),               # an output label no operand carries (size 1)
])
def test_shared_outer_equals_its_dense_array(spec, shapes):
    rng = np.random.default_rng(0)
    outer, full = _outer(rng)
    operands = [outer]
    if shapes is not None:
        other = rng.normal(size=shapes)
        operands = [other, outer] if spec.startswith(",") else [outer, other]
    expected = _einsum(spec, *[full if o is outer else o for o in operands])
    got = contract(spec, *operands)
    np.testing.assert_allclose(np.broadcast_to(got, expected.shape), expected, rtol=1e-12)


def test_two_shared_outers_expand_into_four_terms():
    rng = np.random.default_rng(1)
    w, w_full = _outer(rng, batch=(D,))
    z, z_full = _outer(rng, batch=(N,))
    expected = np.einsum("dij,nij->", w_full, z_full)
    np.testing.assert_allclose(contract("dij,nij->", w, z), expected, rtol=1e-12)


def test_partly_shared_covariance_and_one_hot_gather():
    rng = np.random.default_rng(2)
    # batch (G, N): the covariance differs by g, is shared along n
    outer, full = _outer(rng, batch=(3, N), shared_axes=(1,))
    hot = OneHot(rng.integers(0, 3, size=N), 3)
    expected = np.einsum("ng,gnij->ij", _dense(hot), full)
    np.testing.assert_allclose(contract("ng,gnij->ij", hot, outer), expected, rtol=1e-12)


def test_inner_product_and_dense_array():
    rng = np.random.default_rng(3)
    outer, full = _outer(rng)
    np.testing.assert_allclose(np.asarray(outer), full, rtol=1e-14)
    coeff = np.broadcast_to(rng.normal(size=(1, K, K)), (N, K, K))
    np.testing.assert_allclose(inner_product(coeff, outer), np.sum(coeff * full), rtol=1e-12)
    varying = rng.normal(size=(N, K, K))
    np.testing.assert_allclose(inner_product(varying, outer), np.sum(varying * full), rtol=1e-12)
    np.testing.assert_allclose(contract("nij->nij", outer), full, rtol=1e-14)


@pytest.mark.parametrize("spec,shapes,hot", [
    ("nk,kd->nd", [(N, K), (K, D)], 0),      # gather
    ("nk,nd->kd", [(N, K), (N, D)], 0),      # scatter
    ("nk,n->", [(N, K), (N,)], 0),           # one-hot rows sum to one
    ("ab,bc,c->a", [(N, D), (D, K), (K,)], None),
    ("ab,ab->", [(N, D), (N, D)], None),
])
def test_one_hot_and_plain_contractions(spec, shapes, hot):
    rng = np.random.default_rng(4)
    operands = [rng.normal(size=s) for s in shapes]
    if hot is not None:
        operands[hot] = OneHot(rng.integers(0, shapes[hot][1], size=shapes[hot][0]),
                               shapes[hot][1])
    _check(spec, *operands)


def test_blocked_contraction_equals_unblocked(monkeypatch):
    monkeypatch.setattr(prelude, "_BLOCK_ELEMENTS", 50)
    monkeypatch.setattr(prelude, "_SMALL_ELEMENTS", 1)
    monkeypatch.setattr(prelude, "_EINSUM_PATHS", {})
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(size=(40, 6)), rng.normal(size=(6, 5)), rng.normal(size=(40, 5))
    _check("nd,dk,nk->", a, b, c)
    _check("nd,dk->nk", a, b)
    _check("nd,nk->dk", a, c)


def test_output_labels_no_operand_carries_are_size_one():
    got = contract("ab->cab", np.ones((2, 3)))
    assert got.shape == (1, 2, 3)
