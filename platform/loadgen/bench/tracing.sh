#!/usr/bin/env bash
# What exporting traces costs a checkout (BENCHMARKS.md, "Tracing export").
#
#   platform/loadgen/bench/tracing.sh cost      # interleaved off/on pairs, 16 shoppers
#   platform/loadgen/bench/tracing.sh latency   # interleaved off/on pairs, one shopper
#   RATE=40 SHOPPERS=32 platform/loadgen/bench/tracing.sh cost   # at 40 checkouts/s
#   ON_ENV='OTEL_TRACES_SAMPLER=always_off' platform/loadgen/bench/tracing.sh cost
#
# Every run is the load generator against a fresh PostgreSQL database, with telemetry off or
# on, alternating off, on, off, on, ... so that drift of the machine hits both alike.
#
# off: no OTEL_* variable and text logs, so the server installs no trace layer at all.
# on: the server exports traces and metrics over OTLP/HTTP (protobuf) to otlp-sink.py, a
# stand-in collector this script starts on SINK_PORT, which answers 200 and counts requests,
# bytes and spans; the batch span processor keeps its defaults (OTEL_BSP_*), sampling its
# default (every trace). ON_ENV adds variables to "on" only, e.g. OTEL_METRICS_EXPORTER=none
# or OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.1. An "on" run whose server
# sent no trace export fails the script, unless ALLOW_NO_TRACES is set (for ON_ENV such as
# OTEL_TRACES_SAMPLER=always_off, which keeps the trace layer but exports nothing).
#
# cost: SHOPPERS (16) for SECS (30) per run. Per run: completed checkouts, the server's CPU
# time per checkout (utime + stime from /proc) and committed PostgreSQL transactions per
# checkout (pg_stat_database.xact_commit), counted from just before the load until SETTLE (6)
# seconds after it, longer than the batch processor's 5 s schedule delay, so that the spans
# of the last checkouts are exported within the count. Per pair the on/off ratio of both, and
# their medians over the pairs.
#
# Each run's line also gives the load generator's status requests per checkout (long-polled
# since ADR 0032, so about 1; with `--checkout-wait-secs 0` one every 5 ms, growing with the
# checkout's latency, each a request and a span),
# the add-to-cart p50 and p95, the audit, the share of the machine's CPU that processes other
# than the server, PostgreSQL, the load generator and the sink took during the run ("others":
# compiles and tests of other work) and the hypervisor's steal: pairs run while either was
# high are worth less.
#
# latency: the same with ONE shopper (the server idle but for it); per run the add-to-cart
# (POST /v1/carts/{id}/items) p50 and p95 from the load generator, per pair the on - off
# difference of the p50, and its median over the pairs.
#
# Needs release builds (`cargo build --release -p commerce -p loadgen`; copy them aside and
# point BIN at the copy when others build in the same target dir), PostgreSQL, python3 and
# /usr/bin/time. The sink's CPU is not the server's, but it runs on the same cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."

MODE="${1:-cost}"
PAIRS="${PAIRS:-3}"
SECS="${SECS:-30}"
if [ "$MODE" = latency ]; then SHOPPERS=1; else SHOPPERS="${SHOPPERS:-16}"; fi
# Checkouts started per second (loadgen --rate); empty: as many as the shoppers can.
RATE="${RATE:-}"
SETTLE="${SETTLE:-6}"
ON_ENV="${ON_ENV:-}"
# Non-empty: an "on" run that exported no trace does not fail (for ON_ENV that turns them off).
ALLOW_NO_TRACES="${ALLOW_NO_TRACES:-}"
PORT="${PORT:-8093}"
SINK_PORT="${SINK_PORT:-14318}"
# Non-empty: the sink also counts spans per name (printed into the run's sink-*.json).
SINK_NAMES="${SINK_NAMES:-}"
BIN="${BIN:-target/release}"
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d /tmp/tracing-bench.XXXXXX)
# shellcheck source=lib.sh
. platform/loadgen/bench/lib.sh

SINK_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
}
trap cleanup EXIT

# json FILE EXPRESSION: EXPRESSION (python, over `j`) of the last line of FILE, as JSON.
json() {
  tail -1 "$1" | python3 -c "import json, sys; j = json.loads(sys.stdin.read()); print($2)"
}

# One measured run; prints its figures and leaves them in R_DONE, R_CPU, R_TX, R_P50.
run() {
  local mode=$1 n=$2
  local db="commerce_bench_tracing_${mode}_$n"
  fresh_db "$db"
  local env=(DATABASE_URL="$PG/$db" COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT"
             COMMERCE_DATA_DIR="$WORK/data-$mode-$n" RUST_LOG=warn
             COMMERCE_CHECKOUT_RATE_PER_MINUTE=0)
  if [ "$mode" = on ]; then
    local names=()
    [ -n "$SINK_NAMES" ] && names=(--names)
    python3 platform/loadgen/bench/otlp-sink.py "$SINK_PORT" "${names[@]}" \
      > "$WORK/sink-$n.log" 2>&1 &
    SINK_PID=$!
    wait_until "http://127.0.0.1:$SINK_PORT/stats" paths
    env+=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT")
    # shellcheck disable=SC2206 # ON_ENV is a list of VAR=VALUE words
    [ -n "$ON_ENV" ] && env+=($ON_ENV)
  fi
  start_server "$WORK/server-$mode-$n.log" "${env[@]}"
  local cpu0 tx0 cpu1 tx1 sys0 sys1
  # What the rest of the machine did meanwhile: all CPU time spent on it minus the server's,
  # PostgreSQL's, the load generator's and the sink's ("others": compiles, tests, ...).
  local busy0 pg0 sink0=0 t0 busy1 pg1 sink1=0 t1
  local steal0 steal1
  t0=$(date +%s%N); busy0=$(busy_ms); steal0=$(steal_ms); pg0=$(user_cpu_ms postgres)
  [ -n "$SINK_PID" ] && sink0=$(cpu_ms "$SINK_PID")
  cpu0=$(cpu_ms "$SERVER_PID"); sys0=$(sys_ms "$SERVER_PID"); tx0=$(commits "$db")
  local pace=()
  [ -n "$RATE" ] && pace=(--rate "$RATE")
  local out="$WORK/loadgen-$mode-$n.txt"
  /usr/bin/time -f '%U %S' -o "$WORK/loadgen-time-$mode-$n" \
    "$BIN/loadgen" --base-url "$BASE" --shoppers "$SHOPPERS" --duration-secs "$SECS" \
    --warmup-secs 0 --restock 100000 "${pace[@]}" > "$out" 2>&1 || true
  sleep "$SETTLE"
  cpu1=$(cpu_ms "$SERVER_PID"); sys1=$(sys_ms "$SERVER_PID"); tx1=$(commits "$db")
  [ -n "$SINK_PID" ] && sink1=$(cpu_ms "$SINK_PID")
  busy1=$(busy_ms); steal1=$(steal_ms); pg1=$(user_cpu_ms postgres); t1=$(date +%s%N)
  local loadgen_ms others
  loadgen_ms=$(awk '{ print int(($1 + $2) * 1000) }' "$WORK/loadgen-time-$mode-$n")
  others=$(( (busy1 - busy0) - (cpu1 - cpu0) - (pg1 - pg0) - loadgen_ms - (sink1 - sink0) ))
  local others_pct steal_pct
  others_pct=$(awk -v o="$others" -v w="$(( (t1 - t0) / 1000000 ))" -v n="$(nproc)" \
    'BEGIN { printf "%.0f", o * 100 / (w * n) }')
  steal_pct=$(awk -v o="$((steal1 - steal0))" -v w="$(( (t1 - t0) / 1000000 ))" -v n="$(nproc)" \
    'BEGIN { printf "%.0f", o * 100 / (w * n) }')
  stop_server
  drop_db "$db"
  R_DONE=$(loadgen_completed "$out")
  R_P50=$(json "$out" "j['latency_ms']['add_item']['p50_ms']")
  local p95 audit polls
  p95=$(json "$out" "j['latency_ms']['add_item']['p95_ms']")
  # Status requests per completed checkout: about 1 when long-polled; when polled every 5 ms
  # they grow with the checkout's latency, and every one costs the server a request and a read.
  polls=$(json "$out" "'%.1f' % (j['latency_ms']['checkout_poll']['count'] / max(j['completed'], 1))")
  audit=$(json "$out" "j['invariants']")
  R_CPU=$(awk -v c="$R_DONE" -v x="$((cpu1 - cpu0))" 'BEGIN { printf "%.3f", x / c }')
  R_TX=$(awk -v c="$R_DONE" -v x="$((tx1 - tx0))" 'BEGIN { printf "%.3f", x / c }')
  awk -v m="$mode" -v c="$R_DONE" -v cpu="$R_CPU" -v sys="$((sys1 - sys0))" -v tx="$R_TX" \
      -v p50="$R_P50" -v p95="$p95" -v a="$audit" -v polls="$polls" -v o="$others_pct" -v st="$steal_pct" \
    'BEGIN { printf "%-3s checkouts %5d  cpu_ms/checkout %7.2f (kernel %6.2f)  txns/checkout %7.2f  polls/checkout %s  add_item p50 %s p95 %s ms  audit %s  others %s %%  steal %s %%\n", m, c, cpu, sys / c, tx, polls, p50, p95, a, o, st }'
  if [ "$mode" = on ]; then
    # The server flushed what it still held when it stopped; the counts include that.
    curl -s "http://127.0.0.1:$SINK_PORT/stats" > "$WORK/sink-$n.json"
    local sink_cpu
    sink_cpu=$(cpu_ms "$SINK_PID")
    kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=""
    local traces
    traces=$(python3 -c "import json; print(json.load(open('$WORK/sink-$n.json'))['paths'].get('/v1/traces', {}).get('requests', 0))")
    python3 - "$WORK/sink-$n.json" "$R_DONE" "$sink_cpu" <<'EOF'
import json, sys
paths = json.load(open(sys.argv[1]))["paths"]
t = paths.get("/v1/traces", {"requests": 0, "bytes": 0, "spans": 0})
m = paths.get("/v1/metrics", {"requests": 0, "bytes": 0})
done = int(sys.argv[2]) or 1
print(f"    trace exports {t['requests']} ({t['bytes'] / 1e6:.1f} MB, {t['spans']} spans, "
      f"{t['spans'] / done:.1f} spans and {t['bytes'] / done / 1e3:.1f} kB per checkout)  "
      f"metric exports {m['requests']} ({m['bytes'] / 1e3:.1f} kB)  "
      f"sink CPU {int(sys.argv[3]) / done:.2f} ms per checkout (not the server's)")
EOF
    if [ "$traces" -eq 0 ] && [ -z "$ALLOW_NO_TRACES" ]; then
      echo "run on $n: the server exported no traces (see $WORK/server-on-$n.log)" >&2
      exit 1
    fi
  fi
}

# pct ON OFF: the change from OFF to ON, in percent.
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", (a / b - 1) * 100 }'; }

case "$MODE" in
  cost)
    cpu_changes=() tx_changes=()
    for i in $(seq 1 "$PAIRS"); do
      run off "$i"; off_cpu=$R_CPU off_tx=$R_TX off_done=$R_DONE
      run on "$i"
      cpu_changes+=("$(pct "$R_CPU" "$off_cpu")") tx_changes+=("$(pct "$R_TX" "$off_tx")")
      echo "pair $i: checkouts $off_done / $R_DONE  cpu_ms/checkout $off_cpu -> $R_CPU (${cpu_changes[-1]} %)  txns/checkout $off_tx -> $R_TX (${tx_changes[-1]} %)"
    done
    echo "median of $PAIRS pairs: cpu_ms/checkout $(printf '%s\n' "${cpu_changes[@]}" | median | awk '{ printf "%+.1f", $1 }') %  txns/checkout $(printf '%s\n' "${tx_changes[@]}" | median | awk '{ printf "%+.1f", $1 }') %"
    ;;
  latency)
    diffs=()
    for i in $(seq 1 "$PAIRS"); do
      run off "$i"; off_p50=$R_P50
      run on "$i"
      diffs+=("$(awk -v a="$R_P50" -v b="$off_p50" 'BEGIN { printf "%+.3f", a - b }')")
      echo "pair $i: add_item p50 $off_p50 -> $R_P50 ms (${diffs[-1]} ms)"
    done
    echo "median of $PAIRS pairs: add_item p50 $(printf '%s\n' "${diffs[@]}" | median | awk '{ printf "%+.3f", $1 }') ms"
    ;;
  *)
    echo "usage: $0 cost|latency" >&2
    exit 2
    ;;
esac
echo "logs in $WORK"
