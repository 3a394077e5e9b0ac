#!/usr/bin/env bash
# A real PostgreSQL outage under load: stops the local cluster (immediate mode, as a crash) for
# DOWN seconds while 200 clients run payout workflows and enrollments against `jaminan serve`,
# restarts it, and prints the figures of the "Reliability" section of docs/operations.md.
#
#   bench/outage.sh [DOWN_SECONDS]      (default 6; needs root and pg_ctlcluster)
#
# It stops the whole cluster: do not run it while tests or anything else use PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
DOWN=${1:-6}
PORT=8090
DB=jaminan_outage
BASE=postgres://postgres@127.0.0.1:5432
version=$(ls /etc/postgresql | sort -V | tail -n 1)
export DATABASE_URL=$BASE/$DB

cargo build --release --quiet --bin jaminan --example outage
psql -q "$BASE/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
target/release/jaminan migrate >/dev/null
admin=$(target/release/jaminan api-key create --name outage-submitter --role admin | tail -n 1)
admin2=$(target/release/jaminan api-key create --name outage-approver --role admin | tail -n 1)

# Load generators are not the clients the rate limits are for.
JAMINAN_KEY_REQUESTS_PER_MINUTE=100000000 JAMINAN_ANONYMOUS_REQUESTS_PER_MINUTE=100000000 \
  RUST_LOG=error target/release/jaminan serve --listen 127.0.0.1:$PORT >/tmp/jaminan-outage.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf http://127.0.0.1:$PORT/healthz >/dev/null; do sleep 0.2; done

status=0
target/release/examples/outage --url http://127.0.0.1:$PORT --admin "$admin" --admin2 "$admin2" \
  --database-url "$DATABASE_URL" --down "$DOWN" \
  --stop "pg_ctlcluster --skip-systemctl-redirect $version main stop -m immediate" \
  --start "pg_ctlcluster --skip-systemctl-redirect $version main start" || status=$?

if kill -0 $server 2>/dev/null; then echo "server: still running"; else echo "server: EXITED"; status=1; fi
target/release/jaminan stats verify | tail -n 1
kill -TERM $server && wait $server && echo "server: exited 0 on SIGTERM"
trap - EXIT
psql -q "$BASE/postgres" -c "DROP DATABASE $DB WITH (FORCE)"
exit $status
