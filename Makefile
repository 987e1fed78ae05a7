# Seaworthy developer entry points. `make help` lists them.
# Every target that needs the toolchain depends on `setup`, which is idempotent
# and takes seconds once everything is in place.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Tests never read the operator's own DigitalOcean credentials.
unexport DIGITALOCEAN_TOKEN DIGITALOCEAN_ACCESS_TOKEN DO_API_TOKEN

# The scenarios `make molecule` runs, longest first (two run side by side).
MOLECULE_SCENARIOS ?= host stack proxy backup monitoring testbed

.PHONY: help setup test lint ruff yamllint ansible-lint sanity changelog-lint role-docs role-docs-check unit integration molecule build emulator emulator-clean demo demo-clean e2e clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## Install and start everything the project needs (idempotent)
	@[ -n "$${SEAWORTHY_SETUP_DONE:-}" ] || scripts/setup.sh

test: setup ## Set up, then run every lint gate and test suite (what CI runs)
	@scripts/run-suites.sh lint unit integration+molecule build

lint: setup ## ruff, yamllint, ansible-lint (production), ansible-test sanity, changelog lint, role docs
	@scripts/run-suites.sh lint

ruff:
	ruff check .
	ruff format --check .

yamllint:
	yamllint --strict .

ansible-lint:
	ansible-lint --profile production

sanity: ## ansible-test sanity on a clean copy of the collection
	@scripts/sanity.sh

changelog-lint:
	antsibull-changelog lint

role-docs-check: ## Fail when a role's README or defaults disagree with its meta/argument_specs.yml
	python scripts/role-docs.py --check

role-docs: ## Regenerate the variables section of every role's README from meta/argument_specs.yml
	python scripts/role-docs.py

unit: setup ## Fast tests: no containers
	pytest tests/unit

# Two processes side by side: the tests with real docker backing in one (two emulators with
# docker backing would both claim the default VPC ranges, which docker refuses to overlap),
# everything else in the other. (pytest-xdist's loadgroup would do this, but its groups are
# not applied under pytest 9.) The docker process ends with site.yml end to end on
# inventories/local (tests/e2e/test_site_local.py; `make e2e` runs the seeds too).
integration: setup ## Tests against the emulator and local containers (docker-backed ones, then site.yml end to end, in a second process)
	@mkdir -p .cache/suites .cache/e2e; \
	pytest tests/integration tests/e2e/test_site_local.py -m docker -p no:cacheprovider --durations=10 \
	  >.cache/suites/integration-docker.log 2>&1 & docker_pid=$$!; \
	api=0; pytest tests/integration -m "not docker" --durations=10 || api=$$?; \
	docker=0; wait $$docker_pid || docker=$$?; \
	echo "---- tests with real docker backing (exit $$docker) ----"; cat .cache/suites/integration-docker.log; \
	exit $$((api || docker))

molecule: setup ## Every molecule scenario (MOLECULE_SCENARIOS), MOLECULE_JOBS at a time (default 2)
	@scripts/molecule-all.sh $(MOLECULE_SCENARIOS)

# One test module per inventory (local, teliporter, orbitflow-crm), each with its own emulator
# (own networks, Spaces, DNS, Pebble), run side by side; every run's wall time, API calls and
# SSH tasks land in .cache/e2e/timings.log, its ansible output in .cache/e2e/logs/.
E2E_JOBS ?= 3
e2e: setup ## site.yml end to end on the emulator with real backing: inventories local, teliporter, orbitflow-crm side by side
	@mkdir -p .cache/e2e; : >.cache/e2e/timings.log; rc=0; \
	pytest tests/e2e -m e2e -p no:cacheprovider -n $(E2E_JOBS) --dist loadfile --durations=5 || rc=$$?; \
	echo "---- site.yml runs ----"; cat .cache/e2e/timings.log; exit $$rc

build: setup ## Build the collection tarball into build/ and check what it contains
	@scripts/build-collection.sh

emulator: setup ## Run the DigitalOcean emulator in the foreground (EMULATOR_PORT, EMULATOR_TOKEN, ...)
	python -m tests.emulator

emulator-clean: ## Remove what emulators' docker backing left behind (EMULATOR_CLEAN_ARGS=--all: cached images too)
	@scripts/emulator-clean.sh $(EMULATOR_CLEAN_ARGS)

demo: setup ## Start the emulator (docker backing) and run site.yml on inventories/local; prints the URL
	@scripts/demo.sh

demo-clean: ## Stop the demo's emulator (removing its droplets) and delete .cache/demo
	@scripts/demo.sh clean

clean: ## Remove local state (venv, caches, build output); keeps the droplet image
	rm -rf .venv build collections .pytest_cache .ruff_cache tests/output .ansible
