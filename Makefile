# Two commands matter: `make run` serves Strongbox, `make test` runs the whole test suite.
# Everything is installed into this directory: uv into .tools/, the app and its dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STRONGBOX := $(VENV)/bin/strongbox
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run cluster test install install-dev system-packages cluster-packages bench-packages image-test-packages check clean bench bench-servers bench-cluster image-test

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact: `make run` after `make install-dev` (one .venv for both) keeps the test tools instead of removing them.
install: $(UV)
	$(UV) sync --frozen --no-dev --inexact --python $(PYTHON)

install-dev: $(UV)
	$(UV) sync --frozen --python $(PYTHON)

run: install
	$(STRONGBOX) migrate --noinput
	$(STRONGBOX) collectstatic --noinput --verbosity 0
	@echo
	@echo "Create your first account (in another terminal, from this directory):"
	@echo "    $(STRONGBOX) createuser --username YOU --email YOU@example.com"
	@echo "then sign in at http://$${STRONGBOX_HOST:-127.0.0.1}:$${STRONGBOX_PORT:-8000}/"
	@echo
	$(STRONGBOX) serve

# The same on this machine as a cluster: PostgreSQL primary + replica, Redis, app servers and a task worker behind
# HAProxy, in var/cluster/ (CLUSTER="--servers 3 --tls" to change it; `strongbox cluster --help`). Ctrl-C stops it.
CLUSTER ?=
cluster: install cluster-packages
	$(STRONGBOX) cluster up $(CLUSTER)

# Debian packages the tests drive: Chromium (browser tests), curl (the API walkthrough), openssl (a certificate for
# the HTTPS server the security suite attacks), HAProxy and keepalived (the load balancers of the cluster tests;
# iproute2 for their network namespaces), Prometheus and Alertmanager (promtool and amtool check the alert rules
# and their routing in deploy/), and the services of the scale-out run: PostgreSQL, Redis and OpenStack Swift (the
# S3 server), and Tesseract with the languages Strongbox recognises in scans and photos (English, German, French).
SYSTEM_PACKAGES := chromium curl openssl haproxy keepalived iproute2 prometheus prometheus-alertmanager postgresql \
	redis-server swift swift-proxy swift-object swift-container swift-account \
	tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra

# What `make cluster` needs: the balancer and the data tier (openssl is not needed: the certificate is made in Python).
CLUSTER_PACKAGES := haproxy postgresql redis-server
# What `make bench` needs: the load generator, curl for the file transfers, and the scale-out data tier.
BENCH_PACKAGES := wrk curl postgresql redis-server
# docker-compose (it checks deploy/compose.yaml) is installed without its recommended packages, which would bring a
# Docker daemon that nothing here needs.
BARE_PACKAGES := docker-compose
# What `make image-test` needs: the image built and run with podman on a base made by debootstrap.
IMAGE_PACKAGES := podman buildah debootstrap runc
PACKAGES = $(SYSTEM_PACKAGES)
BARE = $(BARE_PACKAGES)
cluster-packages: PACKAGES = $(CLUSTER_PACKAGES)
cluster-packages: BARE =
bench-packages: PACKAGES = $(BENCH_PACKAGES)
bench-packages: BARE =
image-test-packages: PACKAGES = $(IMAGE_PACKAGES)
image-test-packages: BARE =

system-packages cluster-packages bench-packages image-test-packages:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	bare=""; for p in $(BARE); do dpkg -s $$p >/dev/null 2>&1 || bare="$$bare $$p"; done; \
	if [ -n "$$missing$$bare" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && export DEBIAN_FRONTEND=noninteractive && \
			{ [ -z "$$missing" ] || apt-get install -y -qq $$missing; } && \
			{ [ -z "$$bare" ] || apt-get install -y -qq --no-install-recommends $$bare; }; \
		else echo "Not root, so not installing:$$missing$$bare. Tests needing them skip (and fail when CI=true)."; fi; \
	fi

# Static checks: lint with the security rules, bandit on the source, the dependency audit (reported as NOT DONE
# when its data is unreachable). `strongbox check --deploy` with production settings runs inside the test suite.
check: install-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/bandit --quiet --recursive src
	scripts/audit-dependencies.sh

# The suite runs twice: embedded (SQLite, the shared disk cache, local files), then scale-out (PostgreSQL primary +
# streaming replica, Redis, Swift's S3 API, each started by the test session on free loopback ports).
test: install-dev system-packages check
	$(VENV)/bin/pytest
	STRONGBOX_TEST_SCALE_OUT=1 $(VENV)/bin/pytest

clean:
	rm -rf $(VENV) $(TOOLS)

# The performance budget (issue 11): every endpoint's server CPU per request, latency under open-model load, memory
# and file throughput, embedded (10k and 100k documents) and scale-out, in one run of about 14 minutes; prints
# PASS/FAIL per budget line and writes docs/benchmarks.md (BENCH="--quick" for a 3-minute smoke run).
BENCH ?=
bench: $(UV) bench-packages
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(VENV)/bin/python bench/budget.py $(BENCH)

bench-servers: $(UV)
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(VENV)/bin/python bench/servers.py

# Capacity of the cluster: the list page on one app server, through HAProxy to one and to two, in one run
# (bench/results/cluster.md).
bench-cluster: $(UV) cluster-packages
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(VENV)/bin/python bench/cluster_capacity.py

# The container image (deploy/Containerfile), built offline on a Debian base made by debootstrap and run with podman
# as Kubernetes would run it (read-only root, no capabilities), probed on /healthz and /readyz. Not part of
# `make test`: about 2 minutes once the base is cached in /var/tmp/strongbox-image-base, 6 without. Needs root.
image-test: $(UV) image-test-packages
	deploy/image-test.sh
