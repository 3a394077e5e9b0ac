#!/usr/bin/env bash
# Bulk enrollment against PostgreSQL's own limit, in one run: a file of ROWS new workers for
# 36.03 is imported with `jaminan import enrollments` and, beside it, the same workers and
# coverage are loaded with a bare COPY into the same tables (then rolled back and vacuumed), into
# an empty database and into DB (a database already seeded, e.g. with 10 million workers).
# Then the cost of each index: the bare COPY with only that index left (in a rolled-back
# transaction that drops the others). Prints times, ratios, rows/s and the import's peak RSS.
# Usage (release binary built): bench/import.sh [ROWS] [SEEDED_DB]
set -euo pipefail
ROWS=${1:-1000000}; SEEDED=${2:-}
BIN=${BIN:-target/release/jaminan}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

EMPTY=jaminan_importbench_empty
psql "$PG/postgres" -c "DROP DATABASE IF EXISTS $EMPTY WITH (FORCE)" -c "CREATE DATABASE $EMPTY"
DATABASE_URL="$PG/$EMPTY" "$BIN" migrate >/dev/null 2>&1
command psql -X -At "$PG/$EMPTY" -c "SELECT code FROM district WHERE regency_code = '36.03' ORDER BY code" > "$W/districts"
python3 bench/enrollment-file.py csv "$ROWS" "$W/districts" > "$W/enrollments.csv"
echo "file: $ROWS rows, $(du -h "$W/enrollments.csv" | cut -f1)"

run() { # database label
  local db=$1 label=$2 url="$PG/$1"
  local first; first=$(command psql -X -At "$url" -c "SELECT COALESCE(MAX(id), 0) + 1 FROM worker")
  python3 bench/enrollment-file.py tsv "$ROWS" "$W/districts" "$first" "$W"
  index_costs "$db" "$label"
  psql "$url" -c "VACUUM ANALYZE worker, coverage" -c CHECKPOINT
  local start; start=$(now)
  psql "$url" <<SQL
BEGIN;
\copy worker FROM '$W/worker.tsv'
\copy coverage (worker_id, regency_code, funding_source, programs, declared_monthly_income, monthly_premium, starts_on, ends_on, end_reason, created_at) FROM '$W/coverage.tsv'
ROLLBACK;
SQL
  local bare; bare=$(since "$start")
  psql "$url" -c "VACUUM worker, coverage" -c CHECKPOINT
  start=$(now)
  DATABASE_URL="$url" /usr/bin/time -f "%M" -o "$W/rss" "$BIN" import enrollments "$W/enrollments.csv" --regency 36.03 >/dev/null 2>&1
  local import; import=$(since "$start")
  python3 -c "import sys; n,i,b,r=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),int(sys.argv[4]); print(f'{sys.argv[5]}: import {i:.1f}s ({n/i:,.0f} rows/s, peak RSS {r/1024:.0f} MB), bare COPY {b:.1f}s: {i/b:.2f}x')" \
    "$ROWS" "$import" "$bare" "$(cat "$W/rss")" "$label"
  DATABASE_URL="$url" "$BIN" stats verify 2>/dev/null | tail -1
}

index_costs() { # database label
  local url="$PG/$1"
  echo "$2: bare COPY of the $ROWS rows per table with one index (or none) left"
  for table in worker coverage; do
    local file=$table columns=""
    [ "$table" = coverage ] && columns="(worker_id, regency_code, funding_source, programs, declared_monthly_income, monthly_premium, starts_on, ends_on, end_reason, created_at)"
    local indexes; indexes=$(command psql -X -At "$url" -c "SELECT indexrelid::regclass FROM pg_index WHERE indrelid = '$table'::regclass ORDER BY 1")
    for keep in none $indexes; do
      # Constraints own their indexes: drop them (foreign keys included), then the plain indexes.
      command psql -X -At "$url" -c "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I CASCADE;', conrelid::regclass, conname) FROM pg_constraint WHERE conrelid = '$table'::regclass AND contype IN ('p','u','f') AND (conindid = 0 OR conindid::regclass::text <> '$keep') UNION ALL SELECT format('DROP INDEX %s;', indexrelid::regclass) FROM pg_index i WHERE indrelid = '$table'::regclass AND indexrelid::regclass::text <> '$keep' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)" > "$W/drop.sql"
      psql "$url" -c CHECKPOINT
      local start; start=$(now)
      psql "$url" <<SQL
BEGIN;
SET LOCAL client_min_messages = warning;
\i $W/drop.sql
\copy $table $columns FROM '$W/$file.tsv'
ROLLBACK;
SQL
      printf '  %-10s %-40s %6.1fs\n' "$table" "$keep" "$(since "$start")"
    done
  done
}

run "$EMPTY" "empty database"
if [ -n "$SEEDED" ]; then
  n=$(command psql -X -At "$PG/$SEEDED" -c "SELECT COUNT(*) FROM worker")
  run "$SEEDED" "database with $n workers"
fi
# SQLite: the same file into an empty embedded database.
SQLITE="$W/bench.db"
DATABASE_URL="sqlite://$SQLITE?mode=rwc" "$BIN" migrate >/dev/null 2>&1
start=$(now)
DATABASE_URL="sqlite://$SQLITE?mode=rwc" /usr/bin/time -f "%M" -o "$W/rss" "$BIN" import enrollments "$W/enrollments.csv" --regency 36.03 >/dev/null 2>&1
t=$(since "$start")
python3 -c "import sys; n,t,r=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(f'SQLite, empty: import {t:.1f}s ({n/t:,.0f} rows/s, peak RSS {r/1024:.0f} MB)')" "$ROWS" "$t" "$(cat "$W/rss")"
psql "$PG/postgres" -c "DROP DATABASE IF EXISTS $EMPTY WITH (FORCE)"
