"""Hand-written mean-field VMP for models/pca.vmp:
q(tau) Π_k q(alpha_k) Π_d q(W_d) Π_d q(mu_d) Π_n q(z_n).

The updates are the model's, but written the way one would by hand: q(W_d)
share one precision diag(E[alpha]) + E[tau] Σ_n E[z zᵀ], and q(z_n) share one
precision I + E[tau] Σ_d E[W Wᵀ], so one K×K Cholesky each per sweep and only
the K×K sums Σ_n E[z_n z_nᵀ], Σ_d E[W_d W_dᵀ] are kept. Per sweep: two N×D×K
GEMMs (Y E[W] for z, Yᵀ E[z] for W/tau/ELBO). Update order W, mu, z, tau, alpha
as in vmpdsl (data toward the priors, derive/schedule.py); tau and alpha start
at their priors.  No rotation step: the bench fits vmpdsl with rotate=False
against it (runtime/rotate.py's step is an L-BFGS search per sweep).
"""
import numpy as np

from ._common import (LOG2PI, gamma_entropy, gamma_logprior, gamma_moments,
                      run_loop, spd_inv_logdet)

MU_PREC = 1e-3


def fit(data, init, max_iter=500, tol=1e-8, callback=None, a=1e-3, b=1e-3):
    Y = np.asarray(data["Y"], float)
    K = int(data["K"])
    N, D = Y.shape
    yy = float(np.sum(Y * Y))
    ysum = Y.sum(0)
    EW = np.array(init["W"]["mean"], float)
    Ez = np.array(init["z"]["mean"], float)
    mu_m = np.array(init["mu"]["mean"], float)
    S = {"EW": EW, "SWW": np.sum(init["W"]["cov"], 0) + EW.T @ EW,
         "Ez": Ez, "SZZ": np.sum(init["z"]["cov"], 0) + Ez.T @ Ez, "sz": Ez.sum(0),
         "YtZ": Y.T @ Ez, "mu_m": mu_m, "Etau": a / b, "Ealpha": np.full(K, a / b)}
    eye = np.eye(K)

    def sq_error(EW, SWW, YtZ, SZZ, sz, mu_m, mu_mm):
        return (yy - 2.0 * np.sum(YtZ * EW) - 2.0 * ysum @ mu_m + np.sum(SWW * SZZ)
                + 2.0 * mu_m @ (EW @ sz) + N * mu_mm.sum())

    def sweep():
        EW, SWW, Ez, SZZ, sz, YtZ = S["EW"], S["SWW"], S["Ez"], S["SZZ"], S["sz"], S["YtZ"]
        Etau, Ealpha = S["Etau"], S["Ealpha"]
        pW = np.diag(Ealpha) + Etau * SZZ
        covW, logdet_pW = spd_inv_logdet(pW)
        EW = (Etau * (YtZ - S["mu_m"][:, None] * sz[None, :])) @ covW
        SWW = D * covW + EW.T @ EW
        mu_p = MU_PREC + N * Etau
        mu_m = Etau * (ysum - EW @ sz) / mu_p
        mu_mm = mu_m ** 2 + 1.0 / mu_p
        pz = eye + Etau * SWW
        covz, logdet_pz = spd_inv_logdet(pz)
        Ez = Y @ EW
        Ez -= mu_m @ EW
        Ez = (Etau * Ez) @ covz
        SZZ = N * covz + Ez.T @ Ez
        sz = Ez.sum(0)
        YtZ = Y.T @ Ez
        err = sq_error(EW, SWW, YtZ, SZZ, sz, mu_m, mu_mm)
        t_shape = a + 0.5 * N * D
        t_rate = b + 0.5 * err
        Etau, Elog_t = gamma_moments(t_shape, t_rate)
        a_shape = a + 0.5 * D
        a_rate = b + 0.5 * np.diag(SWW)
        Ealpha, Elog_a = gamma_moments(a_shape, a_rate)
        S.update(EW=EW, SWW=SWW, Ez=Ez, SZZ=SZZ, sz=sz, YtZ=YtZ, mu_m=mu_m, mu_mm=mu_mm,
                 covW=covW, covz=covz, mu_p=mu_p, tau=(t_shape, t_rate), alpha=(a_shape, a_rate),
                 Etau=Etau, Ealpha=Ealpha)
        elbo = (gamma_logprior(a, b, Etau, Elog_t) + np.sum(gamma_logprior(a, b, Ealpha, Elog_a))
                + D * (0.5 * Elog_a.sum() - 0.5 * K * LOG2PI) - 0.5 * Ealpha @ np.diag(SWW)
                + D * (0.5 * np.log(MU_PREC) - 0.5 * LOG2PI) - 0.5 * MU_PREC * mu_mm.sum()
                - 0.5 * N * K * LOG2PI - 0.5 * np.trace(SZZ)
                + 0.5 * N * D * (Elog_t - LOG2PI) - 0.5 * Etau * err
                + gamma_entropy(t_shape, t_rate) + np.sum(gamma_entropy(a_shape, a_rate))
                + D * 0.5 * (K * (1.0 + LOG2PI) - logdet_pW)
                + D * 0.5 * (LOG2PI + 1.0 - np.log(mu_p))
                + N * 0.5 * (K * (1.0 + LOG2PI) - logdet_pz))
        return float(elbo)

    trace = run_loop(sweep, max_iter, tol, callback)
    return {"elbo": trace, "iterations": len(trace),
            "posterior": {"tau": dict(zip(("shape", "rate"), S["tau"])),
                          "alpha": dict(zip(("shape", "rate"), S["alpha"])),
                          "W": {"mean": S["EW"], "cov": S["covW"]},
                          "mu": {"mean": S["mu_m"], "precision": np.full(D, S["mu_p"])},
                          "z": {"mean": S["Ez"], "cov": S["covz"]}}}
