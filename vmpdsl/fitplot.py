"""Pictures of a fit (the optional ``plot`` extra).

``plot_fit``        the ELBO curve and, for a Gaussian mixture over 2-D (or
                    wider) data, the points coloured by their most likely
                    component with each occupied component's 2σ ellipse; data
                    of more than two columns are shown on their first two
                    principal axes (means and covariances projected alike),
                    and the axes say which.
``plot_posterior``  the posterior density of each global latent (up to
                    ``ELEMENTS`` elements each), from draws of q; points as
                    vertical lines.
"""
from __future__ import annotations

import numpy as np

from .errors import VmpError


ELEMENTS = 6


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or a VmpError naming the extra."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise VmpError("plots need matplotlib: pip install 'vmpdsl[plot]'") from None
    return plt


def plot_fit(fit, data: dict, path: str) -> str:
    """The ELBO curve (and a Gaussian mixture's clusters) in one picture at ``path``."""
    plt = pyplot()
    mixture = gaussian_mixture(fit, data)
    fig, axes = plt.subplots(1, 2 if mixture else 1, figsize=(11 if mixture else 5.5, 4.5),
                             squeeze=False)
    elbo_axis = axes[0][0]
    elbo_axis.plot(np.arange(1, len(fit.elbo) + 1), fit.elbo, marker=".")
    elbo_axis.set_xlabel("iteration")
    elbo_axis.set_ylabel("ELBO")
    elbo_axis.set_title(f"{fit.model.name}: ELBO per sweep")
    if mixture:
        draw_mixture(axes[0][1], *mixture)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def gaussian_mixture(fit, data: dict):
    """(x, responsibilities, means, covariances, weights) when the model is a
    mixture of MvNormals with a Wishart (or point) precision per component."""
    checked = fit.model.checked
    # the declared family (a joint block's members are MvNormal and Wishart); a param's q
    families = {name: checked.variables[name].family or fit.family(name)
                for name in fit.posterior}
    z = next((n for n, f in families.items() if f == "Categorical"), None)
    mean = next((n for n, f in families.items() if f == "MvNormal"
                 and checked.variables[n].plates), None)
    prec = next((n for n, f in families.items() if f == "Wishart"
                 and checked.variables[n].plates), None)
    name = next((v.name for v in checked.by_role("data")
                 if v.name in data and np.ndim(data[v.name]) == 2), None)
    if z is None or mean is None or prec is None or name is None \
            or np.shape(data[name])[1] < 2:
        return None
    probs = fit.posterior[z]["probs"]
    covs = np.linalg.inv(np.asarray(fit.mean(prec)))
    weights = probs.mean(axis=0)
    x, means, covs, labels = on_two_axes(np.asarray(data[name], float),
                                         np.asarray(fit.mean(mean)), covs, name)
    return x, probs, means, covs, weights, labels


def on_two_axes(x, means, covs, name):
    """Data, means and covariances on two axes with their labels: the first
    two columns, or the first two principal axes of x when it has more."""
    if x.shape[1] == 2:
        return x, means, covs, (f"{name}[:, 0]", f"{name}[:, 1]")
    centre = x.mean(0)
    _, singular, vt = np.linalg.svd(x - centre, full_matrices=False)
    share = singular ** 2 / np.sum(singular ** 2)
    basis = vt[:2].T
    labels = tuple(f"principal axis {i + 1} of {name} ({100 * share[i]:.0f}% of variance)"
                   for i in range(2))
    return ((x - centre) @ basis, (means - centre) @ basis,
            np.swapaxes(basis, 0, 1) @ covs @ basis, labels)


def draw_mixture(axis, x, probs, means, covs, weights, names):
    """Points coloured by component, 2σ ellipses with weights, labelled axes."""
    labels = probs.argmax(axis=1)
    axis.scatter(x[:, 0], x[:, 1], c=labels, s=10, cmap="tab10", vmin=0, vmax=9)
    angles = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(angles), np.sin(angles)])
    for k in np.flatnonzero(weights > 0.01):
        values, vectors = np.linalg.eigh(covs[k][:2, :2])
        ellipse = vectors @ (2 * np.sqrt(np.maximum(values, 0))[:, None] * circle)
        axis.plot(means[k, 0] + ellipse[0], means[k, 1] + ellipse[1], color="black", lw=1.2)
        axis.annotate(f"{weights[k]:.2f}", means[k, :2], ha="center", fontsize=9)
    axis.set_title(f"{int(np.sum(weights > 0.01))} occupied components (2σ ellipses)")
    axis.set_xlabel(names[0])
    axis.set_ylabel(names[1])


def plot_posterior(fit, path: str, names=None, draws: int = 4000, seed: int = 0) -> str:
    """Density of each global latent's first ``ELEMENTS`` elements, from draws of q."""
    from .posterior import element_indices, element_label, joint_draws
    from .predict import local_names
    plt = pyplot()
    local = set(local_names(fit.model.checked))
    names = [n for n in fit.posterior if n not in local] if names is None else list(names)
    if not names:
        raise VmpError("no global latent to plot")
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(names), 1, figsize=(6, 2.4 * len(names)), squeeze=False)
    for axis, name in zip(axes[:, 0], names):
        # a joint block's member is drawn with its partner, then read alone
        values = np.asarray(joint_draws(fit, name, draws, rng)[name], dtype=float)
        for index in list(element_indices(fit, name, values.shape[1:]))[:ELEMENTS]:
            column = values[(slice(None),) + index]
            label = element_label(name, index)
            if np.ptp(column) == 0:  # a point estimate
                axis.axvline(column[0], label=label, color="black")
            else:
                axis.hist(column, bins=60, density=True, histtype="step", label=label)
        axis.set_xlabel(name)
        axis.set_ylabel("density")
        axis.legend(fontsize=7)
    fig.suptitle(f"{fit.model.name}: posterior (q), {draws} draws")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
