"""The einsum executor every emitted module carries (copied verbatim after
prelude.py; numpy only).

``_einsum`` runs a contraction by a plan compiled once per spec and operand
shapes: numpy's greedy order, each pairwise step by matmul (BLAS) when it
contracts a label and by einsum's C kernel otherwise, blocked when an
intermediate would be too big.  Products of operands as given are memoized by
identity (``_MEMO``), so a product several updates need is computed once per
change of the latent it holds.
"""
import numpy as np

_PLANS = {}  # (labels, out, *shapes) -> plan (see _plan)
# Step results whose inputs are operands as given (data, E[...] arrays), by
# step: (inputs, result).  E[v] is replaced, never changed, when v is updated,
# so the same input objects mean the same result: a product such as Yᵀ E[z]
# that several updates and the ELBO need is computed once per change of z.
# ``fit`` clears it; results are read-only so no caller can alter a shared one.
_MEMO = {}

# Largest intermediate array (elements) a contraction may build; beyond it the
# contraction runs in blocks along its largest axis (~32 MB per block).
_BLOCK_ELEMENTS = 1 << 22
# Up to this many elements per operand, a one- or two-operand contraction is
# cheapest as one call of einsum's C kernel, unless it loops over more than
# _SMALL_WORK products beyond its largest operand: Σ_n z_nk z_nl over 100×10
# rows takes the kernel 7 µs, one GEMM 5 µs (50×50 matrices: 39 against 9).
_SMALL_ELEMENTS = 1 << 16
_SMALL_WORK = 1 << 12
# A pairwise step of at most this many products is computed each time, not
# memoized: its memo's key and lookup cost more than the product (PCA's
# Σ_k sz_k Σ_d W_dk mu_d).
_MEMO_WORK = 1 << 12


def _einsum(labels, operands, out):
    """np.einsum by a plan compiled once per spec and operand shapes: with a
    path, np.einsum re-parses it on every call (~50 µs), which costs more than
    the small contractions of a model's iteration."""
    if not operands:
        return np.ones((1,) * len(out))
    return _einsum_plan(labels, [getattr(o, "shape", ()) for o in operands], out)(operands)


def _einsum_plan(labels, shapes, out):
    """The plan of a contraction of operands of these shapes (() for Python
    numbers), compiled on its first use."""
    key = (",".join(labels), out, *shapes)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(labels, shapes, out)
    return plan


def _plan(labels, shapes, out, block=True):
    """A function of the operands: pairwise steps in numpy's greedy order, by
    matmul when they contract a label and by einsum's C kernel otherwise (as
    np.einsum's own path does, so results round as they did with it), blocked
    when an intermediate is too big."""
    scalars = [p for p, lab in enumerate(labels) if not lab]
    if scalars and len(scalars) < len(labels):
        return _scaled(labels, shapes, out, block, scalars)
    sizes = {}
    for lab, shape in zip(labels, shapes):
        for l, n in zip(lab, shape):
            if sizes.get(l, 1) == 1:  # a size-1 axis broadcasts against any other
                sizes[l] = n
    present = "".join(l for l in out if l in sizes)
    shape = None if present == out else tuple(sizes.get(l, 1) for l in out)
    largest = max(np.prod(s) for s in shapes)
    if (len(labels) <= 2 and largest <= _SMALL_ELEMENTS
            and _count(sizes, sizes) <= max(largest, _SMALL_WORK)):
        spec = ",".join(labels) + "->" + present
        if shape is None:
            return lambda operands: np.einsum(spec, *operands)
        return lambda operands: np.einsum(spec, *operands).reshape(shape)
    prep, terms = _prepare(labels, shapes, sizes, present)
    steps, result, largest, works = _steps(terms, present, sizes)
    if block and largest > _BLOCK_ELEMENTS:
        return _blocked(labels, shapes, present, sizes, largest, shape)
    order = None if result == present else tuple(result.index(l) for l in present)

    # Memoized: the steps of operands as given (not intermediates), of more
    # than _MEMO_WORK products, outside blocks (they see fresh slices every call: memoizing
    # them would only hold memory).
    given, memoized = [True] * len(labels), []
    for (at, step, arg), work in zip(steps, works):
        memoized.append(block and work > _MEMO_WORK and all(given[i] for i in at))
        given = [g for i, g in enumerate(given) if i not in at] + [False]
    steps = [(at, sorted(at, reverse=True), step, arg, (step, _canonical(arg)) if memo else None)
             for (at, step, arg), memo in zip(steps, memoized)]

    def run(operands):
        operands = list(operands)
        given = list(operands)  # None marks an intermediate (not memoized)
        for p, spec in prep:
            if block:  # a row sum Σ_n E[z] is shared like a product
                operands[p] = given[p] = _memoized((np.einsum, _canonical(spec)), [given[p]],
                                                   np.einsum, spec, [operands[p]])
            else:
                operands[p], given[p] = np.einsum(spec, operands[p]), None
        for at, drop, step, arg, memo in steps:
            taken = [operands[i] for i in at]
            inputs = [given[i] for i in at]
            for i in drop:
                del operands[i], given[i]
            operands.append(step(arg, *taken) if memo is None else
                            _memoized(memo, inputs, step, arg, taken))
            given.append(None)  # as in np.einsum: the result goes last
        return _finish(operands[0], order, shape)
    return run


def _scaled(labels, shapes, out, block, scalars):
    """The plan of a contraction with scalar operands (no labels): the others'
    contraction times the scalars, so a scalar such as E[tau] joins no
    pairwise step and the product of the others is memoized without it."""
    rest = [p for p in range(len(labels)) if p not in scalars]
    inner = _plan([labels[p] for p in rest], [shapes[p] for p in rest], out, block)

    def run(operands):
        result = inner([operands[p] for p in rest])
        for p in scalars:
            result = result * operands[p]
        return result
    return run


def _memoized(memo, inputs, step, arg, taken):
    key = memo + tuple(np.shape(t) for t in taken)
    hit = _MEMO.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], inputs)):
        return hit[1]
    result = step(arg, *taken)
    # kept up to the size a contraction may build anyway (GMM's N×D×K product
    # x_nd r_nk is shared by the updates of mu and Lambda: −25% per sweep)
    if isinstance(result, np.ndarray) and result.size <= _BLOCK_ELEMENTS:
        result.flags.writeable = False
        _MEMO[key] = (inputs, result)
    return result


def _canonical(arg):
    """A step's spec with labels renamed by first appearance (a matmul recipe
    has no labels): the same product reached from different specs is one entry."""
    if not isinstance(arg, str):
        return tuple(tuple(x) if isinstance(x, list) else x for x in arg[:-1])
    names = {}
    return "".join(names.setdefault(c, chr(97 + len(names))) if c.isalpha() else c for c in arg)


def _prepare(labels, shapes, sizes, present):
    """Single-operand einsums, (position, spec), dropping from each operand what
    neither another operand nor the output needs: size-1 axes broadcast against
    a longer axis (the operand is constant along them), repeated labels
    (diagonals) and labels only it carries (summed out first); and the labels
    each operand is left with."""
    carried = ["".join(dict.fromkeys(l for l, n in zip(lab, s) if n == sizes[l]))
               for lab, s in zip(labels, shapes)]
    prep, terms = [], []
    for p, lab in enumerate(labels):
        others = present + "".join(carried[:p] + carried[p + 1:])
        terms.append("".join(l for l in carried[p] if l in others))
        if terms[-1] != lab:
            prep.append((p, lab + "->" + terms[-1]))
    return prep, terms


def _steps(terms, present, sizes):
    """The steps (argument positions, function, spec or matmul recipe) of numpy's
    greedy path over ``terms``; the labels of the result; the largest
    intermediate; the products each step computes."""
    path = [tuple(range(len(terms)))] if len(terms) == 2 else []
    if len(terms) > 2:
        dummies = [np.broadcast_to(0.0, [sizes[l] for l in t]) for t in terms]
        path = np.einsum_path(",".join(terms) + "->" + present, *dummies,
                              optimize=("greedy", 1 << 62))[0][1:]
    terms, steps, largest, works = list(terms), [], 0, []
    for at in path:
        at = tuple(sorted(at))
        taken = [terms[i] for i in at]
        works.append(_count(set("".join(taken)), sizes))
        for i in reversed(at):
            del terms[i]
        needed = set(present).union(*terms)
        recipe = _matmul_recipe(*taken, needed, sizes) if len(taken) == 2 else None
        if recipe is not None and not terms and recipe[-1] != present:
            swapped = _matmul_recipe(*taken[::-1], needed, sizes)
            if swapped[-1] == present:  # the result straight in output order
                recipe, at = swapped, at[::-1]
        if recipe is not None:
            kept = recipe[-1]
            steps.append((at, _by_matmul, recipe))
        else:
            kept = "".join(dict.fromkeys(l for t in taken for l in t if l in needed))
            kept = kept if terms else present
            steps.append((at, np.einsum, ",".join(taken) + "->" + kept))
        # einsum's kernel on three or more operands loops over all their labels
        largest = max(largest, _count(kept if len(taken) <= 2 else set("".join(taken)), sizes))
        terms.append(kept)
    return steps, terms[0], largest, works


def _count(labels, sizes):
    return int(np.prod([sizes[l] for l in labels]))


def _matmul_recipe(a, b, needed, sizes):
    """How to compute the pair ``a``, ``b`` (no repeated labels) by one matmul:
    ``a`` transposed to (batch, its free, contracted) labels, ``b`` to (batch,
    contracted, its free), each reshaped to 3-D (2-D without batch labels);
    None when nothing is contracted.  The last entry is the result's labels."""
    batch = [l for l in a if l in b and l in needed]
    summed = [l for l in a if l in b and l not in needed]
    free_a = [l for l in a if l not in b]
    free_b = [l for l in b if l not in a]
    nb, nc, na, nf = (_count(g, sizes) for g in (batch, summed, free_a, free_b))
    if not summed:
        return None
    lead = (nb,) if batch else ()
    order_a, order_b = batch + free_a + summed, batch + summed + free_b
    result = batch + free_a + free_b
    return (_moved(a, order_a), _shaped(order_a, lead + (na, nc), sizes),
            _moved(b, order_b), _shaped(order_b, lead + (nc, nf), sizes),
            _shaped(result, lead + (na, nf), sizes, to_labels=True), "".join(result))


def _moved(labels, order):
    """The transpose taking ``labels`` to ``order``; None when there is none to do."""
    perm = [labels.index(l) for l in order]
    return None if perm == sorted(perm) else perm


def _shaped(labels, shape, sizes, to_labels=False):
    """``shape`` when an array along ``labels`` must be reshaped to it (with
    ``to_labels``, the shape along ``labels`` when one of ``shape`` must be),
    else None."""
    along = tuple(sizes[l] for l in labels)
    return None if along == shape else along if to_labels else shape


def _by_matmul(recipe, a, b):
    """One matmul, its operands transposed and reshaped (and its result
    reshaped) only where the recipe says so: a small product costs less than
    the calls that would reshape its arrays to the shapes they have."""
    perm_a, shape_a, perm_b, shape_b, shape, _ = recipe
    if perm_a is not None:
        a = a.transpose(perm_a)
    if shape_a is not None:
        a = a.reshape(shape_a)
    if perm_b is not None:
        b = b.transpose(perm_b)
    if shape_b is not None:
        b = b.reshape(shape_b)
    result = np.matmul(a, b)
    return result if shape is None else result.reshape(shape)


def _finish(result, order, shape):
    """The result in output order, with size-1 axes for output labels no operand carries."""
    if order is not None:
        result = result.transpose(order)
    return result if shape is None else result.reshape(shape)


def _blocked(labels, shapes, present, sizes, largest, shape):
    """The contraction in blocks along its largest axis, each by its own plan:
    concatenated when the output keeps the axis, summed when it is contracted."""
    axis = max(sizes, key=sizes.get)
    count = min(sizes[axis], -(-largest // _BLOCK_ELEMENTS))
    bounds = np.linspace(0, sizes[axis], count + 1).astype(int)
    plans, blocks = {}, []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        # a size-1 axis of that label is broadcast, so it is not cut
        cuts = [tuple(slice(start, stop) if l == axis and n > 1 else slice(None)
                      for l, n in zip(lab, s)) for lab, s in zip(labels, shapes)]
        if stop - start not in plans:
            part = [tuple(stop - start if l == axis and n > 1 else n for l, n in zip(lab, s))
                    for lab, s in zip(labels, shapes)]
            plans[stop - start] = _plan(labels, part, present, block=False)
        blocks.append((cuts, plans[stop - start]))
    at = present.index(axis) if axis in present else None

    def run(operands):
        parts = [plan([op[cut] if cut else op for op, cut in zip(operands, cuts)])
                 for cuts, plan in blocks]
        result = sum(parts[1:], parts[0]) if at is None else np.concatenate(parts, axis=at)
        return _finish(result, None, shape)
    return run
