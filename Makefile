# Two commands matter: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install test demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

test: install
	$(BIN)/python -m pytest -q -ra

demo: install
	$(BIN)/hotline demo

bench: install
	$(BIN)/python bench/replay_year.py
	$(BIN)/python bench/real_text.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
