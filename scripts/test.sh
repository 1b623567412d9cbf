#!/usr/bin/env bash
# Set up and run every test: lint, import contracts, types, then the whole suite on SQLite and on PostgreSQL,
# against real Redis and a real Chromium. Extra arguments go to pytest (e.g. -k login).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-browser
source scripts/services.sh
ensure_redis
ensure_postgres

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/mypy

status=0
for backend in sqlite postgresql; do
  echo "==================== tests on $backend ===================="
  FIELDSYNC_TEST_DB=$backend .venv/bin/python -m pytest "$@" || status=$?
done
exit $status
