"""``contract`` (the emitted runtime's einsum) against plain np.einsum on dense arrays.

Its extensions must change only the cost, never the value: a ``OneHot`` is its
one-hot matrix, a ``SharedOuter`` is m mᵀ + Σ, a contraction past the block
size equals the unblocked one, and output labels no operand carries come back
as size-1 axes.  The plan compiled once per spec and shapes (pairwise matmul
and einsum steps) must serve operands of any values and strides.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vmpdsl.runtime import einsum as executor
from vmpdsl.runtime.prelude import OneHot, SharedOuter, contract, inner_product

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


@pytest.mark.parametrize("batch,shared,spec", [
    ((N, D), (0,), "ndij->ij"),       # Σ over rows whose covariance differs along d
    ((N, D), (0, 1), "ndij,ij->"),    # one covariance for every row
    ((N, D), (), "ndii->"),           # none shared, a trace
    ((N,), (0,), "nij,jk->ik"),       # the sum read by a dense matrix
])
def test_rows_summed_whole_equal_the_dense_sum(batch, shared, spec):
    """Where a contraction sums every row of a SharedOuter and nothing else reads
    them, it reads Σ_n E[x xᵀ] = MᵀM + Σ_n Σ_n (SharedOuter.summed, kept on the
    object): equal to the dense sum, whatever the covariance is shared over."""
    rng = np.random.default_rng(2)
    outer, full = _outer(rng, batch=batch, shared_axes=shared)
    dense_rows = full.reshape(-1, K, K).sum(0)
    np.testing.assert_allclose(outer.summed(), dense_rows, rtol=1e-12)
    assert outer.summed() is outer.summed()  # formed once
    others = [rng.normal(size=(K, K))] if "," in spec else []
    expected = _einsum(spec, full, *others)
    np.testing.assert_allclose(contract(spec, outer, *others), expected, rtol=1e-12)


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
    monkeypatch.setattr(executor, "_BLOCK_ELEMENTS", 50)
    monkeypatch.setattr(executor, "_SMALL_ELEMENTS", 1)
    monkeypatch.setattr(executor, "_PLANS", {})
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(size=(40, 6)), rng.normal(size=(6, 5)), rng.normal(size=(40, 5))
    _check("nd,dk,nk->", a, b, c)
    _check("nd,dk->nk", a, b)
    _check("nd,nk->dk", a, c)
    _check("nd,nk->ndk", a[:1], c)                                # n broadcast: not cut
    _check("nd,nk->dk", np.broadcast_to(a[:1], a.shape), c)      # zero stride: cut
    _check("nn,nk->nk", rng.normal(size=(40, 40)), c)             # a diagonal: both axes cut


def test_output_labels_no_operand_carries_are_size_one():
    got = contract("ab->cab", np.ones((2, 3)))
    assert got.shape == (1, 2, 3)


@pytest.mark.parametrize("spec,shapes", [
    ("nab,nbc->nac", [(6, 4, 5), (6, 5, 3)]),               # batched
    ("nab,nbc->cna", [(6, 4, 5), (6, 5, 3)]),               # then transposed
    ("ab,bc->ca", [(4, 5), (5, 3)]),                        # the pair swapped
    ("nab,nbc->nac", [((1, 4, 5), (6, 4, 5)), (6, 5, 3)]),  # a zero-stride batch axis
    ("nab,nbc->nac", [(1, 4, 5), (6, 5, 3)]),               # a size-1 batch axis
    ("ab,bc->ac", [((4, 1), (4, 5)), (5, 3)]),              # a zero-stride contracted axis
    ("ab,bc->ac", [(4, 1), (5, 3)]),                        # a size-1 contracted axis
    ("ab,ab->", [(7, 4), ((1, 4), (7, 4))]),
    ("abc,bcd->da", [(7, 4, 5), (4, 5, 3)]),
    ("ab,bc,cd->ad", [(4, 5), (5, 6), (6, 3)]),
    ("ab,bc,c->ac", [(4, 0), (0, 3), (3,)]),                # empty
    ("ab,bc,c->abc", [(4, 0), (0, 3), (3,)]),
    ("nab,nb->na", [(6, 4, 5), (6, 5)]),                    # batched matrix-vector
])
def test_matmul_steps_equal_einsum(monkeypatch, spec, shapes):
    """Pairwise steps by matmul, also on broadcast, size-1 and empty axes; a
    (base, shape) pair is a zero-stride view."""
    monkeypatch.setattr(executor, "_SMALL_ELEMENTS", 0)
    monkeypatch.setattr(executor, "_PLANS", {})
    rng = np.random.default_rng(7)
    for _ in range(2):  # compiling the plan, then the cached plan with new values
        _check(spec, *[np.broadcast_to(rng.normal(size=s[0]), s[1]) if isinstance(s[0], tuple)
                       else rng.normal(size=s) for s in shapes])


@st.composite
def _contractions(draw):
    """A random multi-operand spec with operands: labels shared, free, summed or
    repeated (diagonals), some axes size 1 (broadcast), some zero-stride views,
    sizes 1 to 20."""
    sizes = draw(st.lists(st.sampled_from([2, 3, 5, 20, 1]), min_size=2, max_size=6))
    assume(np.prod(sizes) <= 200_000)  # the dense oracle loops over every label
    letters = "abcdef"[:len(sizes)]
    terms = draw(st.lists(st.lists(st.sampled_from(letters), unique=True, min_size=1, max_size=4),
                          min_size=2, max_size=4))
    if draw(st.booleans()):  # a diagonal
        terms[0].append(terms[0][0])
    if draw(st.booleans()):  # a scalar
        terms[-1] = []
    carried = sorted(set("".join("".join(t) for t in terms)))
    # each label kept or summed, in random order; z: carried by no operand
    out = "".join(l for l in draw(st.permutations(carried + ["z"])) if draw(st.booleans()))
    # per operand and label: 0 full, 1 a size-1 axis, 2 a zero-stride (broadcast) view
    modes = [{l: draw(st.sampled_from([0, 0, 0, 0, 0, 1, 2])) for l in t} for t in terms]
    spec = ",".join("".join(t) for t in terms) + "->" + out

    def operands(rng, layout):
        ops = []
        for t, mode in zip(terms, modes):
            full = [1 if mode[l] == 1 else sizes[letters.index(l)] for l in t]
            base = rng.normal(size=[1 if mode[l] else n for l, n in zip(t, full)])
            op = np.broadcast_to(base, full)
            ops.append(op if layout == "broadcast" else
                       np.array(op, order="F") if layout == "fortran" else op.copy())
        return ops
    return spec, operands


def _check_close(spec, got, operands):
    """|contract - einsum| within 1e-10 of the same sum over |terms| (a relative
    error that cancellation in the sum cannot make spuriously large)."""
    expected = _einsum(spec, *operands)
    bound = _einsum(spec, *[np.abs(o) for o in operands])
    assert np.shape(got) == np.shape(expected), spec
    assert np.all(np.abs(got - expected) <= 1e-10 * bound + 1e-300), spec


@settings(max_examples=300, deadline=None)
@given(_contractions(), st.integers(0, 2 ** 32 - 1),
       st.sampled_from(["defaults", "steps", "blocked"]))
def test_random_contractions_equal_einsum(case, seed, route):
    """Every route (one C-kernel call, pairwise steps, blocks) equals np.einsum;
    a plan compiled once serves operands of any values and strides."""
    spec, operands = case
    rng = np.random.default_rng(seed)
    tuning = {"steps": {"_SMALL_ELEMENTS": 0},
              "blocked": {"_SMALL_ELEMENTS": 0, "_BLOCK_ELEMENTS": 64}}.get(route, {})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(executor, "_PLANS", {})
        for name, value in tuning.items():
            patch.setattr(executor, name, value)
        first = operands(rng, "broadcast")
        _check_close(spec, contract(spec, *first), first)
        plans = dict(executor._PLANS)
        for layout in ("contiguous", "fortran"):  # the cached plan, other values and strides
            again = operands(rng, layout)
            _check_close(spec, contract(spec, *again), again)
        assert executor._PLANS == plans


def test_plan_is_compiled_once_and_reused(monkeypatch):
    monkeypatch.setattr(executor, "_PLANS", {})
    rng = np.random.default_rng(6)
    a, b, c = rng.normal(size=(30, 20)), rng.normal(size=(20, 25)), rng.normal(size=(30, 25))
    first = contract("ab,bc,ac->", a, b, c)
    (plan,) = executor._PLANS.values()
    assert contract("ab,bc,ac->", a, b, c) == first
    (again,) = executor._PLANS.values()
    assert again is plan
    np.testing.assert_allclose(first, np.einsum("ab,bc,ac->", a, b, c), rtol=1e-12)
    _check("ab,bc,ac->", a[:7], b, c[:7])  # other shapes, another plan
    assert len(executor._PLANS) == 2


def test_products_of_given_operands_are_memoized_by_identity(monkeypatch):
    """Yᵀz reached from two specs (the tau and W updates of PCA) is computed
    once while z is the same object; a new z (an update) recomputes it."""
    monkeypatch.setattr(executor, "_PLANS", {})
    monkeypatch.setattr(executor, "_MEMO", {})
    monkeypatch.setattr(executor, "_SMALL_ELEMENTS", 0)  # the step route at test sizes
    monkeypatch.setattr(executor, "_MEMO_WORK", 0)       # memoized at test sizes
    calls = []
    real = executor._by_matmul
    monkeypatch.setattr(executor, "_by_matmul", lambda *a: calls.append(a[0]) or real(*a))
    rng = np.random.default_rng(7)
    y, w, z = rng.normal(size=(40, 6)), rng.normal(size=(6, 3)), rng.normal(size=(40, 3))
    tau = np.float64(2.0)
    first = contract("ab,bc,ac->", y, w, z)
    count = len(calls)
    again = contract("nd,,ni->di", y, tau, z)           # another spec, same Yᵀz
    np.testing.assert_allclose(again, tau * y.T @ z, rtol=1e-12)
    assert len(calls) == count                           # no new matmul: Yᵀz reused
    np.testing.assert_allclose(first, np.einsum("ab,bc,ac->", y, w, z), rtol=1e-12)
    z_new = z + 1.0                                      # an update: a new object
    np.testing.assert_allclose(contract("ab,bc,ac->", y, w, z_new),
                               np.einsum("ab,bc,ac->", y, w, z_new), rtol=1e-12)
    assert len(calls) > count
    shared = next(result for _, result in executor._MEMO.values())
    with pytest.raises(ValueError):
        shared += 1.0                                    # results are read-only


def test_small_products_are_not_memoized(monkeypatch):
    """A step of at most _MEMO_WORK products is recomputed (its memo would cost
    more than it); a bigger one of the same spec is kept."""
    monkeypatch.setattr(executor, "_PLANS", {})
    monkeypatch.setattr(executor, "_MEMO", {})
    rng = np.random.default_rng(8)
    k, d = 10, 50
    small = rng.normal(size=k), rng.normal(size=(d, k)), rng.normal(size=d)
    np.testing.assert_allclose(contract("k,dk,d->", *small),
                               np.einsum("k,dk,d->", *small), rtol=1e-12)
    assert not executor._MEMO
    big = rng.normal(size=(400, 60)), rng.normal(size=(60, 30)), rng.normal(size=(400, 30))
    np.testing.assert_allclose(contract("ab,bc,ac->", *big),
                               np.einsum("ab,bc,ac->", *big), rtol=1e-12)
    assert executor._MEMO


@pytest.mark.parametrize("spec", ["nkl,nkl->", "nkl->kl", "nkl,nk->nl", "k,nkl,l->n"])
def test_shared_outer_route_is_decided_once_and_serves_new_values(monkeypatch, spec):
    """The split of a SharedOuter contraction is decided once per spec and
    shapes (prelude._OUTER_ROUTES); the route reads each call's operands, never
    the first call's."""
    from vmpdsl.runtime import prelude
    monkeypatch.setattr(prelude, "_OUTER_ROUTES", {})
    rng = np.random.default_rng(9)
    routes = []
    for _ in range(3):
        operands, dense = [], []
        for lab in spec.split("->")[0].split(","):
            if len(lab) == 3:
                outer, full = _outer(rng)
                operands.append(outer)
                dense.append(full)
            else:
                operands.append(rng.normal(size=tuple({"n": N, "k": K, "l": K}[l] for l in lab)))
                dense.append(operands[-1])
        np.testing.assert_allclose(contract(spec, *operands), np.einsum(spec, *dense),
                                   rtol=1e-10, atol=1e-12)
        routes.append(dict(prelude._OUTER_ROUTES))
    assert routes[0] and routes[0] == routes[1] == routes[2]  # the same route objects
