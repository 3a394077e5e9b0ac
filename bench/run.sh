#!/usr/bin/env bash
# The national-scale benchmark (docs/performance.md), on PostgreSQL:
#   1. seeds N workers into a fresh database (skipped with REUSE=1 when it already holds them);
#   2. dashboard latencies, one client, p50/p99: national figures with provinces as children,
#      a province with its regencies, a regency with its districts, the ranking of all 514
#      regencies, a regency's trend 2019-2025;
#   3. the read load, 16 clients: worker page, worker detail, regency dashboard, and the server's
#      memory idle and after the load;
#   4. bench/side-by-side.sh: the same page and detail on PostGraphile 5 and the pgbench floor;
#   5. writes: enrollWorker one client at a time (p50), then 16 clients enrolling into 36.03, and
#      `stats verify` after them (last: its full scan evicts PostgreSQL's cache).
# Usage (from the project checkout): bench/run.sh [N] [DB]; needs wrk (apt-get install wrk), psql,
# pgbench, python3, and npm for PostGraphile (SKIP_PEER=1 leaves it out).
set -euo pipefail
N=${1:-10000000}; DB=${2:-jaminan_bench}; SECS=${SECS:-10}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
URL=$PG/$DB
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-target/release/jaminan}
. "$HERE/lib.sh"
[ -x "$BIN" ] || cargo build --release
W=$(mktemp -d)
cleanup() { kill ${SERVER:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; return 0; }
trap cleanup EXIT

[ "${REUSE:-0}" = 1 ] || seed_fresh "$URL" "$N"
KEY=$(admin_key "$URL" bench)
PORT=$(free_port)
# Load generators are not the clients the rate limits are for.
JAMINAN_KEY_REQUESTS_PER_MINUTE=100000000 JAMINAN_ANONYMOUS_REQUESTS_PER_MINUTE=100000000 \
DATABASE_URL=$URL RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT >"$W/server.log" 2>&1 & SERVER=$!
wait_up "$PORT"
rss() { grep "$1" /proc/$SERVER/status | awk '{print $2 / 1024 " MB"}'; }

body() { request_body "$1" "$W/$2.json"; }
run() { # name clients [extra env]: one wrk run, its RESULT line
  local name=$1 clients=$2; shift 2
  # Two seconds of the same load first, not measured: new pooled connections, first preparations.
  if [ -f "$W/$name.json" ]; then
    env KEY="$KEY" "$@" wrk -t1 -c"$clients" -d2s -s "$HERE/graphql.lua" http://127.0.0.1:$PORT/graphql >/dev/null 2>&1
  fi
  env KEY="$KEY" "$@" wrk -t1 -c"$clients" -d"${SECS}s" -s "$HERE/graphql.lua" http://127.0.0.1:$PORT/graphql 2>"$W/$name.err" \
    | grep RESULT | sed "s/^RESULT/$name/"
}
FIGURES="coveredWorkers newlyCovered previousYearCovered growthRate targetWorkers targetProgress eligibleWorkers coverageRate premiumCost payoutsPaid payoutsPaidAmount payoutsPending"
CHILD="areaCode areaName coveredWorkers growthRate targetProgress coverageRate premiumCost payoutsPaid"
body "{ coverageStats(year: 2023) { $FIGURES byGender { gender coveredWorkers } children { $CHILD } } }" national
body "{ coverageStats(areaCode: \"36\", year: 2023) { $FIGURES byOccupation { occupation coveredWorkers } children { $CHILD } } }" province
body "{ coverageStats(areaCode: \"36.03\", year: 2023) { $FIGURES byOccupation { occupation coveredWorkers } byGender { gender coveredWorkers } children { $CHILD } } }" regency
body "{ coverageRanking(year: 2023, by: TARGET_PROGRESS, first: 514) { areaCode areaName coveredWorkers targetWorkers targetProgress } }" ranking
body "{ coverageTrend(areaCode: \"36.03\", fromYear: 2019, toYear: 2025) { year coveredWorkers newlyCovered growthRate premiumCost payoutsPaid } }" trend
read_bodies "$URL" "$W"
body "{ regency(code: \"36.03\") { name target(year: 2023) { targetWorkers eligibleWorkers budget } coverage(year: 2023) { $FIGURES byOccupation { occupation coveredWorkers } children { areaCode areaName coveredWorkers } } coverageTrend(fromYear: 2021, toYear: 2023) { year coveredWorkers newlyCovered growthRate } } }" dashboard

echo "== server memory idle: $(rss VmRSS)"
echo "== dashboards, 1 client (p50/p99)"
for q in national province regency ranking trend; do run "$q" 1 BODY="$W/$q.json"; done

echo "== read load, 16 clients"
for q in page detail dashboard; do run "$q" 16 BODY="$W/$q.json"; done
echo "== server memory after the load: $(rss VmRSS) (peak $(rss VmHWM))"
if [ "${SKIP_PEER:-0}" != 1 ]; then
  echo "== side by side (bench/side-by-side.sh), 16 clients"
  BIN=$BIN "$HERE/side-by-side.sh" "$DB" "$SECS" 16
fi

echo "== enrollWorker into 36.03 for 2024 (workers of 36.03 without coverage in 2024)"
psql -X -Atc "SELECT w.id FROM worker w WHERE w.regency_code = '36.03' AND w.status = 'ALIVE'
  AND NOT EXISTS (SELECT 1 FROM coverage c WHERE c.worker_id = w.id AND c.regency_code = '36.03'
                  AND (c.ends_on IS NULL OR c.ends_on >= '2024-01-01')) ORDER BY w.id" "$URL" > "$W/ids"
ENROLL='mutation($id: ID!) { enrollWorker(input: { workerId: $id, regencyCode: \"36.03\", fundingSource: APBD, startsOn: \"2024-01-01\", endsOn: \"2024-12-31\" }) { id } }'
echo "   $(wc -l < "$W/ids") candidates"
SECS=5 run enroll_1_client 1 QUERY="$ENROLL" IDS="$W/ids" OFFSET=0
SECS=5 run enroll_16_clients 16 QUERY="$ENROLL" IDS="$W/ids" OFFSET=$(( $(wc -l < "$W/ids") / 2 ))
echo "   summaries after the enrollments: $(DATABASE_URL=$URL "$BIN" stats verify 2>/dev/null | tail -1)"


