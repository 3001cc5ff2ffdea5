# Two commands for a fresh Debian machine:  make run   and   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# System packages: venv support, gettext (translations), a CJK font and HarfBuzz subsetting
# (Chinese PDFs), poppler (PDF checks in tests), Chromium (browser tests) and libfaketime (the
# suite run at other wall-clock times in .ci/run).
RUN_PACKAGES := python3-venv gettext fonts-wqy-microhei libharfbuzz-subset0
TEST_PACKAGES := $(RUN_PACKAGES) poppler-utils chromium faketime

.PHONY: run test bench loadtest lint messages check-messages sysdeps-run sysdeps-test venv

# $(1): packages; $(2): what to do when they are missing and we are not root.
define ensure_packages
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "Installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
	  echo "Missing system packages:$$missing"; echo "  install them with: sudo apt-get install$$missing"; $(2); \
	fi
endef

sysdeps-run:
	$(call ensure_packages,$(RUN_PACKAGES),true)

sysdeps-test:
	$(call ensure_packages,$(TEST_PACKAGES),exit 1)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# The embedded default: SQLite file db.sqlite3, Celery eager, e-mail to the console.
run: sysdeps-run venv
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

# SQLite unless DATABASE_URL names another database (.ci/run does both), one worker a core.
# PYTEST_ARGS narrows it, e.g. PYTEST_ARGS="--ignore=tests/e2e" or PYTEST_ARGS=tests/e2e.
test: sysdeps-test venv
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

# A school of 3,000 students and 70 groups on a fresh bench.sqlite3 (or DATABASE_URL: give it a
# scratch database), measured; writes bench-results.json.
bench: sysdeps-run venv
	$(PY) -m tests.bench.run

# gunicorn (4 workers) on PostgreSQL 127.0.0.1:5432 (a scratch database afterschool_loadtest),
# 60 teachers taking roll call and dismissing at once; adds p50/p95/p99 to bench-results.json.
loadtest: venv
	$(PY) -m tests.bench.loadtest

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Re-extract the Chinese catalogue after changing strings, translate, then compile.
messages: venv
	DEBUG=true $(PY) manage.py makemessages -l zh_Hans --no-location --no-obsolete -i ".venv/*" -i "staticfiles/*"
	DEBUG=true $(PY) manage.py compilemessages -l zh_Hans --ignore ".venv"

# Fails when a string in the code has no Chinese translation; leaves the catalogue as it was.
check-messages: venv
	@po=locale/zh_Hans/LC_MESSAGES/django.po; cp $$po /tmp/afterschool-django.po.bak; \
	trap 'cp /tmp/afterschool-django.po.bak '$$po EXIT; \
	DEBUG=true $(PY) manage.py makemessages -l zh_Hans --no-location --no-obsolete -i ".venv/*" -i "staticfiles/*" >/dev/null; \
	todo=$$(msgattrib --untranslated $$po; msgattrib --only-fuzzy $$po); \
	if [ -n "$$todo" ]; then echo "Untranslated or fuzzy messages in $$po:"; echo "$$todo" | grep '^msgid' ; exit 1; fi; \
	msgfmt --check-format -o /tmp/afterschool-django.mo /tmp/afterschool-django.po.bak; \
	if ! cmp -s /tmp/afterschool-django.mo $${po%.po}.mo; then echo "$${po%.po}.mo is stale: run make messages"; exit 1; fi; \
	echo "zh_Hans catalogue is complete and compiled."
