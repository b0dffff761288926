#!/usr/bin/env bash
# What event delivery costs, and how fast it is (BENCHMARKS.md, "Event delivery").
#
#   platform/loadgen/bench/event-delivery.sh cost   # interleaved off/on pairs
#   RATE=40 platform/loadgen/bench/event-delivery.sh cost   # the same, at 40 checkouts/s
#   platform/loadgen/bench/event-delivery.sh lag    # commit-to-subscriber lag under load
#   BIN=/tmp/other-build platform/loadgen/bench/event-delivery.sh off   # one run, delivery off
#
# cost: runs the load generator against a fresh PostgreSQL database PAIRS times with delivery
# off (no NATS relay, no webhook endpoint) and on (the relay, plus one webhook endpoint for
# orders.* answered by the example receiver), alternating off, on, off, on, ... so that drift
# of the machine hits both alike. Per run it prints the completed checkouts, the server's CPU
# time per checkout (utime + stime from /proc) and the committed PostgreSQL transactions per
# checkout (pg_stat_database.xact_commit), counted from just before the load until the
# deliveries have caught up after it.
#
# off: one run with delivery off, the figures of `cost`; with BIN pointing at the binaries of
# another build, runs of two builds made back to back compare them.
#
# lag: one run with delivery on and `feedlag` subscribed through the long-poll, SSE and
# JetStream for the whole measured window.
#
# Needs release builds (`cargo build --release -p commerce -p loadgen` and
# `cargo build --release -p webhooks --example receiver`), PostgreSQL and NATS with JetStream.
set -euo pipefail
cd "$(dirname "$0")/../../.."

MODE="${1:-cost}"
NATS="${BENCH_NATS:-nats://127.0.0.1:4222}"
PAIRS="${PAIRS:-3}"
SECS="${SECS:-30}"
SHOPPERS="${SHOPPERS:-16}"
# Checkouts started per second in every run (loadgen --rate), so that off and on carry the
# same load; empty: as many as the shoppers can (the server saturated, and each run's own
# throughput spreads its fixed costs differently).
RATE="${RATE:-}"
# What "on" turns on: both (the default), relay or webhook.
DELIVERY="${DELIVERY:-both}"
PORT="${PORT:-8090}"
RECEIVER_PORT="${RECEIVER_PORT:-9009}"
BIN="${BIN:-target/release}"
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d /tmp/event-delivery.XXXXXX)
RUN_ID=$(date +%s)
# shellcheck source=lib.sh
. platform/loadgen/bench/lib.sh

RECEIVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$RECEIVER_PID" ] && kill "$RECEIVER_PID" 2>/dev/null || true
}
trap cleanup EXIT

# One measured run; prints "mode checkouts cpu_ms_per_checkout txns_per_checkout".
run() {
  local mode=$1 n=$2 feedlag=${3:-}
  local db="commerce_bench_delivery_${mode}_$n"
  local stream="BENCH_${RUN_ID}_$n"
  fresh_db "$db"
  local env=(DATABASE_URL="$PG/$db" COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT"
             COMMERCE_DATA_DIR="$WORK/data-$mode-$n" RUST_LOG=warn
             COMMERCE_CHECKOUT_RATE_PER_MINUTE=0)
  if [ "$mode" = on ] && [ "$DELIVERY" != webhook ]; then
    env+=(NATS_URL="$NATS" COMMERCE_NATS_STREAM="$stream"
          COMMERCE_NATS_SUBJECT_PREFIX="bench${RUN_ID}n$n")
  fi
  start_server "$WORK/server-$mode-$n.log" "${env[@]}"
  if [ "$mode" = on ] && [ "$DELIVERY" != relay ]; then
    local hook secret
    hook=$(curl -s -X POST "$BASE/v1/admin/webhooks" -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $COMMERCE_API_KEY" \
      -d "{\"url\":\"http://127.0.0.1:$RECEIVER_PORT/webhooks\",\"event_types\":[\"orders.*\"]}")
    secret=$(echo "$hook" | grep -o '"secret":"[^"]*"' | cut -d'"' -f4)
    WEBHOOK_SECRET="$secret" target/release/examples/receiver "127.0.0.1:$RECEIVER_PORT" \
      > "$WORK/receiver-$n.log" 2>&1 &
    RECEIVER_PID=$!
    sleep 0.5
  fi
  local cpu0 tx0 cpu1 tx1 sys0 sys1
  cpu0=$(cpu_ms "$SERVER_PID"); sys0=$(sys_ms "$SERVER_PID"); tx0=$(commits "$db")
  local feedlag_pid=""
  if [ -n "$feedlag" ]; then
    "$BIN/feedlag" --base-url "$BASE" --nats-url "$NATS" --nats-stream "$stream" \
      --duration-secs "$((SECS + 5))" > "$WORK/feedlag.txt" 2>&1 &
    feedlag_pid=$!
  fi
  local pace=()
  [ -n "$RATE" ] && pace=(--rate "$RATE")
  "$BIN/loadgen" --base-url "$BASE" --shoppers "$SHOPPERS" --duration-secs "$SECS" \
    --warmup-secs 0 --restock 100000 "${pace[@]}" > "$WORK/loadgen-$mode-$n.txt" 2>&1 || true
  [ -n "$feedlag_pid" ] && wait "$feedlag_pid"
  # Let the deliveries catch up with the last events before counting.
  sleep 3
  cpu1=$(cpu_ms "$SERVER_PID"); sys1=$(sys_ms "$SERVER_PID"); tx1=$(commits "$db")
  local done
  done=$(loadgen_completed "$WORK/loadgen-$mode-$n.txt")
  stop_server
  if [ -n "$RECEIVER_PID" ]; then kill "$RECEIVER_PID"; wait "$RECEIVER_PID" 2>/dev/null || true; RECEIVER_PID=""; fi
  drop_db "$db"
  awk -v m="$mode" -v c="$done" -v cpu="$((cpu1 - cpu0))" -v sys="$((sys1 - sys0))" -v tx="$((tx1 - tx0))" \
    'BEGIN { printf "%-3s checkouts %5d  cpu_ms/checkout %7.2f (kernel %6.2f)  txns/checkout %7.2f\n", m, c, cpu / c, sys / c, tx / c }'
  [ -n "$feedlag" ] && cat "$WORK/feedlag.txt"
  return 0
}

case "$MODE" in
  cost)
    for i in $(seq 1 "$PAIRS"); do
      run off "$i"
      run on "$i"
    done
    ;;
  off)
    run off 0
    ;;
  lag)
    run on 0 feedlag
    ;;
  *)
    echo "usage: $0 cost|off|lag" >&2
    exit 2
    ;;
esac
echo "logs in $WORK"
