#!/usr/bin/env bash
# What the audit chain costs the writes: 16 clients enrolling workers into 36.03, on PostgreSQL,
# with each binary and setting named, in rounds (A B C A B C ...) so that the machine's noise
# shows as the spread between rounds. One seed; each binary gets its own copy of the seeded
# database (CREATE DATABASE ... TEMPLATE), migrated by that binary, since an older binary refuses
# a database that a newer one migrated. Each run enrolls for a year of its own (2024, 2025, ...),
# so that every run has all the candidates (workers of 36.03 with no open-ended coverage).
# Usage: bench/audit_writes.sh [N] [ROUNDS]  (REUSE=1: the seeded database of a run with KEEP=1,
#   or DB=NAME REUSE=1: any seeded database, e.g. bench/run.sh's, which the copies leave as it is)
#   VARIANTS="main=/tmp/jaminan-main sealer=target/release/jaminan \
#             unchained=target/release/jaminan:JAMINAN_AUDIT_SEAL_MILLIS=0"
#   (label=binary[:VAR=value[,VAR=value...]]; a binary with the same path shares a database copy)
#   SOCKET=/var/run/postgresql: the servers connect through the Unix socket (default: $PG, TCP).
#   CHECKPOINT=0: no CHECKPOINT before each measured run. By default each run starts right after
#   one, so that no run pays for the pages another run (or a copy) left dirty: a checkpoint that
#   falls inside a 5-second run writes them out and slows that run's commits.
set -euo pipefail
N=${1:-2000000}; ROUNDS=${2:-2}; SECS=${SECS:-5}; CLIENTS=${CLIENTS:-16}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VARIANTS=${VARIANTS:-"sealer=target/release/jaminan unchained=target/release/jaminan:JAMINAN_AUDIT_SEAL_MILLIS=0"}
DB=${DB:-jaminan_auditwrites}
W=$(mktemp -d)
cleanup() { kill ${SERVER:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; return 0; }
trap cleanup EXIT
psqlc() { psql -X -q -At "$@"; }
# The host's microseconds so far in which every task waited on I/O (/proc/pressure/io, "full";
# 0 where the kernel has no pressure stall information). Over a run, as a share of its time, it
# tells a round slowed by the disk (a shared VM's neighbours) from one slowed by the code.
io_stalled() { sed -n 's/^full .*total=\([0-9]*\)/\1/p' /proc/pressure/io 2>/dev/null || echo 0; }
# Data pages written by the whole cluster so far (pg_stat_bgwriter: checkpoints, the background
# writer, the backends).
pages_written() {
  psqlc "$PG/postgres" -c "SELECT buffers_checkpoint + buffers_clean + buffers_backend FROM pg_stat_bgwriter"
}

first_bin=$(echo "$VARIANTS" | awk '{print $1}' | cut -d= -f2 | cut -d: -f1)
if [ "${REUSE:-0}" != 1 ]; then
  echo "== $N workers seeded by $first_bin"
  BIN=$first_bin seed_fresh "$PG/$DB" "$N"
fi
psqlc "$PG/$DB" -c "SELECT w.id FROM worker w WHERE w.regency_code = '36.03' AND w.status = 'ALIVE'
  AND NOT EXISTS (SELECT 1 FROM coverage c WHERE c.worker_id = w.id AND c.ends_on IS NULL) ORDER BY w.id" > "$W/ids"
echo "   $(wc -l < "$W/ids") candidates in 36.03"

declare -A copy_of=()
copies=0
for variant in $VARIANTS; do
  bin=$(echo "$variant" | cut -d= -f2- | cut -d: -f1)
  [ -n "${copy_of[$bin]:-}" ] && continue
  copies=$((copies + 1)); copy="${DB}_$copies"
  copy_seed "$PG/$DB" "$copy" "$bin"
  copy_of[$bin]=$copy
done

year=2024
for round in $(seq "$ROUNDS"); do
  for variant in $VARIANTS; do
    label=${variant%%=*}; spec=${variant#*=}; bin=${spec%%:*}; extra=""
    [ "$spec" != "$bin" ] && extra=${spec#*:}
    url=$PG/${copy_of[$bin]}
    KEY=$(BIN=$bin admin_key "$url" "bench $label $round")
    # SOCKET=/var/run/postgresql: the servers connect through PostgreSQL's Unix socket, as a
    # server on the database's own host would. Over 127.0.0.1 each round trip also pays TCP and a
    # TLS record on both sides (sslmode=prefer), on the two cores every process here shares.
    serve_url=$url
    [ -n "${SOCKET:-}" ] && serve_url="postgres:///${copy_of[$bin]}?host=$SOCKET&user=postgres"
    PORT=$(free_port)
    env ${extra//,/ } JAMINAN_KEY_REQUESTS_PER_MINUTE=100000000 DATABASE_URL=$serve_url RUST_LOG=warn \
      "$bin" serve --listen 127.0.0.1:$PORT >"$W/server.log" 2>&1 & SERVER=$!
    wait_up "$PORT"
    enroll() { echo "mutation(\$id: ID!) { enrollWorker(input: { workerId: \$id, regencyCode: \\\"36.03\\\", fundingSource: APBD, startsOn: \\\"$1-01-01\\\", endsOn: \\\"$1-12-31\\\" }) { id } }"; }
    # Two seconds not measured (new connections, first preparations), in a year of their own
    # (dates end in 2100). A warm-up whose enrollments failed warmed nothing: it stops the run.
    warm=$(KEY=$KEY QUERY="$(enroll $((year + 50)))" IDS="$W/ids" wrk -t1 -c"$CLIENTS" -d2s -s "$HERE/graphql.lua" \
      http://127.0.0.1:$PORT/graphql 2>&1 | grep -E "RESULT|failed:" | head -2)
    case "$warm" in *"failed=0"*) ;; *) echo "the warm-up failed: $warm" >&2; exit 1 ;; esac
    [ "${CHECKPOINT:-1}" = 1 ] && psqlc "$PG/postgres" -c "CHECKPOINT"
    wal_from=$(psqlc "$PG/postgres" -c "SELECT pg_current_wal_lsn()")
    io_from=$(io_stalled); io_started=$(date +%s%N); pages_from=$(pages_written)
    server_from=$(cpu_ticks $SERVER); pg_from=$(cpu_ticks postgres)
    result=$(KEY=$KEY QUERY="$(enroll $year)" IDS="$W/ids" wrk -t1 -c"$CLIENTS" -d"${SECS}s" -s "$HERE/graphql.lua" \
      http://127.0.0.1:$PORT/graphql 2>/dev/null | grep RESULT)
    io_full=$(( ($(io_stalled) - io_from) * 1000 / ( ($(date +%s%N) - io_started) / 1000 ) )) # per mille
    # CPU per enrollment (microseconds), the server's and PostgreSQL's (every process of the
    # cluster: backends, WAL writer, checkpointer), over the measured seconds: on 2 cores their
    # sum and wrk's cap the rate whatever the locks do.
    requests=$(echo "$result" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
    server_us=$(( ($(cpu_ticks $SERVER) - server_from) * 10000 / (requests > 0 ? requests : 1) ))
    pg_us=$(( ($(cpu_ticks postgres) - pg_from) * 10000 / (requests > 0 ? requests : 1) ))
    sleep 1 # the sealer's last rounds
    # Data pages the run dirtied, written out by the checkpoint that ends it or before (by the
    # background writer or the backends): the disk's share of the run besides the WAL.
    psqlc "$PG/postgres" -c "CHECKPOINT"
    # WAL written per enrollment (the whole cluster's, sealing included): what each commit has to
    # flush, and unlike the rate not moved by the machine's load.
    wal=$(psqlc "$PG/postgres" -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal_from') / GREATEST($requests, 1))")
    pages=$(psqlc "$PG/postgres" -c "SELECT round(($(pages_written) - $pages_from) * 8192.0 / GREATEST($requests, 1))")
    kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=
    verify=$(DATABASE_URL=$url "$bin" audit verify 2>&1 | grep -E "intact|broken|not yet sealed" | tr '\n' ' ')
    echo "$(date +%T) round $round $label ($CLIENTS clients, $year): ${result#RESULT } wal_bytes_each=$wal page_bytes_each=$pages server_us_each=$server_us pg_us_each=$pg_us io_full=$((io_full / 10)).$((io_full % 10))% | $verify"
    year=$((year + 1))
  done
done
# KEEP=1 keeps the seeded database and each binary's copy (for bench/run.sh with REUSE=1).
if [ "${KEEP:-0}" = 1 ]; then
  for bin in "${!copy_of[@]}"; do echo "kept: ${copy_of[$bin]} (migrated by $bin)"; done
else
  for copy in "${copy_of[@]}"; do psqlc "$PG/postgres" -c "DROP DATABASE $copy WITH (FORCE)"; done
  [ "${REUSE:-0}" = 1 ] || psqlc "$PG/postgres" -c "DROP DATABASE $DB WITH (FORCE)"
fi
