# Steps the benchmark scripts share; sourced (`. "$HERE/lib.sh"`), never run. They use BIN, the
# jaminan binary measured.

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# seed_fresh URL N: the database at URL made anew, migrated, and seeded with N workers.
seed_fresh() {
  local url=$1 workers=$2
  psql -X -q "${url%/*}/postgres" -c "DROP DATABASE IF EXISTS ${url##*/} WITH (FORCE)" -c "CREATE DATABASE ${url##*/}"
  DATABASE_URL=$url "$BIN" migrate >/dev/null 2>&1
  echo "== seed"
  DATABASE_URL=$url "$BIN" seed --workers "$workers" 2>/dev/null | tail -1
}

# admin_key URL NAME: a new ADMIN key in the database at URL, printed.
admin_key() { DATABASE_URL=$1 "$BIN" api-key create --name "$2 $(date +%s%N)" --role admin 2>/dev/null | tail -1; }

# wait_up PORT: until the server on PORT answers /healthz (at most a minute).
wait_up() {
  for _ in $(seq 1 300); do curl -sf "127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.2; done
  echo "the server on port $1 did not answer within a minute" >&2
  return 1
}

# request_body QUERY FILE: a GraphQL request body with QUERY, written to FILE.
request_body() { python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1" > "$2"; }

# read_bodies URL DIR: the reads of the load (a page of 36.03's workers, one worker's detail by
# NIK) as DIR/page.json and DIR/detail.json.
read_bodies() {
  local nik
  nik=$(psql -X -Atc "SELECT nik FROM worker WHERE regency_code = '36.03' ORDER BY id LIMIT 1 OFFSET 100" "$1")
  request_body '{ regency(code: "36.03") { workers(first: 20) { edges { node { nik fullName occupation district { name } coverages { startsOn endsOn fundingSource } } } } } }' "$2/page.json"
  request_body "{ workerByNik(nik: \"$nik\") { id fullName gender occupation status regency { name } district { name } coverages { startsOn endsOn fundingSource monthlyPremium } payouts { status amount } } }" "$2/detail.json"
}

# copy_seed URL COPY BIN: the database COPY made anew from the seeded one at URL (a file copy:
# seconds, not a seed) and migrated by BIN, since an older binary refuses a database that a newer
# one migrated.
copy_seed() {
  local url=$1 copy=$2 bin=$3
  psql -X -q "${url%/*}/postgres" -c "DROP DATABASE IF EXISTS $copy WITH (FORCE)" \
    -c "CREATE DATABASE $copy TEMPLATE ${url##*/} STRATEGY FILE_COPY"
  DATABASE_URL=${url%/*}/$copy "$bin" migrate >/dev/null 2>&1
}

# cpu_ticks COMM|PID...: the CPU time (user + system, in clock ticks: 1/100 s) used so far by the
# processes with one of these command names (e.g. `postgres`) or ids, summed. A process that ended
# since an earlier reading takes its ticks with it: read around a run whose processes stay (a
# server and its pooled connections, after its warm-up).
cpu_ticks() {
  local names=" $* " sum=0 stat rest comm pid fields
  for stat in /proc/[0-9]*/stat; do
    { read -r rest < "$stat"; } 2>/dev/null || continue
    comm=${rest#*(}; comm=${comm%%)*}; pid=${rest%% *}
    [[ $names == *" $comm "* || $names == *" $pid "* ]] || continue
    read -ra fields <<< "${rest##*) }"
    sum=$((sum + fields[11] + fields[12]))
  done
  echo "$sum"
}
