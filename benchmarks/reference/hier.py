"""Hand-written mean-field VMP for models/hier.vmp: q(mu) q(tau) q(sigma) Π_j q(theta_j).

Per-group counts, sums (np.bincount) and Σ y² are formed once; a sweep is O(G).
Update order theta, sigma, mu, tau as in vmpdsl (data toward the priors,
derive/schedule.py), from the given init of mu, tau and sigma.
"""
import numpy as np

from ._common import LOG2PI, gamma_entropy, gamma_logprior, gamma_moments, run_loop

MU_PREC = 1e-4


def fit(data, init, max_iter=500, tol=1e-8, callback=None):
    y = np.asarray(data["y"], float)
    g = np.asarray(data["g"], np.intp)
    G = int(data["G"]) if "G" in data else int(g.max()) + 1
    N = y.size
    n_g = np.bincount(g, minlength=G).astype(float)
    s_g = np.bincount(g, weights=y, minlength=G)
    yy = float(y @ y)
    th_m = np.array(init["theta"]["mean"], float)
    th_p = np.array(init["theta"]["precision"], float)
    S = {"tm": th_m, "tmm": th_m ** 2 + 1.0 / th_p,
         "tau": (np.asarray(init["tau"]["shape"], float), np.asarray(init["tau"]["rate"], float)),
         "sigma": (np.asarray(init["sigma"]["shape"], float),
                   np.asarray(init["sigma"]["rate"], float)),
         "mu": (np.asarray(init["mu"]["mean"], float), np.asarray(init["mu"]["precision"], float))}

    def sweep():
        Etau, _ = gamma_moments(*S["tau"])
        Esig, _ = gamma_moments(*S["sigma"])
        mu_m = S["mu"][0]
        th_p = Etau + Esig * n_g
        tm = (Etau * mu_m + Esig * s_g) / th_p
        tmm = tm ** 2 + 1.0 / th_p
        s_shape = 1.0 + 0.5 * N
        s_rate = 1.0 + 0.5 * (yy - 2.0 * s_g @ tm + n_g @ tmm)
        Esig, Elog_s = gamma_moments(s_shape, s_rate)
        st, stt = tm.sum(), tmm.sum()
        mu_p = MU_PREC + G * Etau
        mu_m = Etau * st / mu_p
        Emumu = mu_m ** 2 + 1.0 / mu_p
        t_shape, t_rate = 1.0 + 0.5 * G, 1.0 + 0.5 * (stt - 2.0 * mu_m * st + G * Emumu)
        Etau, Elog_t = gamma_moments(t_shape, t_rate)
        S.update(tm=tm, tmm=tmm, tp=th_p, tau=(t_shape, t_rate), sigma=(s_shape, s_rate), mu=(mu_m, mu_p))
        st, stt = tm.sum(), tmm.sum()
        elbo = (0.5 * np.log(MU_PREC) - 0.5 * LOG2PI - 0.5 * MU_PREC * Emumu
                + gamma_logprior(1.0, 1.0, Etau, Elog_t) + gamma_logprior(1.0, 1.0, Esig, Elog_s)
                + 0.5 * G * Elog_t - 0.5 * G * LOG2PI
                - 0.5 * Etau * (stt - 2.0 * mu_m * st + G * Emumu)
                + 0.5 * N * Elog_s - 0.5 * N * LOG2PI
                - 0.5 * Esig * (yy - 2.0 * s_g @ tm + n_g @ tmm)
                + 0.5 * (LOG2PI + 1.0 - np.log(mu_p))
                + gamma_entropy(t_shape, t_rate) + gamma_entropy(s_shape, s_rate)
                + np.sum(0.5 * (LOG2PI + 1.0 - np.log(th_p))))
        return float(elbo)

    trace = run_loop(sweep, max_iter, tol, callback)
    return {"elbo": trace, "iterations": len(trace),
            "posterior": {"mu": dict(zip(("mean", "precision"), S["mu"])),
                          "tau": dict(zip(("shape", "rate"), S["tau"])),
                          "sigma": dict(zip(("shape", "rate"), S["sigma"])),
                          "theta": {"mean": S["tm"], "precision": S["tp"]}}}
