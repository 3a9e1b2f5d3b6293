"""What a fit says about each latent: draws from q and a summary table.

Both are driven by the family records (``vmpdsl.families``): ``sample`` draws
from a q, ``marginal`` gives each element's exact mean, sd and quantiles
where the family has them (Gamma, Beta, Normal, the coordinates of an
MvNormal, a Dirichlet's Beta marginals, a Wishart's diagonal); what no
closed form gives (a Wishart's off-diagonal quantiles) comes from draws.
Points (``point``, ``param``, ``--point``) have sd 0 and their value as every
quantile.  A family added later slots in by filling those two fields.

``sample(fit, n, seed)``     {latent: array (n,) + the latent's shape}
``summary(fit, ...)``        one row per element: mean, sd, the interval's ends
``summary_text(fit)``        the CLI's table: globals in full (up to a limit),
                             per-row latents (one per observation) in one line
"""
from __future__ import annotations

import itertools

import numpy as np

from .errors import VmpError
from .families.registry import FAMILIES

SHOWN_ELEMENTS = 24  # per latent in the CLI table


# ------------------------------------------------------------------ draws
def sample(fit, n: int = 1000, seed: int | None = 0) -> dict:
    """``n`` independent draws of every latent from q (a point repeats its value).

    A Categorical draw is the category index; shapes are (n,) + the latent's."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise VmpError(f"n must be a positive whole number of draws, got {n!r}")
    rng = np.random.default_rng(seed)
    draws = {}
    for name in model_latents(fit):
        if name not in draws:  # a joint block's members are drawn together
            draws.update(joint_draws(fit, name, n, rng))
    return {name: draws[name] for name in model_latents(fit)}


def block_members(fit, name: str) -> tuple:
    """The members of the joint block holding ``name`` (derive/blocks.py); ()."""
    return next((u.members for u in fit.model._compiled.derivation.updates
                 if name in u.members), ())


def joint_draws(fit, name: str, n: int, rng) -> dict:
    """{latent: draws} for ``name`` and, for a joint block's member
    (derive/blocks.py), its partner: (mu, Lambda) drawn from q(mu, Lambda)."""
    members = block_members(fit, name)
    if not members:
        return {name: latent_draws(fit, name, n, rng)}
    draw = FAMILIES[fit.family(name)].sample
    joint = [draw(fit.posterior[members[0]], rng) for _ in range(n)]
    return {m: np.stack([np.asarray(d[key]) for d in joint])
            for m, key in zip(members, ("mean", "precision"))}


def model_latents(fit) -> list:
    """The posterior's entries that are variables of the model (not, e.g., the
    local parameters ξ of a link's bound, which the posterior also holds)."""
    return [name for name in fit.posterior if name in fit.model.checked.variables]


def latent_draws(fit, name: str, n: int, rng) -> np.ndarray:
    """``n`` draws of one latent from q, shape (n,) + its shape."""
    q = fit.posterior[name]
    if "value" in q:
        value = np.asarray(q["value"])
        return np.broadcast_to(value, (n,) + value.shape).copy()
    family = fit.family(name)
    draw = FAMILIES[family].sample if family in FAMILIES else None
    if draw is None:
        raise VmpError(f"cannot draw '{name}': its q ({family}) has no sampler")
    return np.stack([np.asarray(draw(q, rng)) for _ in range(n)])


# ---------------------------------------------------------------- summary
COLUMNS = ("mean", "sd")


def summary(fit, names=None, prob: float = 0.95, draws: int = 4000, seed: int = 0):
    """Per element of each latent: mean, sd and the central ``prob`` interval.

    A pandas DataFrame (index ``name[i, j]``) when pandas is installed, else a
    ``SummaryTable`` that prints as text.  Exact from q where the family has
    closed-form marginals; otherwise from ``draws`` draws (seeded).  A
    Categorical's elements are its one-hot indicators (mean = probability); a
    Wishart shows the upper triangle (it is symmetric)."""
    if not 0.0 < prob < 1.0:
        raise VmpError(f"prob must lie strictly between 0 and 1, got {prob!r}")
    names = model_latents(fit) if names is None else [names] if isinstance(names, str) \
        else list(names)
    ends = (0.5 - prob / 2, 0.5 + prob / 2)
    labels, rows = [], []
    for name in names:
        if name not in fit.posterior:
            raise VmpError(f"'{name}' is not a latent; latents: {', '.join(fit.posterior)}")
        stats = element_stats(fit, name, ends, draws, seed)
        for index in element_indices(fit, name, stats[0].shape):
            labels.append(element_label(name, index))
            rows.append([float(s[index]) for s in stats])
    columns = COLUMNS + tuple(f"{100 * p:.4g}%" for p in ends)
    return as_table(labels, columns, rows)


def element_stats(fit, name: str, ends: tuple, draws: int, seed: int) -> list:
    """[mean, sd, lower, upper] arrays over the elements of one latent."""
    q = fit.posterior[name]
    if "value" in q:
        value = np.asarray(q["value"], dtype=float)
        return [value, np.zeros_like(value), value, value]
    family = shown_family(fit, name)
    if family is not None and family.marginal is not None:
        marginal = family.marginal(q)
        quantiles = [np.asarray(marginal["ppf"](p), dtype=float) for p in ends]
        stats = [np.asarray(marginal["mean"], float), np.asarray(marginal["sd"], float)]
        stats = list(np.broadcast_arrays(*stats, *quantiles))
    else:  # no closed form at all: everything from draws
        stats = [np.full(np.shape(fit.mean(name)), np.nan) for _ in range(4)]
    missing = [np.isnan(s) for s in stats]
    if any(m.any() for m in missing):
        sample_ = joint_draws(fit, name, draws, np.random.default_rng(seed))[name].astype(float)
        if family is not None and family.name == "Categorical":  # indices → one-hot
            sample_ = np.eye(stats[0].shape[-1])[sample_.astype(int)]
        empirical = [sample_.mean(0), sample_.std(0, ddof=1),
                     *np.quantile(sample_, ends, axis=0)]
        stats = [np.where(m, e, s) for s, e, m in zip(stats, empirical, missing)]
    return stats


def shown_family(fit, name: str):
    """The family whose marginal and value shape describe a latent: its q's;
    for a joint block's precision (Lambda of q(mu, Lambda)) its own family
    (Wishart, Gamma), which is exactly its marginal."""
    family = FAMILIES.get(fit.family(name))
    members = block_members(fit, name)
    if family is not None and members and name != members[0]:
        return FAMILIES[family.members[1]]
    return family


def element_indices(fit, name: str, shape: tuple):
    """Every index of a latent's elements (a Wishart's upper triangle only)."""
    family = shown_family(fit, name)
    symmetric = family is not None and family.value_rank == 2 and \
        "value" not in fit.posterior[name]
    for index in itertools.product(*map(range, shape)):
        if not (symmetric and index[-1] < index[-2]):
            yield index


def element_label(name: str, index: tuple) -> str:
    """``mu[1, 0]`` (a scalar latent: its name)."""
    return f"{name}[{', '.join(map(str, index))}]" if index else name


class SummaryTable:
    """The summary without pandas: ``rows`` (label → values), printed as text."""

    def __init__(self, labels, columns, rows):
        self.index, self.columns, self.rows = list(labels), tuple(columns), rows

    def __len__(self):
        return len(self.rows)

    def to_dict(self) -> dict:
        """{label: {column: value}}."""
        return {label: dict(zip(self.columns, row)) for label, row in zip(self.index, self.rows)}

    def __str__(self):
        return format_table(self.index, self.columns, self.rows)

    __repr__ = __str__


def as_table(labels, columns, rows):
    """A pandas DataFrame when pandas is installed, else a SummaryTable."""
    try:
        import pandas as pd
    except ImportError:
        return SummaryTable(labels, columns, rows)
    return pd.DataFrame(rows, index=pd.Index(labels, name="latent"), columns=list(columns))


def fmt(value: float) -> str:
    """4 significant digits, never rounding a small number to 0."""
    return f"{value:.4g}"


def format_table(labels, columns, rows, indent: str = "  ") -> str:
    """Aligned text: labels left, numbers right (``fmt``)."""
    cells = [["", *columns]] + [[label, *map(fmt, row)] for label, row in zip(labels, rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(indent + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                        for i, (c, w) in enumerate(zip(row, widths))).rstrip()
                     for row in cells)


# ------------------------------------------------------------- CLI table
def summary_text(fit, local: tuple = ()) -> str:
    """The posterior as the CLI prints it: each global latent element by element
    (the first ``SHOWN_ELEMENTS``), each per-row latent (``local``) as one line."""
    labels, rows, notes = [], [], []
    ends = (0.025, 0.975)
    for name in model_latents(fit):
        if name in local:
            notes.append(per_row_line(fit, name))
            continue
        try:
            stats = element_stats(fit, name, ends, 4000, 0)
        except VmpError as err:  # a q without marginals or sampler: say so, go on
            notes.append(f"{name}: no summary ({err.message})")
            continue
        indices = list(element_indices(fit, name, stats[0].shape))
        for index in indices[:SHOWN_ELEMENTS]:
            labels.append(element_label(name, index))
            rows.append([float(s[index]) for s in stats])
        if len(indices) > SHOWN_ELEMENTS:
            notes.append(f"{name}: {len(indices) - SHOWN_ELEMENTS} more elements "
                         f"(Fit.summary() lists all)")
    head = f"posterior ({len(labels)} elements; 95% central intervals)"
    table = format_table(labels, COLUMNS + ("2.5%", "97.5%"), rows) if rows else ""
    return "\n".join([head, table] + ["  " + n for n in notes]).rstrip()


def per_row_line(fit, name: str) -> str:
    """One line for a latent with one element per observation row."""
    mean = np.asarray(fit.mean(name), dtype=float)
    rows = mean.shape[0] if mean.ndim else 0
    if fit.family(name) == "Categorical" and "value" not in fit.posterior[name]:
        counts = mean.reshape(-1, mean.shape[-1]).sum(0)
        top = np.bincount(mean.reshape(-1, mean.shape[-1]).argmax(-1),
                          minlength=mean.shape[-1])
        return (f"{name}: per-row Categorical over {rows} rows; expected rows per category "
                f"[{', '.join(map(fmt, counts))}]; most probable "
                f"category counts {top.tolist()}")
    return (f"{name}: per-row {fit.family(name)} over {rows} rows; posterior means range "
            f"{fmt(mean.min())} .. {fmt(mean.max())} (Fit.summary('{name}') lists them)")
