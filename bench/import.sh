#!/usr/bin/env bash
# Bulk enrollment against PostgreSQL's own limit, in one run: a file of ROWS new workers for
# 36.03 is imported with `jaminan import enrollments` and, beside it, the same workers and
# coverage are loaded with a bare COPY into the same tables (then rolled back and vacuumed), into
# an empty database and into DB (a database already seeded, e.g. with 10 million workers).
# Then the cost of each index: the bare COPY with only that index left (in a rolled-back
# transaction that drops the others). Prints times, ratios, rows/s and the import's peak RSS.
# The same rows as an Excel workbook (the CSV imported into a scratch SQLite database and written
# back with `export enrollments --format xlsx`) are imported next to the CSV, into an empty
# database of each kind: the .xlsx target is 3x the CSV's time. XLSX_ONLY=1 skips the COPY
# baselines and the index costs (only the CSV and the .xlsx imports, into empty databases).
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
CONVERT="sqlite://$W/convert.db?mode=rwc"
DATABASE_URL="$CONVERT" "$BIN" migrate >/dev/null 2>&1
DATABASE_URL="$CONVERT" "$BIN" import enrollments "$W/enrollments.csv" --regency 36.03 >/dev/null 2>&1
start=$(now)
DATABASE_URL="$CONVERT" "$BIN" export enrollments --regency 36.03 --year 2026 --format xlsx "$W/enrollments.xlsx" >/dev/null
echo "workbook: $ROWS rows, $(du -h "$W/enrollments.xlsx" | cut -f1), exported in $(printf '%.1f' "$(since "$start")")s"
rm -f "$W/convert.db"*

# One import of FILE into an empty database at URL: seconds, then peak RSS in KB.
timed_import() { # url file
  local start; start=$(now)
  DATABASE_URL="$1" /usr/bin/time -f "%M" -o "$W/rss" "$BIN" import enrollments "$2" --regency 36.03 >/dev/null 2>&1
  echo "$(since "$start") $(cat "$W/rss")"
}

# CSV and .xlsx of the same rows, each into a fresh empty database of the kind.
csv_vs_xlsx() { # label fresh-url-command
  local label=$1 fresh=$2 csv xlsx
  csv=$(timed_import "$($fresh)" "$W/enrollments.csv")
  xlsx=$(timed_import "$($fresh)" "$W/enrollments.xlsx")
  python3 -c "import sys; n=int(sys.argv[1]); c,cr,x,xr=float(sys.argv[2]),int(sys.argv[3]),float(sys.argv[4]),int(sys.argv[5]); print(f'{sys.argv[6]}: CSV {c:.1f}s ({n/c:,.0f} rows/s, peak RSS {cr/1024:.0f} MB), .xlsx {x:.1f}s ({n/x:,.0f} rows/s, peak RSS {xr/1024:.0f} MB): {x/c:.2f}x')" \
    "$ROWS" $csv $xlsx "$label"
}
fresh_sqlite() { rm -f "$W/fresh.db"*; DATABASE_URL="sqlite://$W/fresh.db?mode=rwc" "$BIN" migrate >/dev/null 2>&1; echo "sqlite://$W/fresh.db?mode=rwc"; }
fresh_postgres() {
  psql "$PG/postgres" -c "DROP DATABASE IF EXISTS ${EMPTY}_x WITH (FORCE)" -c "CREATE DATABASE ${EMPTY}_x" >/dev/null
  DATABASE_URL="$PG/${EMPTY}_x" "$BIN" migrate >/dev/null 2>&1; echo "$PG/${EMPTY}_x"
}
csv_vs_xlsx "SQLite, empty" fresh_sqlite
csv_vs_xlsx "PostgreSQL, empty" fresh_postgres
psql "$PG/postgres" -c "DROP DATABASE IF EXISTS ${EMPTY}_x WITH (FORCE)"
if [ -n "${XLSX_ONLY:-}" ]; then
  psql "$PG/postgres" -c "DROP DATABASE IF EXISTS $EMPTY WITH (FORCE)"
  exit 0
fi

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
