"""Pictures of a fit (the optional ``plot`` extra): the ELBO curve and, for a
Gaussian mixture over 2-D (or wider) data, the points coloured by their most
likely component with each occupied component's 2σ ellipse."""
from __future__ import annotations

import numpy as np

from .errors import VmpError


def plot_fit(fit, data: dict, path: str) -> str:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise VmpError("plots need matplotlib: pip install 'vmpdsl[plot]'") from None
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
    x = next((np.asarray(data[v.name], float) for v in checked.by_role("data")
              if v.name in data and np.ndim(data[v.name]) == 2), None)
    if z is None or mean is None or prec is None or x is None or x.shape[1] < 2:
        return None
    probs = fit.posterior[z]["probs"]
    covs = np.linalg.inv(np.asarray(fit.mean(prec)))
    weights = probs.mean(axis=0)
    return x, probs, np.asarray(fit.mean(mean)), covs, weights


def draw_mixture(axis, x, probs, means, covs, weights):
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
