#!/usr/bin/env bash
# SUBSCRIBERS (default 1,000) WebSocket clients subscribe to payoutChanged on one instance on
# PostgreSQL; EVENTS payouts (default 20) are then submitted one at a time, and every delivery's
# latency (from sending the mutation to the arrival at each subscriber) and the server's memory
# are printed (the `subscribers` example). Then as many keyed clients subscribe to the figures of
# 36.03 while EVENTS workers are enrolled there one at a time: the figure reads per change are
# printed (one per change however many subscribe).
# Usage (release binaries built: cargo build --release --bin jaminan --example subscribers):
#   bench/subscribers.sh [SUBSCRIBERS] [EVENTS]
set -euo pipefail
SUBSCRIBERS=${1:-1000}; EVENTS=${2:-20}
BIN=${BIN:-target/release/jaminan}
LOAD=${LOAD:-target/release/examples/subscribers}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8097}
DB=${DB:-jaminan_subscribersbench}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
psql -X -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="$PG/$DB"
"$BIN" migrate >/dev/null
KEY=$("$BIN" api-key create --name bench --role admin | tail -n 1)
# One key opens every connection: its per-minute budget and its connections are raised for the
# benchmark.
JAMINAN_KEY_REQUESTS_PER_MINUTE=1000000 JAMINAN_WEBSOCKETS_PER_CALLER=1000000 RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; psql -X -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
"$LOAD" --url "http://127.0.0.1:$PORT" --admin "$KEY" --subscribers "$SUBSCRIBERS" --events "$EVENTS" --pid "$SERVER"
"$LOAD" --url "http://127.0.0.1:$PORT" --admin "$KEY" --subscribers "$SUBSCRIBERS" --events "$EVENTS" --figures
