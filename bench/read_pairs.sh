#!/usr/bin/env bash
# Reads of two or more binaries closely alternated on copies of one seed: bench/run.sh's worker
# page and worker detail (workerByNik), 16 clients, 8 s after 2 s of warm-up, a server per
# binary and round, the binaries' order turned each round (A B C, B C A, ...) so that neither
# always runs first after a copy or a checkpoint. Longer runs far apart (bench/run.sh) drift
# with the machine by more than the differences looked for; the pairs show them.
# Usage: DB=NAME bench/read_pairs.sh [ROUNDS]  (DB: a seeded database, left as it is)
#   VARIANTS="main=/tmp/jaminan-main head=target/release/jaminan"
set -euo pipefail
ROUNDS=${1:-3}; SECS=${SECS:-8}; CLIENTS=${CLIENTS:-16}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
DB=${DB:?the seeded database to read, e.g. DB=jaminan_bench10m}
VARIANTS=${VARIANTS:?label=binary ..., e.g. VARIANTS="main=/tmp/jaminan-main head=target/release/jaminan"}
W=$(mktemp -d)
cleanup() { kill ${SERVER:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; return 0; }
trap cleanup EXIT

read -r -a variants <<< "$VARIANTS"
for i in "${!variants[@]}"; do
  copy_seed "$PG/$DB" "${DB}_reads_$i" "${variants[$i]#*=}"
done
read_bodies "$PG/$DB" "$W"

for round in $(seq "$ROUNDS"); do
  for turn in "${!variants[@]}"; do
    i=$(( (turn + round - 1) % ${#variants[@]} ))
    label=${variants[$i]%%=*}; BIN=${variants[$i]#*=}; url=$PG/${DB}_reads_$i
    KEY=$(admin_key "$url" "reads $label $round")
    PORT=$(free_port)
    JAMINAN_KEY_REQUESTS_PER_MINUTE=100000000 DATABASE_URL=$url RUST_LOG=warn \
      "$BIN" serve --listen 127.0.0.1:$PORT >"$W/server.log" 2>&1 & SERVER=$!
    wait_up "$PORT"
    for read in page detail; do
      KEY=$KEY BODY="$W/$read.json" wrk -t1 -c"$CLIENTS" -d2s -s "$HERE/graphql.lua" \
        http://127.0.0.1:$PORT/graphql >/dev/null 2>&1
      result=$(KEY=$KEY BODY="$W/$read.json" wrk -t1 -c"$CLIENTS" -d"${SECS}s" -s "$HERE/graphql.lua" \
        http://127.0.0.1:$PORT/graphql 2>/dev/null | grep RESULT)
      echo "$(date +%T) round $round $label $read: ${result#RESULT }"
    done
    kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=
  done
done
for i in "${!variants[@]}"; do psql -X -q "$PG/postgres" -c "DROP DATABASE ${DB}_reads_$i WITH (FORCE)"; done
