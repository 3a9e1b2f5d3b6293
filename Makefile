# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The main job: the Bayesian Gaussian mixture on Old Faithful, K = 6 components
# of which the Dirichlet prior empties the surplus.
run: $(STAMP)
	$(BIN)/vmpdsl check models/gmm.vmp
	$(BIN)/vmpdsl graph models/gmm.vmp -o gmm.dot
	$(BIN)/vmpdsl equations models/gmm.vmp
	$(BIN)/vmpdsl fit models/gmm.vmp --data models/data/faithful.csv --standardize \
		--set K=6 --set alpha0=0.01 --seed 0 --out faithful_fit.json

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
