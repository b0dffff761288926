#!/usr/bin/env bash
# What tracing costs a checkout, counted in instructions rather than timed (BENCHMARKS.md,
# "Tracing export"; ADR 0033).
#
#   platform/loadgen/bench/instructions.sh                 # 2 interleaved off/on pairs
#   PAIRS=3 CHECKOUTS=50 platform/loadgen/bench/instructions.sh
#
# This machine's speed drifts by up to 30 % from minute to minute, so timed CPU per checkout
# moves more between two runs of the same binary than tracing does. The number of
# instructions the server executes for the same work hardly moves. Per run:
#
# - the server runs under `valgrind --tool=callgrind` (user-space instructions of every
#   thread; the kernel's work, about 40 % of the server's CPU time, is not counted) on a
#   fresh PostgreSQL database, tracing off or on as in tracing.sh (on: OTLP/HTTP export to
#   otlp-sink.py);
# - one shopper runs 3 checkouts to warm up, the counters are zeroed, one shopper runs
#   CHECKOUTS (30) checkouts with the same seed, and the counters are dumped;
# - the counters are zeroed again and dumped after as long a time with no load: what the
#   idle server does in that time (timers, pool upkeep) is taken off.
#
# Printed: instructions per completed checkout with the idle count taken off, and per pair
# the on/off change. Counts still move by a few percent when other work runs on the machine
# (more wake-ups of the server's threads), so run it on a quiet machine, as the pairs here
# do.
#
# Needs valgrind (Debian: `apt-get install valgrind`), release builds
# (`cargo build --release -p commerce -p loadgen`; point BIN at a copy when others build in
# the same target dir), PostgreSQL and python3.
set -euo pipefail
cd "$(dirname "$0")/../../.."

PAIRS="${PAIRS:-2}"
CHECKOUTS="${CHECKOUTS:-30}"
PORT="${PORT:-8096}"
SINK_PORT="${SINK_PORT:-14320}"
BIN="${BIN:-target/release}"
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d /tmp/instructions-bench.XXXXXX)
# shellcheck source=lib.sh
. platform/loadgen/bench/lib.sh

if ! command -v valgrind > /dev/null || ! command -v callgrind_control > /dev/null; then
  echo "needs valgrind's callgrind: apt-get install valgrind" >&2
  exit 2
fi

SINK_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
}
trap cleanup EXIT

# instructions FILE: the instruction count of a callgrind dump.
instructions() { grep -h '^summary:\|^totals:' "$1" | head -1 | awk '{ print $2 }'; }

# One counted run; prints its figures and leaves the net instructions per checkout in R_NET.
run() {
  local mode=$1 n=$2
  local db="commerce_bench_instructions_${mode}_$n"
  fresh_db "$db"
  local env=(DATABASE_URL="$PG/$db" COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT"
             COMMERCE_DATA_DIR="$WORK/data-$mode-$n" RUST_LOG=warn
             COMMERCE_CHECKOUT_RATE_PER_MINUTE=0)
  if [ "$mode" = on ]; then
    python3 platform/loadgen/bench/otlp-sink.py "$SINK_PORT" > "$WORK/sink-$n.log" 2>&1 &
    SINK_PID=$!
    wait_until "http://127.0.0.1:$SINK_PORT/stats" paths
    env+=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT")
  fi
  local out="$WORK/callgrind-$mode-$n"
  # A server starting under valgrind gets 5 minutes to answer.
  SERVER_LAUNCHER="valgrind --tool=callgrind --callgrind-out-file=$out.%p" START_TRIES=3000 \
    start_server "$WORK/server-$mode-$n.log" "${env[@]}"
  "$BIN/loadgen" --base-url "$BASE" --shoppers 1 --duration-secs 3600 --checkouts 3 \
    --warmup-secs 0 --restock 100000 --seed 7 > "$WORK/warmup-$mode-$n.txt" 2>&1
  sleep 2
  callgrind_control -z "$SERVER_PID" > /dev/null 2>&1
  local t0 t1
  t0=$(date +%s)
  "$BIN/loadgen" --base-url "$BASE" --shoppers 1 --duration-secs 3600 \
    --checkouts "$CHECKOUTS" --warmup-secs 0 --seed 1 > "$WORK/loadgen-$mode-$n.txt" 2>&1
  t1=$(date +%s)
  callgrind_control -d "$SERVER_PID" > /dev/null 2>&1
  callgrind_control -z "$SERVER_PID" > /dev/null 2>&1
  sleep $((t1 - t0))
  callgrind_control -d "$SERVER_PID" > /dev/null 2>&1
  stop_server
  if [ -n "$SINK_PID" ]; then kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=""; fi
  drop_db "$db"
  local done_ loaded idle
  done_=$(loadgen_completed "$WORK/loadgen-$mode-$n.txt")
  loaded=$(instructions "$(ls "$out".*.1)")
  idle=$(instructions "$(ls "$out".*.2)")
  R_NET=$(awk -v l="$loaded" -v i="$idle" -v c="$done_" 'BEGIN { printf "%.0f", (l - i) / c }')
  echo "$mode completed $done_ in $((t1 - t0)) s  instructions $loaded, idle $idle  net per checkout $R_NET"
}

changes=()
for i in $(seq 1 "$PAIRS"); do
  run off "$i"; off_net=$R_NET
  run on "$i"
  changes+=("$(awk -v a="$R_NET" -v b="$off_net" 'BEGIN { printf "%+.1f", (a / b - 1) * 100 }')")
  echo "pair $i: instructions per checkout $off_net -> $R_NET (${changes[-1]} %)"
done
echo "median of $PAIRS pairs: instructions per checkout $(printf '%s\n' "${changes[@]}" | median | awk '{ printf "%+.1f", $1 }') %"
echo "logs in $WORK"
