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

# A test file per process on each core (pytest-xdist), each with its own broker and Redis: the
# suite waits more than it computes (14:57 -> 7:48 on two cores). `pytest -n 0` runs it in one process.
test: install
	$(BIN)/python -m pytest -q -ra -n auto --dist loadfile

demo: install
	$(BIN)/hotline demo

bench: install
	$(BIN)/python bench/replay_year.py
	$(BIN)/python bench/real_text.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
