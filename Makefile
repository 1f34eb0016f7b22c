# FinovaBank: the two commands are `make up` and `make test`; both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The development venv installs requirements/dev.txt: every app's locked set and the dev tools,
# each distribution pinned with its hashes (requirements/README.md). The stamp follows the lock.
LOCK := requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(LOCK) | sha256sum | cut -c1-12)
# kustomize renders deploy/k8s for the deploy tests; built once from the Go module proxy.
KUSTOMIZE_VERSION := v5.5.0
KUSTOMIZE := .cache/kustomize/$(KUSTOMIZE_VERSION)/kustomize

.PHONY: up down test migrate clean install help backup restore seed fuzz lock

help:
	@echo "make up       run the whole suite locally (stores, migrations, four apps); Ctrl-C stops it"
	@echo "make down     stop a suite started by 'make up' from another shell"
	@echo "make test     run every test against real PostgreSQL and MongoDB-wire servers"
	@echo "make fuzz     the long schemathesis pass over the gateway's OpenAPI (FUZZ_EXAMPLES=150 per operation and role)"
	@echo "make migrate  apply PostgreSQL (Alembic) and MongoDB migrations to the local stores"
	@echo "make clean    remove local data (.data/); the venv and build cache stay"
	@echo "make seed     load the bank's scale (25,000 customers, 1,000,000 transactions) into an empty suite"
	@echo "make backup   back up the running suite's databases (DIR=..., default backups/<UTC time>)"
	@echo "make restore  restore a backup into the local stores: make restore DIR=backups/<time>"
	@echo "make lock     recompile requirements/*.txt (hashes) after editing requirements/*.in"

$(STAMP): $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "python3 is not installed"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17 (java) is not installed: the MongoDB-wire server needs it"; exit 1; }
	@command -v javac >/dev/null || { echo "javac (JDK 17) is not installed: the MongoDB-wire launcher is compiled with it"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven (mvn) is not installed: it fetches mongo-java-server"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)
	$(PY) -m database.mongodb.launcher build --cache .cache/mongo-launcher

up: install
	$(PY) -m devstack up

down:
	@test -x $(PY) && $(PY) -m devstack down || echo "nothing to stop"

migrate: install
	$(PY) -m devstack migrate

# requirements/*.txt from requirements/*.in with pip-tools (in a venv of its own under .cache):
# the development lock first, then each app's lock constrained by it, so every app pins what
# development pins. Existing pins are kept; LOCK_ARGS="-P name" upgrades one, "-U" all. Run it
# with Python 3.11, the images' Python.
PIP_TOOLS_VERSION := 7.6.2
PIP_COMPILE := .cache/pip-tools/$(PIP_TOOLS_VERSION)/bin/pip-compile
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-trusted-host --no-emit-find-links
APPS := accounts transactions preferences gateway

$(PIP_COMPILE):
	$(PYTHON) -m venv .cache/pip-tools/$(PIP_TOOLS_VERSION)
	.cache/pip-tools/$(PIP_TOOLS_VERSION)/bin/pip install --quiet --disable-pip-version-check pip-tools==$(PIP_TOOLS_VERSION)

lock: $(PIP_COMPILE)
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) $(LOCK_FLAGS) $(LOCK_ARGS) \
		--output-file requirements/dev.txt requirements/dev.in
	for app in $(APPS); do \
		CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) $(LOCK_FLAGS) -c requirements/dev.txt \
			--output-file requirements/$$app.txt requirements/$$app.in || exit 1; \
	done

$(KUSTOMIZE):
	@command -v go >/dev/null || { echo "Go is not installed: the deploy tests build kustomize with it"; exit 1; }
	GOBIN=$(CURDIR)/$(dir $(KUSTOMIZE)) GOTOOLCHAIN=local go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

# The schemathesis pass (tests/security/test_fuzz.py): short and deterministic inside `make test`,
# long and randomised, with schemathesis' coverage phase, in `make fuzz`; its figures go to FUZZ_REPORT.
FUZZ_SHORT_EXAMPLES ?= 30
FUZZ_EXAMPLES ?= 150
FUZZ_REPORT ?= .data/fuzz-report.json

test: install $(KUSTOMIZE)
	KUSTOMIZE=$(CURDIR)/$(KUSTOMIZE) FUZZ_EXAMPLES=$(FUZZ_SHORT_EXAMPLES) $(PY) -m pytest $(PYTEST_ARGS)

fuzz: install
	mkdir -p $(dir $(FUZZ_REPORT))
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 FUZZ_COVERAGE=1 FUZZ_REPORT=$(FUZZ_REPORT) \
		$(PY) -m pytest tests/security/test_fuzz.py $(PYTEST_ARGS)

clean:
	@if test -x $(PY); then $(PY) -m devstack clean; else rm -rf .data; fi

backup: install
	$(PY) -m devstack.backup backup $(or $(DIR),backups/$(shell date -u +%Y%m%dT%H%M%SZ))

restore: install
	@test -n "$(DIR)" || { echo "usage: make restore DIR=backups/<timestamp>"; exit 1; }
	$(PY) -m devstack.backup restore $(DIR)

seed: install
	$(PY) -m devstack.seed $(SEED_ARGS)
