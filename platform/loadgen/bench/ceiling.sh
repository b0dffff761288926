#!/usr/bin/env bash
# The request ceiling: GET /v1/products/{id} on the server next to bare actix-web answering a
# fixed product (BENCHMARKS.md, "Request ceiling").
#
#   platform/loadgen/bench/ceiling.sh                    # 3 rounds, 32 connections, 10 s
#   ROUNDS=5 CONNECTIONS=64 DURATION=20 platform/loadgen/bench/ceiling.sh
#   BIN=/tmp/other-build platform/loadgen/bench/ceiling.sh   # another build's binaries
#
# Starts the server (`commerce serve`, lib.sh's start_server: a fresh PostgreSQL database, the
# demo catalogue, RUST_LOG=warn) and the `ceiling` binary (bare actix-web, no middleware, no
# state: one fixed product of the server's shape and about its size), picks the first
# published product the server lists, then runs `loadgen get` with the same CONNECTIONS for
# DURATION seconds after WARMUP against the server's `GET /v1/products/{id}` and the bare
# binary's, alternating server, bare, server, bare, ... ROUNDS times so that the machine's
# drift hits both alike. Prints each run's requests/s, p50/p99 latency and errors, then the
# medians and the ratio server/bare (issue 12's target: at least 0.30). The load generator
# runs on the same cores as the server, as in every other bench here, so the ratio, not the
# absolute figure, is what carries over.
#
# Exit status: 0; 1 when a run had errors or no answers; 2 on a failed start.
# Needs release builds (`cargo build --release -p commerce -p loadgen`), PostgreSQL (BENCH_PG,
# as lib.sh), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/../../.."

ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-1}"
PORT="${PORT:-8096}"
CEILING_PORT="${CEILING_PORT:-8097}"
BIN="${BIN:-target/release}"
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d /tmp/ceiling-bench.XXXXXX)
DB=commerce_bench_ceiling
# shellcheck source=lib.sh
. platform/loadgen/bench/lib.sh

CEILING_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$CEILING_PID" ]; then kill "$CEILING_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

for binary in commerce loadgen ceiling; do
  if [ ! -x "$BIN/$binary" ]; then
    echo "$BIN/$binary is missing: cargo build --release -p commerce -p loadgen" >&2
    exit 2
  fi
done

fresh_db "$DB"
start_server "$WORK/server.log" DATABASE_URL="$PG/$DB" COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT" \
  COMMERCE_DATA_DIR="$WORK/data" RUST_LOG=warn COMMERCE_CHECKOUT_RATE_PER_MINUTE=0
"$BIN/ceiling" --listen "127.0.0.1:$CEILING_PORT" > "$WORK/ceiling.log" 2>&1 &
CEILING_PID=$!

PRODUCT=$(curl -sf "$BASE/v1/products?limit=1" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')
SERVER_URL="$BASE/v1/products/$PRODUCT"
BARE_URL="http://127.0.0.1:$CEILING_PORT/v1/products/$PRODUCT"
wait_until "$SERVER_URL" '"variants"'
wait_until "$BARE_URL" '"variants"'
curl -s -D "$WORK/server.headers" -o "$WORK/server.json" "$SERVER_URL"
curl -s -D "$WORK/bare.headers" -o "$WORK/bare.json" "$BARE_URL"
echo "product $PRODUCT: the server answers $(wc -c < "$WORK/server.json") bytes" \
  "($(wc -c < "$WORK/server.headers") of headers), the bare binary $(wc -c < "$WORK/bare.json")" \
  "($(wc -c < "$WORK/bare.headers"))"
echo "$ROUNDS rounds of server then bare, $CONNECTIONS connections, ${DURATION} s after ${WARMUP} s warm-up"

# run WHICH URL ROUND: one measured run; prints its line and appends
# "WHICH requests_per_s p50 p99 errors" to $WORK/runs.
run() {
  local which=$1 url=$2 round=$3 out="$WORK/get-$1-$3.txt"
  "$BIN/loadgen" get --url "$url" --connections "$CONNECTIONS" --duration-secs "$DURATION" \
    --warmup-secs "$WARMUP" > "$out" 2>&1 || true
  local figures
  figures=$(tail -1 "$out" | python3 -c '
import json, sys
try:
    j = json.loads(sys.stdin.read())
except ValueError:
    print("0 - - none"); sys.exit()
print(j["requests_per_s"], j["latency_ms"]["p50_ms"], j["latency_ms"]["p99_ms"], j["errors"])')
  echo "$which $figures" >> "$WORK/runs"
  # shellcheck disable=SC2086 # figures is a list of words
  printf 'round %s %-6s  requests/s %9s  p50 %7s ms  p99 %7s ms  errors %s\n' "$round" "$which" $figures
}

: > "$WORK/runs"
for round in $(seq 1 "$ROUNDS"); do
  run server "$SERVER_URL" "$round"
  run bare "$BARE_URL" "$round"
done
stop_server
drop_db "$DB"

# column WHICH N: the median of field N over WHICH's runs.
column() { awk -v w="$1" -v n="$2" '$1 == w { print $n }' "$WORK/runs" | median; }
echo
printf '%-14s %10s %10s %12s\n' "median of $ROUNDS" server bare server/bare
for field in 2:requests/s 3:p50_ms 4:p99_ms; do
  n=${field%%:*}; name=${field#*:}
  s=$(column server "$n"); b=$(column bare "$n")
  printf '%-14s %10s %10s %12s\n' "$name" "$s" "$b" \
    "$(awk -v s="$s" -v b="$b" 'BEGIN { if (b == 0) print "-"; else printf "%.3f", s / b }')"
done
echo "logs in $WORK"
if awk '$5 != 0 || $2 == 0 { bad = 1 } END { exit !bad }' "$WORK/runs"; then
  echo "a run had errors or no answers (see the logs)" >&2
  exit 1
fi
