#!/usr/bin/env bash
# Two builds compared back to back (BENCHMARKS.md, "Comparing two builds").
#
#   platform/loadgen/bench/compare.sh main HEAD            # 3 rounds of A, B; 16 shoppers, 30 s
#   ROUNDS=5 SHOPPERS=32 DURATION=60 platform/loadgen/bench/compare.sh 4148701 40acea7
#   RATE=40 platform/loadgen/bench/compare.sh HEAD~1 HEAD  # both at 40 checkouts/s
#   SHOPPERS=32 DURATION=60 IDLE=20 platform/loadgen/bench/compare.sh HEAD  # one build only
#   platform/loadgen/bench/compare.sh target/release        # binaries built already
#
# This machine's speed drifts by ±30 % from minute to minute, so a figure measured on one build
# an hour ago says little about a figure measured on another now. Only ratios of runs made back
# to back count: this script builds both refs and runs them interleaved A, B, A, B, ... so that
# drift hits both alike, and reports B/A.
#
# One argument: runs that build only, ROUNDS times, and prints its medians (no ratio). A ref may
# also be a directory holding `commerce` and `loadgen` built already (e.g. target/release),
# used as it is: no checkout, no build (say in the record which commit it holds).
#
# Builds: each ref (any git ref; A_REF and B_REF may name the same commit, which is then built
# once and run as both) is checked out with `git worktree add --detach` into
# COMPARE_DIR/<short sha>/src and built with `cargo build --release -p commerce -p loadgen`
# into COMPARE_DIR/<short sha>/target, so that a rerun only rebuilds what changed (nothing,
# for a commit). COMPARE_DIR defaults to /tmp/commerce-compare; remove a commit's directory
# and run `git worktree prune` to reclaim it.
#
# Runs: ROUNDS (3) rounds of A then B, each on a fresh PostgreSQL database, the server started
# by lib.sh's start_server with the same settings (per-address checkout rate limit off, event
# delivery off), the load generator of the same build with the same arguments: SHOPPERS (16)
# for DURATION (30) seconds after WARMUP (0), restocked, paced at RATE checkouts/s when set,
# in the flow FLOW names (lib.sh: full, the default, or plain, without promotion codes or
# shipping). Per run: completed
# checkouts per second (the load generator's throughput), committed PostgreSQL transactions
# and server CPU ms (utime + stime) per completed checkout, counted from just before the load
# until SETTLE (3) seconds after it, the server's peak RSS (VmHWM) and, when the load
# generator's JSON summary has them, the p50/p99 of checkout submitted → completed and of
# add-to-cart, and status requests (`GET /v1/checkouts/{id}`) per completed checkout. With
# IDLE (0) seconds, the server is first left idle that long after its start and the
# transactions committed meanwhile give the rate of its timer-driven work (projectors,
# deadlines, workers polling): `idle_txns/s`, and `timer_txns/checkout`, that rate over the
# counted span divided by the completed checkouts (an estimate: under load some of those
# polls find work instead). Then the median of each figure per build and the ratio B/A.
#
# Exit status: 0; 1 when a run's audit failed (or its load generator printed no summary);
# 2 on bad arguments or a failed build. Logs stay in a temporary directory (printed last).
# Needs git, cargo, PostgreSQL (BENCH_PG, as lib.sh) and python3.
set -euo pipefail
cd "$(dirname "$0")/../../.."

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 A_REF [B_REF]" >&2
  exit 2
fi
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-0}"
SHOPPERS="${SHOPPERS:-16}"
# Checkouts started per second (loadgen --rate); empty: as many as the shoppers can.
RATE="${RATE:-}"
SETTLE="${SETTLE:-3}"
IDLE="${IDLE:-0}"
PORT="${PORT:-8094}"
COMPARE_DIR="${COMPARE_DIR:-/tmp/commerce-compare}"
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d /tmp/compare-bench.XXXXXX)
BIN=""
# shellcheck source=lib.sh
. platform/loadgen/bench/lib.sh

cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# build REF: checks REF out (once per commit) and builds its server and load generator; prints
# the directory holding the binaries. Build output goes to COMPARE_DIR/<sha>/build.log. A
# directory holding both binaries is that directory, unbuilt.
build() {
  local sha dir
  if [ -d "$1" ]; then
    if [ -x "$1/commerce" ] && [ -x "$1/loadgen" ]; then cd "$1" && pwd; return; fi
    echo "$1 holds no commerce and loadgen binaries" >&2
    exit 2
  fi
  sha=$(git rev-parse --verify --quiet "$1^{commit}") || { echo "not a commit: $1" >&2; exit 2; }
  dir="$COMPARE_DIR/${sha:0:12}"
  mkdir -p "$dir"
  if [ "$(git -C "$dir/src" rev-parse HEAD 2>/dev/null)" != "$sha" ]; then
    # -f: also when an earlier checkout there was deleted without `git worktree prune`.
    git worktree add -f --detach "$dir/src" "$sha" > "$dir/worktree.log" 2>&1 \
      || { cat "$dir/worktree.log" >&2; exit 2; }
  fi
  echo "building $1 (${sha:0:12}) in $dir (log: $dir/build.log)" >&2
  if ! (cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" nice cargo build --release --locked \
        -p commerce -p loadgen) > "$dir/build.log" 2>&1; then
    tail -20 "$dir/build.log" >&2
    echo "the build of $1 failed" >&2
    exit 2
  fi
  echo "$dir/target/release"
}

# figures FILE: the load generator's JSON summary (its last line) as "throughput invariants
# c2c_p50 c2c_p99 add_p50 add_p99 completed polls" ("-" for what an older summary lacks;
# invariants "none" when there is no summary).
figures() {
  tail -1 "$1" | python3 -c '
import json, sys
try:
    j = json.loads(sys.stdin.read())
except ValueError:
    print("- none - - - - 0 -"); sys.exit()
lat = j.get("latency_ms", {})
def p(metric, pct):
    return lat.get(metric, {}).get(pct) or "-"
print(j.get("throughput_per_s", "-"), j.get("invariants", "none"),
      p("checkout_to_completed", "p50_ms"), p("checkout_to_completed", "p99_ms"),
      p("add_item", "p50_ms"), p("add_item", "p99_ms"), j.get("completed", 0),
      lat.get("checkout_poll", {}).get("count", "-"))'
}

# run BUILD ROUND: one measured run of build BUILD (A or B, its binaries in BIN_A or BIN_B);
# prints its line and appends its figures to $WORK/runs.
FIGURES="checkouts/s txns/checkout cpu_ms/checkout peak_rss_MB c2c_p50_ms c2c_p99_ms add_p50_ms add_p99_ms polls/checkout idle_txns/s timer_txns/checkout"
run() {
  local build=$1 round=$2
  local db="commerce_bench_compare_${build,,}_$round"
  if [ "$build" = A ]; then BIN=$BIN_A; else BIN=$BIN_B; fi
  fresh_db "$db"
  start_server "$WORK/server-$build-$round.log" DATABASE_URL="$PG/$db" \
    COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT" COMMERCE_DATA_DIR="$WORK/data-$build-$round" \
    RUST_LOG=warn COMMERCE_CHECKOUT_RATE_PER_MINUTE=0
  local cpu0 tx0 cpu1 tx1 rss t0 t1 idle_rate=-
  if [ "$IDLE" -gt 0 ]; then
    local i0 i1 s0 s1
    i0=$(commits "$db"); s0=$(date +%s.%N)
    sleep "$IDLE"
    i1=$(commits "$db"); s1=$(date +%s.%N)
    idle_rate=$(awk -v a="$i0" -v b="$i1" -v s="$s0" -v e="$s1" 'BEGIN { printf "%.3f", (b - a) / (e - s) }')
  fi
  cpu0=$(cpu_ms "$SERVER_PID"); tx0=$(commits "$db"); t0=$(date +%s.%N)
  local pace=()
  [ -n "$RATE" ] && pace=(--rate "$RATE")
  local out="$WORK/loadgen-$build-$round.txt"
  "$BIN/loadgen" --base-url "$BASE" --shoppers "$SHOPPERS" --duration-secs "$DURATION" \
    --warmup-secs "$WARMUP" --restock 100000 "${pace[@]}" > "$out" 2>&1 || true
  sleep "$SETTLE"
  cpu1=$(cpu_ms "$SERVER_PID"); tx1=$(commits "$db"); t1=$(date +%s.%N)
  rss=$(awk '$1 == "VmHWM:" { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
  stop_server
  drop_db "$db"
  local tput audit c50 c99 a50 a99 completed polls
  read -r tput audit c50 c99 a50 a99 completed polls < <(figures "$out")
  [ "$completed" -gt 0 ] || completed=1
  local row extra
  row=$(awk -v c="$completed" -v cpu="$((cpu1 - cpu0))" -v tx="$((tx1 - tx0))" \
    'BEGIN { printf "%.3f %.3f", tx / c, cpu / c }')
  extra=$(awk -v c="$completed" -v p="$polls" -v r="$idle_rate" -v s="$t0" -v e="$t1" 'BEGIN {
    printf "%s %s %s", (p == "-" ? "-" : sprintf("%.3f", p / c)), r,
      (r == "-" ? "-" : sprintf("%.3f", r * (e - s) / c)) }')
  row="$tput $row $rss $c50 $c99 $a50 $a99 $extra"
  echo "$build $round $audit $row" >> "$WORK/runs"
  # shellcheck disable=SC2086 # row is a list of words
  printf 'round %s %s  checkouts/s %7s  txns/checkout %7s  cpu_ms/checkout %7s  peak_rss_MB %6s  c2c p50/p99 %s/%s ms  add p50/p99 %s/%s ms  polls/checkout %s  idle_txns/s %s  timer_txns/checkout %s  audit %s\n' \
    "$round" "$build" $row "$audit"
  if [ "$audit" != PASS ]; then echo "  audit $audit: see $out" >&2; fi
}

# column BUILD N: the median of figure N (1-based, in FIGURES order) over BUILD's runs, or "-".
column() {
  local values
  values=$(awk -v b="$1" -v n="$(($2 + 3))" '$1 == b && $n != "-" { print $n }' "$WORK/runs")
  if [ -n "$values" ]; then echo "$values" | median | awk '{ printf "%.3f", $1 }'; else echo -; fi
}

# what REF: the commit REF names (short), or the directory it names.
what() {
  if [ -d "$1" ]; then (cd "$1" && pwd); else git rev-parse --short=12 "$1^{commit}" 2>/dev/null || true; fi
}
ONE=""
[ $# -eq 1 ] && ONE=1
SHA_A=$(what "$1")
BIN_A=$(build "$1")
if [ -n "$ONE" ]; then
  echo "A = $1 ($SHA_A)  one build only  $ROUNDS rounds, $SHOPPERS shoppers, ${DURATION} s${RATE:+ at $RATE checkouts/s}, FLOW=$FLOW"
else
  SHA_B=$(what "$2")
  if [ "$SHA_A" = "$SHA_B" ]; then BIN_B=$BIN_A; else BIN_B=$(build "$2"); fi
  echo "A = $1 ($SHA_A)  B = $2 ($SHA_B)  $ROUNDS rounds, $SHOPPERS shoppers, ${DURATION} s${RATE:+ at $RATE checkouts/s}, FLOW=$FLOW"
fi

: > "$WORK/runs"
for round in $(seq 1 "$ROUNDS"); do
  run A "$round"
  [ -n "$ONE" ] || run B "$round"
done

echo
if [ -n "$ONE" ]; then
  printf '%-20s %10s\n' "median of $ROUNDS" A
else
  printf '%-20s %10s %10s %8s\n' "median of $ROUNDS" A B B/A
fi
i=0
for name in $FIGURES; do
  i=$((i + 1))
  a=$(column A "$i")
  if [ -n "$ONE" ]; then printf '%-20s %10s\n' "$name" "$a"; continue; fi
  b=$(column B "$i")
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "-" || b == "-" || a == 0) print "-"; else printf "%.3f", b / a }')
  printf '%-20s %10s %10s %8s\n' "$name" "$a" "$b" "$ratio"
done
echo "logs in $WORK"
if awk '$3 != "PASS" { bad = 1 } END { exit !bad }' "$WORK/runs"; then
  echo "an audit failed (see the runs above)" >&2
  exit 1
fi
