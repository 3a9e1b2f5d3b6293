"""Generated model shapes for the fit sweep (test_model_shapes.py): a global
array of one family, read through one kind of index (a gather by integer data,
a gate by a Categorical latent, nested, over one or two plates, next to a
plate index), by a child that is data or a latent with data below it.

Each case is (id, model text, data simulator).  The text is assembled from
three parts: the index kind (its declarations, plates, and the index
expression), the parent family (its prior and how a child reads it), and the
child role.
"""
from __future__ import annotations

import numpy as np

SIZES = {"N": 7, "F": 3, "T": 9, "Dc": 4, "K": 3, "J": 2, "V": 4, "D": 2}

# index kind -> (declarations, plates of the child, index of the parent, parent plates)
# The parent is over (K,) unless its plates say otherwise.
INDEX_KINDS = {
    "gather": ("data g[N]: int", ("n in N",), "g[n]", ("K",)),
    "gate": ("pi ~ Dirichlet(ones(K))\nfor n in N:\n    z[n] ~ Categorical(pi)",
             ("n in N",), "z[n]", ("K",)),
    "gather2": ("data g[N, F]: int", ("n in N", "f in F"), "g[n, f]", ("K",)),
    "gate2": ("pi ~ Dirichlet(ones(K))\nfor n in N:\n    for f in F:\n"
              "        z[n, f] ~ Categorical(pi)", ("n in N", "f in F"), "z[n, f]", ("K",)),
    "gate_outer_row": ("pi ~ Dirichlet(ones(K))\nfor n in N:\n    z[n] ~ Categorical(pi)",
                       ("n in N", "f in F"), "z[n]", ("K",)),
    "nested_gate": ("data doc[T]: int\npi ~ Dirichlet(ones(K))\nfor d in Dc:\n"
                    "    z[d] ~ Categorical(pi)", ("t in T",), "z[doc[t]]", ("K",)),
    "nested_gather": ("data doc[T]: int\ndata g[Dc]: int", ("t in T",), "g[doc[t]]", ("K",)),
    "plate_and_gather": ("data g[N, F]: int", ("n in N", "f in F"), "f, g[n, f]", ("F", "K")),
    "plate_and_gate": ("pi ~ Dirichlet(ones(K))\nfor n in N:\n    for f in F:\n"
                       "        z[n, f] ~ Categorical(pi)", ("n in N", "f in F"), "f, z[n, f]",
                       ("F", "K")),
    "gate_twice": ("pi ~ Dirichlet(ones(K))\nfor n in N:\n    z[n] ~ Categorical(pi)",
                   ("n in N",), "z[n], z[n]", ("K", "K")),
    "pair": ("pi ~ Dirichlet(ones(K))\nfor n in N:\n    z[n] ~ Categorical(pi)",
             ("n in N", "m in N"), "z[n], z[m]", ("K", "K")),
    "nested_pair": ("data doc[T]: int\npi ~ Dirichlet(ones(K))\nfor d in Dc:\n"
                    "    z[d] ~ Categorical(pi)", ("s in T", "t in T"), "z[doc[s]], z[doc[t]]",
                    ("K", "K")),
    "scalar_gate": ("pi ~ Dirichlet(ones(K))\nc ~ Categorical(pi)", ("n in N",), "c", ("K",)),
    "gate_and_gather": ("data g[N]: int\npi ~ Dirichlet(ones(K))\nfor n in N:\n"
                        "    z[n] ~ Categorical(pi)", ("n in N",), "z[n], g[n]", ("K", "J")),
}

# family -> (prior of the parent, child distribution of the read parent P,
#            data family of a data child)
FAMILIES = {
    "Normal-mean": ("Normal(0.0, 1.0)", "Normal({P}, 2.0)", "real"),
    "Gamma-precision": ("Gamma(2.0, 1.0)", "Normal(0.0, {P})", "real"),
    "Beta": ("Beta(1.0, 1.0)", "Bernoulli({P})", "binary"),
    "Gamma-rate": ("Gamma(2.0, 1.0)", "Poisson({P})", "count"),
    "Dirichlet": ("Dirichlet(ones(V))", "Categorical({P})", "category"),
    "MvNormal": ("MvNormal(zeros(D), eye(D))", "MvNormal({P}, eye(D))", "vector"),
    "Wishart": ("Wishart(3.0, eye(D))", "MvNormal(zeros(D), {P})", "vector"),
    "Exponential-rate": ("Gamma(2.0, 1.0)", "Exponential({P})", "positive"),
}

# A latent child needs data below it: (child family kinds it applies to, the data line)
LATENT_CHILD = {
    "real": "Normal({C}, 1.0)",
    "category": "Normal(u[{C}], 1.0)",
    "vector": "MvNormal({C}, eye(D))",
}


def parent_block(name: str, prior: str, plates: tuple) -> str:
    labels = [f"i{p}" for p in range(len(plates))]
    lines, indent = [], ""
    for label, dim in zip(labels, plates):
        lines.append(f"{indent}for {label} in {dim}:")
        indent += "    "
    lines.append(f"{indent}{name}[{', '.join(labels)}] ~ {prior}")
    return "\n".join(lines)


def child_block(plates: tuple, lines: list) -> str:
    out, indent = [], ""
    for plate in plates:
        out.append(f"{indent}for {plate}:")
        indent += "    "
    out += [indent + line for line in lines]
    return "\n".join(out)


def model_text(kind: str, family: str, latent_child: bool) -> str | None:
    decls, plates, index, parent_plates = INDEX_KINDS[kind]
    prior, likelihood, support = FAMILIES[family]
    target = "[" + ", ".join(p.split()[0] for p in plates) + "]"
    shape = "[" + ", ".join(p.split()[-1] for p in plates) + "]"
    read = likelihood.format(P=f"theta[{index}]")
    head = ["dim " + ", ".join(SIZES), decls, parent_block("theta", prior, parent_plates)]
    if not latent_child:
        dtype = {"real": "", "vector": "", "positive": "", "binary": ": int", "count": ": int",
                 "category": ": int"}[support]
        event = shape[:-1] + ", D]" if support == "vector" else shape
        return "\n".join([head[0], f"data y{event}{dtype}"] + head[1:] +
                         [child_block(plates, [f"y{target} ~ {read}"])]) + "\n"
    if support not in LATENT_CHILD:
        return None
    event = shape[:-1] + ", D]" if support == "vector" else shape
    extra = ["for v in V:\n    u[v] ~ Normal(0.0, 1.0)"] if support == "category" else []
    below = LATENT_CHILD[support].format(C=f"w{target}")
    return "\n".join([head[0], f"data y{event}"] + head[1:] + extra +
                     [child_block(plates, [f"w{target} ~ {read}", f"y{target} ~ {below}"])]) + "\n"


def simulate(text: str, rng) -> dict:
    """Data for every declared array of a generated model, in its support."""
    data = {}
    for line in text.splitlines():
        if not line.startswith("data "):
            continue
        name, rest = line[5:].split("[", 1)
        dims = [d.strip() for d in rest.split("]")[0].split(",")]
        shape = [SIZES[d] for d in dims]
        if name in ("g", "doc"):
            top = {"g": "J" if "z[n], g[n]" in text else "K", "doc": "Dc"}[name]
            data[name] = rng.integers(0, SIZES[top], shape)
        elif "Bernoulli" in text and ": int" in line:
            data[name] = rng.integers(0, 2, shape)
        elif "Poisson" in text and ": int" in line:
            data[name] = rng.poisson(3.0, shape)
        elif ": int" in line:
            data[name] = rng.integers(0, SIZES["V"], shape)
        elif "Exponential" in text:
            data[name] = rng.exponential(1.0, shape)
        else:
            data[name] = rng.normal(size=shape)
    return {**data, **SIZES}


def cases():
    out = []
    for kind in INDEX_KINDS:
        for family in FAMILIES:
            for latent_child in (False, True):
                text = model_text(kind, family, latent_child)
                if text is not None:
                    out.append((f"{kind}-{family}-{'latent' if latent_child else 'data'}", text))
    return out


# The models issue 11 reported (NotImplementedError inside fit before scatter.py).
REPORTED = {
    "naive-bayes-one-feature": (
        "dim N, C, V\ndata label[N]: int\ndata x[N]: int\npi ~ Dirichlet(ones(C))\n"
        "for c in C:\n    theta[c] ~ Dirichlet(ones(V))\nfor n in N:\n"
        "    label[n] ~ Categorical(pi)\n    x[n] ~ Categorical(theta[label[n]])\n",
        lambda rng: {"label": rng.integers(0, 3, 30), "x": rng.integers(0, 4, 30), "C": 3, "V": 4}),
    "bpmf-entries-as-a-list": (
        "dim T, R, C, K\ndata row[T]: int\ndata col[T]: int\ndata rating[T]\n"
        "alpha ~ Gamma(1.0, 1.0)\nfor r in R:\n    U[r] ~ MvNormal(zeros(K), eye(K))\n"
        "for c in C:\n    V[c] ~ MvNormal(zeros(K), eye(K))\nfor t in T:\n"
        "    rating[t] ~ Normal(dot(U[row[t]], V[col[t]]), alpha)\n",
        lambda rng: {"row": rng.integers(0, 5, 40), "col": rng.integers(0, 6, 40),
                     "rating": rng.normal(size=40), "R": 5, "C": 6, "K": 2}),
    "mixture-of-unigrams": (
        "dim Dc, K, V, T\ndata doc[T]: int\ndata word[T]: int\npi ~ Dirichlet(ones(K))\n"
        "for k in K:\n    phi[k] ~ Dirichlet(ones(V))\nfor d in Dc:\n    z[d] ~ Categorical(pi)\n"
        "for t in T:\n    word[t] ~ Categorical(phi[z[doc[t]]])\n",
        lambda rng: {"doc": rng.integers(0, 5, 60), "word": rng.integers(0, 6, 60),
                     "Dc": 5, "V": 6, "K": 2}),
}
