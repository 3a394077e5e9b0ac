#!/usr/bin/env bash
# `jaminan seed --workers N` against a bare load of the same rows, on PostgreSQL, in one run:
# the bare load COPYs the seed's worker, coverage and payout rows (written as COPY text by
# `jaminan seed --tsv`) into the migrated tables stripped of their indexes and constraints, then
# builds the keys and indexes again (no foreign keys, no summaries, no generation), with the same
# maintenance_work_mem the seed uses. Prints both times and their ratio.
# Usage (from the project checkout, release binary built): bench/seed-vs-bare.sh N [DB prefix]
set -euo pipefail
N=${1:-1000000}; PREFIX=${2:-jaminan_seedbench}
BIN=${BIN:-target/release/jaminan}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
for db in "${PREFIX}_seed" "${PREFIX}_bare"; do
  psql "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  DATABASE_URL="$PG/$db" "$BIN" migrate >/dev/null 2>&1
done
psql "$PG/postgres" -c CHECKPOINT

start=$(date +%s.%N)
DATABASE_URL="$PG/${PREFIX}_seed" "$BIN" seed --workers "$N" 2>/dev/null | tail -1
seed=$(echo "$(date +%s.%N) - $start" | bc)

DATABASE_URL="$PG/${PREFIX}_bare" "$BIN" seed --workers "$N" --tsv "$W" >/dev/null 2>&1
BARE="$PG/${PREFIX}_bare"
tables="'worker'::regclass, 'coverage'::regclass, 'payout'::regclass"
# Keys and indexes as the migrations made them (foreign keys are dropped and not rebuilt).
command psql -X -At "$BARE" -c "SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s;', conrelid::regclass, conname, pg_get_constraintdef(oid)) FROM pg_constraint WHERE contype IN ('p','u') AND conrelid IN ($tables)" > "$W/keys.sql"
command psql -X -At "$BARE" -c "SELECT pg_get_indexdef(indexrelid) || ';' FROM pg_index i WHERE indrelid IN ($tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)" > "$W/indexes.sql"
command psql -X -At "$BARE" -c "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname) FROM pg_constraint WHERE contype = 'f' AND (conrelid IN ($tables) OR confrelid IN ($tables)) UNION ALL SELECT * FROM (SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname) FROM pg_constraint WHERE contype IN ('p','u') AND conrelid IN ($tables)) k UNION ALL SELECT format('DROP INDEX %s;', indexrelid::regclass) FROM pg_index i WHERE indrelid IN ($tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)" > "$W/drop.sql"
psql "$BARE" -f "$W/drop.sql"
psql "$PG/postgres" -c CHECKPOINT
start=$(date +%s.%N)
psql "$BARE" <<SQL
BEGIN;
SET LOCAL maintenance_work_mem = '1GB';
\copy worker FROM '$W/worker.tsv'
\copy coverage FROM '$W/coverage.tsv'
\copy payout FROM '$W/payout.tsv'
\i $W/keys.sql
\i $W/indexes.sql
COMMIT;
SQL
bare=$(echo "$(date +%s.%N) - $start" | bc)
python3 -c "import sys; n,s,b=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'seed {n} workers: jaminan seed {s:.1f}s ({n/s:,.0f} workers/s), bare COPY + CREATE INDEX {b:.1f}s ({n/b:,.0f} workers/s): {s/b:.2f}x')" "$N" "$seed" "$bare"
