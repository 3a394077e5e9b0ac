#!/usr/bin/env bash
# Reads with a person's access token against the same reads with an API key (issue: within 10%):
# bench/run.sh's worker page and worker detail, 16 clients, key and token rounds alternated on
# one server. The token comes from the real oidc-provider of the tests (tests/node/oidc.mjs,
# client_credentials, RS256), which the server reads its keys from (--oidc-issuer).
# Usage (from the project checkout): bench/token_reads.sh [N] [DB]; needs wrk, psql, python3, and
# Node with `npm ci --prefix tests/node`. REUSE=1 keeps a database already seeded.
set -euo pipefail
N=${1:-200000}; DB=${2:-jaminan_bench_tokens}; SECS=${SECS:-10}; ROUNDS=${ROUNDS:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
URL=$PG/$DB
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-target/release/jaminan}
AUDIENCE=https://jaminan.bench
. "$HERE/lib.sh"
[ -x "$BIN" ] || cargo build --release
W=$(mktemp -d)
cleanup() { kill ${SERVER:-} ${PROVIDER:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; return 0; }
trap cleanup EXIT

[ "${REUSE:-0}" = 1 ] || seed_fresh "$URL" "$N"
KEY=$(admin_key "$URL" bench)

# The provider ends when its stdin does: kept open by tail.
tail -f /dev/null | node "$HERE/../tests/node/oidc.mjs" "$AUDIENCE" 3600 > "$W/provider.json" 2>/dev/null &
PROVIDER=$!
for _ in $(seq 1 100); do [ -s "$W/provider.json" ] && break; sleep 0.1; done
ISSUER=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["issuer"])' "$W/provider.json")
TOKEN=$(curl -sf -X POST "$ISSUER/token" \
  -d "grant_type=client_credentials&client_id=central-admin&client_secret=central-admin-secret&resource=$AUDIENCE" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

PORT=$(free_port)
JAMINAN_KEY_REQUESTS_PER_MINUTE=100000000 JAMINAN_ANONYMOUS_REQUESTS_PER_MINUTE=100000000 \
DATABASE_URL=$URL RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT \
  --oidc-issuer "$ISSUER" --oidc-audience "$AUDIENCE" >"$W/server.log" 2>&1 & SERVER=$!
wait_up "$PORT"
read_bodies "$URL" "$W"

run() { # name credential: a warm-up of 2 s, then one measured wrk run, its RESULT line
  local name=$1 credential=$2 query=${1%%_*}
  env KEY="$credential" BODY="$W/$query.json" wrk -t1 -c16 -d2s -s "$HERE/graphql.lua" http://127.0.0.1:$PORT/graphql >/dev/null 2>&1
  env KEY="$credential" BODY="$W/$query.json" wrk -t1 -c16 -d"${SECS}s" -s "$HERE/graphql.lua" http://127.0.0.1:$PORT/graphql 2>/dev/null \
    | grep RESULT | sed "s/^RESULT/$name/"
}
echo "== 16 clients, key and token alternated, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  for q in page detail; do
    run "${q}_key" "$KEY"
    run "${q}_token" "$TOKEN"
  done
done
