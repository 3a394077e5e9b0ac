#!/usr/bin/env bash
# `jaminan audit verify` over ENTRIES audit entries (default 10,000), on SQLite and on
# PostgreSQL: the entries are appended through the server's own `audit::record` (the
# `audit_entries` example), then verify runs RUNS times (default 3) and its own reported times
# are printed.
# Usage (release binaries built: cargo build --release --bin jaminan --example audit_entries):
#   bench/audit_verify.sh [ENTRIES] [RUNS]
set -euo pipefail
ENTRIES=${1:-10000}; RUNS=${2:-3}
BIN=${BIN:-target/release/jaminan}
APPEND=${APPEND:-target/release/examples/audit_entries}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

verify() { # url label
  DATABASE_URL="$1" "$APPEND" --entries "$ENTRIES"
  for _ in $(seq "$RUNS"); do
    echo "$2: $(DATABASE_URL="$1" "$BIN" audit verify 2>&1 | head -1)"
  done
}

verify "sqlite://$W/audit.db?mode=rwc" sqlite
if command -v psql >/dev/null && psql -X -q "$PG/postgres" -c "SELECT 1" >/dev/null 2>&1; then
  DB=jaminan_auditbench
  psql -X -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  verify "$PG/$DB" postgres
  psql -X -q "$PG/postgres" -c "DROP DATABASE $DB WITH (FORCE)"
else
  echo "postgres: not reachable at $PG, skipped"
fi
