#!/usr/bin/env bash
# Where the transactions of a checkout go (BENCHMARKS.md, "Where the transactions of a
# checkout go"): which requests and background steps commit how many PostgreSQL transactions.
#
#   platform/loadgen/bench/txn-profile.sh                 # 20 checkouts, one shopper
#   CHECKOUTS=50 FLOW=plain platform/loadgen/bench/txn-profile.sh
#   SHOPPERS=32 CHECKOUTS=400 platform/loadgen/bench/txn-profile.sh   # by kind under load
#
# Creates a fresh database, sets log_min_duration_statement = 0 on it alone (ALTER DATABASE:
# every statement of its sessions is logged with its parameters, nothing of other databases),
# starts the server with its request log on (JSON), leaves it idle IDLE (20) seconds, then runs
# SHOPPERS (1) shoppers until CHECKOUTS checkouts were started, in the flow FLOW names (lib.sh).
# With more than one shopper requests overlap: the table by request is then only indicative,
# the one by kind holds. Then
# txn-tally.py reads the part of PostgreSQL's log written meanwhile (PG_LOG, read as root or
# the postgres user) and prints the transactions committed per completed checkout by the
# request whose span covers them, and by what they did (events appended or loaded, by
# aggregate type; read models; idempotency keys; ...), and the idle rate by kind. Statement
# logging slows PostgreSQL down: read counts from it, not times.
#
# Needs release builds (`cargo build --release -p commerce -p loadgen`), PostgreSQL (BENCH_PG,
# as lib.sh) whose log_line_prefix starts with '%m [%p] ' and ends with '%q%u@%d ' (Debian's
# default), and python3.
set -euo pipefail
cd "$(dirname "$0")/../../.."

CHECKOUTS="${CHECKOUTS:-20}"
SHOPPERS="${SHOPPERS:-1}"
IDLE="${IDLE:-20}"
PORT="${PORT:-8098}"
BIN="${BIN:-target/release}"
PG_LOG="${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}"
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d /tmp/txn-profile.XXXXXX)
DB=commerce_bench_txn_profile
# shellcheck source=lib.sh
. platform/loadgen/bench/lib.sh

cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

[ -r "$PG_LOG" ] || { echo "cannot read PostgreSQL's log $PG_LOG (PG_LOG)" >&2; exit 2; }
fresh_db "$DB"
psql_admin "ALTER DATABASE $DB SET log_min_duration_statement = 0" >/dev/null
psql_admin "ALTER DATABASE $DB SET log_parameter_max_length = 80" >/dev/null
offset=$(stat -c %s "$PG_LOG")
start_server "$WORK/server.log" DATABASE_URL="$PG/$DB" COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT" \
  COMMERCE_DATA_DIR="$WORK/data" RUST_LOG=warn,rest=info COMMERCE_LOG_FORMAT=json \
  COMMERCE_CHECKOUT_RATE_PER_MINUTE=0
sleep 2
idle_from=$(date +%s.%N)
sleep "$IDLE"
idle_to=$(date +%s.%N)
echo "$idle_from $idle_to" > "$WORK/idle"
"$BIN/loadgen" --base-url "$BASE" --shoppers "$SHOPPERS" --checkouts "$CHECKOUTS" --duration-secs 600 \
  --warmup-secs 0 --restock 100000 > "$WORK/loadgen.txt" 2>&1 || true
sleep 2
stop_server
tail -c +$((offset + 1)) "$PG_LOG" > "$WORK/pg.log"
drop_db "$DB"
completed=$(loadgen_completed "$WORK/loadgen.txt")
audit=$(tail -1 "$WORK/loadgen.txt" | grep -o '"invariants":"[A-Z]*"' || true)
echo "FLOW=$FLOW, $completed checkouts completed, $audit"
# (Rerun on the logs kept: txn-tally.py WORK/pg.log WORK/server.log DB COMPLETED $(cat WORK/idle).)
python3 platform/loadgen/bench/txn-tally.py "$WORK/pg.log" "$WORK/server.log" "$DB" \
  "$completed" "$idle_from" "$idle_to"
echo "logs in $WORK"
