# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/achilles-coach

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n auto --dist worksteal

bench: $(STAMP)
	$(BIN)/python bench/saving.py

# Every word of the templates into the catalogs: new words appear untranslated in each language's
# .po file (templates/locale/<lang>/LC_MESSAGES/messages.po) for a translator to fill in.
messages: $(STAMP)
	$(BIN)/pybabel extract --no-location --omit-header -F babel.cfg -o templates/locale/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i templates/locale/messages.pot -d templates/locale

clean:
	rm -rf $(VENV)
