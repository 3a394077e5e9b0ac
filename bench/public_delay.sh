#!/usr/bin/env bash
# How long anonymous callers wait for a change of the public figures, on a seeded database (e.g.
# bench/run.sh's 10 million workers): SUBSCRIBERS (default 10) anonymous WebSocket clients
# subscribe to the figures of 36.03 for YEAR, EVENTS (default 10) workers are enrolled there one
# at a time, 3 s apart, and the time until every subscriber has seen each change is printed, with
# the latencies of anonymous reads made every 20 ms meanwhile (the `subscribers` example,
# `--anonymous`). The server runs with its default refresh settings.
# Usage (release binaries built: cargo build --release --bin jaminan --example subscribers):
#   bench/public_delay.sh DB [SUBSCRIBERS] [EVENTS] [YEAR]
set -euo pipefail
DB=$1; SUBSCRIBERS=${2:-10}; EVENTS=${3:-10}; YEAR=${4:-2025}
BIN=${BIN:-target/release/jaminan}
LOAD=${LOAD:-target/release/examples/subscribers}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
. "$(dirname "$0")/lib.sh"
export DATABASE_URL="$PG/$DB"
PORT=$(free_port)
KEY=$(admin_key "$DATABASE_URL" "public delay")
# The reads every 20 ms and the subscribers come from one address: its budgets are raised.
JAMINAN_ANONYMOUS_REQUESTS_PER_MINUTE=100000000 JAMINAN_KEY_REQUESTS_PER_MINUTE=100000000 \
JAMINAN_WEBSOCKETS_PER_CALLER=100000 RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT
wait_up "$PORT"
"$LOAD" --url "http://127.0.0.1:$PORT" --admin "$KEY" --subscribers "$SUBSCRIBERS" --events "$EVENTS" --year "$YEAR" --anonymous
