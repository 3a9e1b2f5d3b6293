"""Third-party references: scikit-learn and BayesPy. Each runner returns
(trace, stamps) like the vmpdsl and hand-written runners: one entry per
iteration, stamps from ``clock()``. A missing package raises Skip."""
import os
import time
import warnings

import numpy as np


# The bench's clock: the process's CPU time by default.  BLAS runs one thread
# (run.py), so on an idle machine it equals the wall time; on a shared one it
# leaves out the time other processes hold the core, which made wall-clock
# ratios swing by 2× between runs.  BENCH_CLOCK=wall for time.perf_counter.
clock = time.perf_counter if os.environ.get("BENCH_CLOCK") == "wall" else time.process_time


class Skip(Exception):
    """The third-party package is not installed or does not run here."""


def _sklearn():
    try:
        import sklearn  # noqa: F401
    except Exception as err:  # pragma: no cover - depends on the environment
        raise Skip(f"scikit-learn not installed ({type(err).__name__})")


def sklearn_gmm(x, K, resp, max_iter, tol_abs, alpha0=1.0, beta0=1.0):
    """BayesianGaussianMixture (Bishop's joint Normal–Wishart q(mu, Λ)), started
    from the same responsibilities; one iteration = E step + M step + bound."""
    _sklearn()
    from sklearn.mixture import BayesianGaussianMixture

    trace, stamps = [], []

    class Timed(BayesianGaussianMixture):
        def _initialize_parameters(self, X, random_state, xp=None):
            self._initialize(X, resp.copy())

        def _compute_lower_bound(self, log_resp, log_prob_norm):
            value = super()._compute_lower_bound(log_resp, log_prob_norm)
            trace.append(float(value))
            stamps.append(clock())
            return value

    D = x.shape[1]
    model = Timed(n_components=K, covariance_type="full", tol=tol_abs, reg_covar=0.0,
                  max_iter=max_iter, n_init=1, init_params="random",
                  weight_concentration_prior_type="dirichlet_distribution",
                  weight_concentration_prior=alpha0, mean_precision_prior=beta0,
                  mean_prior=np.zeros(D), degrees_of_freedom_prior=float(D),
                  covariance_prior=np.eye(D), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x)
    return np.asarray(trace), np.asarray(stamps)


def lda_counts(doc, word, Dc, V):
    from scipy import sparse
    return sparse.csr_matrix((np.ones(doc.size), (doc, word)), shape=(Dc, V))


def sklearn_lda(counts, K, max_iter, perp_tol, alpha=0.1, eta=0.01, evaluate=False):
    """LatentDirichletAllocation, batch learning. Its E step iterates each
    document's q(theta_d) to convergence (max_doc_update_iter=100,
    mean_change_tol=1e-3) inside every iteration, and starts from its own
    random topics: not the same updates or start as the model's token-level VMP."""
    _sklearn()
    from sklearn.decomposition import LatentDirichletAllocation

    trace, stamps = [], []

    class Timed(LatentDirichletAllocation):
        def _em_step(self, *args, **kwargs):
            out = super()._em_step(*args, **kwargs)
            stamps.append(clock())
            trace.append(np.nan)
            return out

    model = Timed(n_components=K, doc_topic_prior=alpha, topic_word_prior=eta,
                  learning_method="batch", max_iter=max_iter, n_jobs=1, random_state=0,
                  evaluate_every=1 if evaluate else -1, perp_tol=perp_tol)
    model.fit(counts)
    return np.asarray(trace), np.asarray(stamps), model


def _bayespy():
    try:
        import bayespy  # noqa: F401
    except Exception as err:  # pragma: no cover
        raise Skip(f"BayesPy not installed ({type(err).__name__})")


def _bayespy_run(Q, nodes, max_iter, tol):
    trace, stamps = [], []
    for _ in range(max_iter):
        Q.update(*nodes, repeat=1, verbose=False)
        stamps.append(clock())
        trace.append(float(Q.compute_lowerbound()))
        if len(trace) > 1 and abs(trace[-1] - trace[-2]) <= tol * abs(trace[-1]):
            break
    return np.asarray(trace), np.asarray(stamps)


def bayespy_gmm(x, K, resp, max_iter, tol, alpha0=1.0, beta0=1.0):
    """BayesPy GMM with q(mu) q(Λ) separate like vmpdsl, but mu's prior is
    N(0, (β0 ν0 I)⁻¹) independent of Λ (BayesPy's Gaussian node takes a fixed
    or Wishart precision, not β0·Λ)."""
    _bayespy()
    from bayespy.inference import VB
    from bayespy.nodes import Categorical, Dirichlet, Gaussian, Mixture, Wishart
    N, D = x.shape
    pi = Dirichlet(alpha0 * np.ones(K))
    z = Categorical(pi, plates=(N,))
    mu = Gaussian(np.zeros(D), beta0 * D * np.eye(D), plates=(K,))
    Lam = Wishart(float(D), np.eye(D), plates=(K,))
    y = Mixture(z, Gaussian, mu, Lam)
    y.observe(x)
    z.initialize_from_parameters(resp)
    Q = VB(y, mu, Lam, z, pi)
    return _bayespy_run(Q, (pi, Lam, mu, z), max_iter, tol)


def bayespy_linreg(X, y, max_iter, tol, a0=1e-2, b0=1e-4, e0=1e-2, f0=1e-4):
    """BayesPy linear regression, same priors and factorization q(alpha) q(lambda) q(w)."""
    _bayespy()
    from bayespy.inference import VB
    from bayespy.nodes import Gamma, GaussianARD, SumMultiply
    D = X.shape[1]
    alpha = Gamma(a0, b0)
    lam = Gamma(e0, f0)
    w = GaussianARD(0, lam, shape=(D,))
    F = SumMultiply("i,i", w, X)
    Y = GaussianARD(F, alpha)
    Y.observe(y)
    Q = VB(Y, w, lam, alpha)
    return _bayespy_run(Q, (alpha, lam, w), max_iter, tol)


def bayespy_pca(Y, K, max_iter, tol, a=1e-3, b=1e-3):
    """BayesPy PCA (its documented example) with ARD alpha, noise tau and the
    per-dimension mean mu ~ N(0, 1e3)."""
    _bayespy()
    from bayespy.inference import VB
    from bayespy.nodes import Add, Gamma, GaussianARD, SumMultiply
    N, D = Y.shape
    z = GaussianARD(0, 1, plates=(N, 1), shape=(K,))
    alpha = Gamma(a, b, plates=(K,))
    W = GaussianARD(0, alpha, plates=(1, D), shape=(K,))
    mu = GaussianARD(0, 1e-3, plates=(1, D))
    tau = Gamma(a, b)
    F = Add(SumMultiply("d,d", W, z), mu)
    obs = GaussianARD(F, tau)
    obs.observe(Y)
    W.initialize_from_random()
    Q = VB(obs, z, W, alpha, mu, tau)
    return _bayespy_run(Q, (tau, alpha, W, mu, z), max_iter, tol)


def hmmlearn_vb_hmm(x, K, max_iter, tol_abs, alpha=1.0):
    """hmmlearn's VariationalGaussianHMM (full covariances): VB for a Gaussian
    HMM with a joint Normal–Wishart q(mu, Λ) per state, its own (k-means) start;
    one iteration = forward–backward + M step + bound."""
    try:
        from hmmlearn.vhmm import VariationalGaussianHMM
    except Exception as err:  # pragma: no cover - depends on the environment
        raise Skip(f"hmmlearn not installed ({type(err).__name__})")
    trace, stamps = [], []
    D = x.shape[1]
    model = VariationalGaussianHMM(
        n_components=K, covariance_type="full", n_iter=max_iter, tol=tol_abs,
        startprob_prior=np.full(K, alpha), transmat_prior=np.full((K, K), alpha),
        means_prior=np.zeros((K, D)), beta_prior=np.full(K, 1e-2), dof_prior=np.full(K, float(D)),
        scale_prior=np.stack([np.eye(D)] * K), random_state=0,
        implementation="scaling")
    report = model.monitor_.report

    def timed_report(value):
        trace.append(float(value))
        stamps.append(clock())
        return report(value)
    model.monitor_.report = timed_report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x)
    return np.asarray(trace), np.asarray(stamps)
