"""Hand-written mean-field VMP for models/lda.vmp: Π_k q(phi_k) Π_d q(theta_d) Π_t q(z_t).

Token-level, like the model: one responsibility row per token. Scatters are
products with CSR one-hot matrices built once (words×tokens, docs×tokens);
gathers are fancy indexing; the ELBO's z/word part is Σ_t logsumexp(logits_t).
Update order phi, theta, z as in vmpdsl. ``weights`` (tokens collapsed to
distinct (doc, word) pairs with counts) gives the count-matrix variant.
"""
import numpy as np
from scipy import sparse

from ._common import dirichlet_elog, dirichlet_entropy, dirichlet_logprior, run_loop


def fit(data, init, max_iter=500, tol=1e-8, callback=None, alpha=0.1, eta=0.01, weights=None):
    doc = np.asarray(data["doc"], np.intp)
    word = np.asarray(data["word"], np.intp)
    Dc, V, K = int(data["Dc"]), int(data["V"]), int(data["K"])
    T = doc.size
    w = np.ones(T) if weights is None else np.asarray(weights, float)
    tok = np.arange(T)
    word_t = sparse.csr_matrix((w, (word, tok)), shape=(V, T))
    doc_t = sparse.csr_matrix((w, (doc, tok)), shape=(Dc, T))
    S = {"R": np.array(init["z"], float)}

    def sweep():
        R = S["R"]
        phi = eta + np.asarray(word_t @ R).T          # K×V
        theta = alpha + np.asarray(doc_t @ R)          # Dc×K
        elog_phi = dirichlet_elog(phi)
        elog_theta = dirichlet_elog(theta)
        logits = elog_theta[doc]
        logits += elog_phi.T[word]
        top = logits.max(1, keepdims=True)
        logits -= top
        np.exp(logits, out=logits)
        norm = logits.sum(1, keepdims=True)
        logits /= norm
        S.update(R=logits, phi=phi, theta=theta)
        lse = float(w @ (np.log(norm[:, 0]) + top[:, 0]))
        elbo = (lse + dirichlet_logprior(eta, V, elog_phi) + dirichlet_logprior(alpha, K, elog_theta)
                + dirichlet_entropy(phi, elog_phi).sum() + dirichlet_entropy(theta, elog_theta).sum())
        return float(elbo)

    trace = run_loop(sweep, max_iter, tol, callback)
    return {"elbo": trace, "iterations": len(trace),
            "posterior": {"phi": {"concentration": S["phi"]},
                          "theta": {"concentration": S["theta"]},
                          "z": {"probs": S["R"]}}}
