# The two commands a newcomer needs (README.md): `make demo` and `make test`.
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PORT ?= 8000

.PHONY: install system-deps demo test lint format worker

# Debian packages the platform and its tests use; installed with apt-get only when missing.
SYSTEM_PACKAGES = postgresql redis-server chromium poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0

$(UV):
	python3 -m pip install --user --quiet uv

install: $(UV)
	$(UV) sync --frozen

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

## Installs everything, builds the demo world and serves it at http://127.0.0.1:$(PORT) (SQLite, tasks in-process).
demo: system-deps install
	$(UV) run python manage.py migrate --no-input
	$(UV) run python manage.py seed_demo
	$(UV) run python manage.py runserver 127.0.0.1:$(PORT)

## Installs everything and runs the whole suite: lint, migrations check, then all tests on SQLite and PostgreSQL.
test: system-deps install
	$(UV) run ruff format --check .
	$(UV) run ruff check .
	$(UV) run python manage.py makemigrations --check --dry-run
	$(UV) run python -m tests.harness

lint: install
	$(UV) run ruff format --check . && $(UV) run ruff check .

format: install
	$(UV) run ruff format . && $(UV) run ruff check --fix .

worker: install
	$(UV) run celery -A livinglab worker -B --loglevel=info
