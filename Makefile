# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The main job: the Bayesian Gaussian mixture on Old Faithful, K = 6 components
# of which the Dirichlet prior empties the surplus.
run: $(STAMP)
	$(BIN)/pip install --quiet -e '.[plot]'   # matplotlib: the main job draws its picture
	$(BIN)/vmpdsl check models/gmm.vmp
	$(BIN)/vmpdsl graph models/gmm.vmp -o gmm.dot
	$(BIN)/vmpdsl equations models/gmm.vmp
	$(BIN)/vmpdsl fit models/gmm.vmp --data models/data/faithful.csv --standardize \
		--set K=6 --set alpha0=0.01 --seed 0 --out faithful_fit.npz --plot faithful_fit.png

test: $(STAMP)
	$(BIN)/python -m pytest

# Benchmarks (issue 5): emitted code vs hand-written NumPy, scikit-learn, BayesPy.
# Writes benchmarks/results.md and results.json; BENCH_ARGS=--quick for a fast check,
# --models gmm,lda to select, --scaling for GMM N = 1e4 … 1e6. The third-party
# references are optional: a failed install (e.g. bayespy) is skipped with a note.
bench: $(STAMP)
	-$(BIN)/pip install --quiet -e '.[bench]' || $(BIN)/pip install --quiet scikit-learn
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
