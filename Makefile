# The two commands a newcomer needs: `make run` and `make test`. Both create .venv, install the
# locked dependencies, and start embedded PostgreSQL/Redis under ./var/ unless DATABASE_URL /
# REDIS_URL point at servers of your own.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lock messages check-deploy clean-var bench-ingest eval-nlp bench-nlp bench-inbox bench-dashboard

$(STAMP): requirements-dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m social_crm.devservers run

# -p no:cacheprovider keeps a clean clone clean. Exit code 5 (no tests collected) is a failure.
test: $(STAMP)
	$(PY) -m social_crm.devservers exec -- $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS); \
	code=$$?; if [ $$code -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$code

# N records (default 100000) for TENANTS tenants (default 3) through the real ingestion pipeline:
# a Celery worker, the replay connector, PostgreSQL; prints mentions/s, latency, RSS, COPY ratio.
bench-ingest: $(STAMP)
	$(PY) -m social_crm.devservers exec -- $(PY) -m listening.bench.ingest

# MENTIONS mentions (default 2000000) over TENANTS tenants (default 3) seeded with COPY into a
# database of its own, then p50/p95 and query counts of the inbox list (filter combinations, saved
# view, page 2) and of the conversation page. KEEP=1 keeps (and reuses) the seeded database.
bench-inbox: $(STAMP)
	$(PY) -m social_crm.devservers exec -- $(PY) -m inbox.bench.pages
# The reputation dashboard's API on MENTIONS seeded mentions (default 2000000, a year, 3 tenants) in the
# database social_crm_bench_dashboard: rollup build time, then p50/p95 per series for 7/30/90 days next to
# a plain GROUP BY over the raw mentions. KEEP=1 keeps (and reuses) the seeded database.
bench-dashboard: $(STAMP)
	MENTIONS=$(MENTIONS) KEEP=$(KEEP) $(PY) -m social_crm.devservers exec -- $(PY) -m analytics.bench

# Regenerate the hash-pinned locks from pyproject.toml (needs network access to PyPI).
lock: $(STAMP)
	$(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements-dev.lock

# Sentiment validation figures per language (+ VADER on English); trains first if var/models
# has no artefact. DJANGO_DEBUG=true: a local run needs no secret key (as `make messages`).
eval-nlp: $(STAMP)
	DJANGO_DEBUG=true $(PY) -m social_crm.devservers exec -- $(PY) manage.py eval_nlp

# The whole NLP stage on DOCS documents (default 20000, 50/50 fr/en) in one process pinned to one
# thread: docs/s per core, model load time, peak RSS, time per stage, VADER on the same English
# documents. Trains first if var/models has no artefact; needs no database.
bench-nlp: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m listening.bench.nlp $(if $(DOCS),--docs $(DOCS))

# Update and compile the French catalog (needs GNU gettext). The compiled .mo is committed.
messages: $(STAMP)
	DJANGO_DEBUG=true DATABASE_URL=postgres://x@localhost/x REDIS_URL=redis://localhost/0 \
	  $(PY) manage.py makemessages -l fr --ignore=.venv --ignore=var
	DJANGO_DEBUG=true DATABASE_URL=postgres://x@localhost/x REDIS_URL=redis://localhost/0 \
	  $(PY) manage.py compilemessages --ignore=.venv

# `manage.py check --deploy` with production-like variables.
check-deploy: $(STAMP)
	DJANGO_SECRET_KEY=$$(openssl rand -hex 32) DJANGO_ALLOWED_HOSTS=crm.example.com \
	  DATABASE_URL=postgres://owner@db/social_crm REDIS_URL=redis://redis:6379/0 \
	  $(PY) manage.py check --deploy --fail-level WARNING

clean-var:
	rm -rf var
