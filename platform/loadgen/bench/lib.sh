# shellcheck shell=bash
# Shared by the bench scripts (event-delivery.sh, tracing.sh, compare.sh); sourced, not run.
#
# The caller has `cd`ed to the workspace root and set BIN (the directory holding `commerce`
# and `loadgen`) and BASE (the server's base URL). Provides a fresh PostgreSQL database per
# run, starting and stopping the server (SERVER_PID), the server's CPU time from /proc, the
# database's committed transactions, a median, and what the whole machine spent (to tell how
# much other work ran beside a run).

PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
TICKS=$(getconf CLK_TCK)
SERVER_PID=""
# FLOW: which shopper flow the load generator runs (BENCHMARKS.md, "Baseline for issue 12").
#   full (default): its own default flow, the one issue 12's targets are set against: a guest
#         with a cart token who sets a shipping address and chooses a shipping method, a
#         promotion code on 30 % of checkouts, the checkout's status long-polled;
#   plain: no promotion codes and no shipping (LOADGEN_NO_PROMOTIONS, LOADGEN_NO_SHIPPING),
#         the flow of the BENCHMARKS.md figures measured before 2026-12-03.
# Through the environment, so that older builds of it (BIN pointing at an earlier commit) run
# unchanged: a build from before codes or shipping ignores the variables and runs without.
case "${FLOW:=full}" in
  full) export LOADGEN_NO_PROMOTIONS=0 LOADGEN_NO_SHIPPING=0 ;;
  plain) export LOADGEN_NO_PROMOTIONS=1 LOADGEN_NO_SHIPPING=1 ;;
  *) echo "FLOW must be full or plain, not $FLOW" >&2; exit 2 ;;
esac

# (Warnings only: no NOTICE for a DROP ... IF EXISTS of a database that is not there.)
psql_admin() { PGOPTIONS='--client-min-messages=warning' psql "$PG/postgres" -qtAc "$1"; }

fresh_db() { # drop and create database $1
  psql_admin "DROP DATABASE IF EXISTS $1" >/dev/null
  psql_admin "CREATE DATABASE $1" >/dev/null
}

drop_db() { psql_admin "DROP DATABASE IF EXISTS $1" >/dev/null || true; }

cpu_ms() { # utime + stime of $1, in ms
  awk -v t="$TICKS" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"
}

sys_ms() { # stime of $1 alone (time in the kernel: syscalls, scheduling), in ms
  awk -v t="$TICKS" '{ print int($15 * 1000 / t) }' "/proc/$1/stat"
}

commits() { # committed transactions of database $1 (stats flushed first)
  sleep 1.5
  psql "$PG/$1" -qtAc "SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = '$1'" | tail -1
}

wait_until() { # url, grep pattern[, tries 0.1 s apart (300)]
  for _ in $(seq 1 "${3:-300}"); do
    if curl -s "$1" | grep -q "$2"; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  exit 1
}

# start_server LOG VAR=VALUE...: creates an API key for the run's staff calls (restocking,
# refunds, audit, webhook registration; exported as COMMERCE_API_KEY), starts
# `commerce serve` with the variables given, and waits until it is ready and lists the
# catalogue. Sets SERVER_PID. SERVER_LAUNCHER (words, e.g. a valgrind command line) runs
# the server through another program; START_TRIES (300, 0.1 s apart) bounds each wait.
start_server() {
  local log=$1; shift
  COMMERCE_API_KEY=$(env "$@" "$BIN/commerce" api-keys create --name bench --scope '*' 2>/dev/null)
  export COMMERCE_API_KEY
  # shellcheck disable=SC2086 # SERVER_LAUNCHER is a list of words
  env "$@" ${SERVER_LAUNCHER:-} "$BIN/commerce" serve > "$log" 2>&1 &
  SERVER_PID=$!
  wait_until "$BASE/health/ready" ready "${START_TRIES:-300}"
  wait_until "$BASE/v1/products" TEE-BLACK-M "${START_TRIES:-300}"
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

loadgen_completed() { # completed checkouts in the measured window, from loadgen's output $1
  tail -1 "$1" | grep -o '"completed":[0-9]*' | cut -d: -f2
}

median() { # the median of the numbers on stdin, one a line
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

busy_ms() { # CPU time the whole machine spent in user and kernel mode, interrupts included
  # (all cores), in ms
  awk -v t="$TICKS" '$1 == "cpu" { print int(($2 + $3 + $4 + $7 + $8) * 1000 / t) }' /proc/stat
}

user_cpu_ms() { # utime + stime summed over the live processes of user $1 (e.g. postgres), in ms
  local pid total=0 t
  for pid in $(pgrep -u "$1"); do
    t=$(cpu_ms "$pid" 2>/dev/null) || continue
    total=$((total + t))
  done
  echo "$total"
}

steal_ms() { # CPU time the hypervisor gave to other guests while this one wanted it, in ms
  awk -v t="$TICKS" '$1 == "cpu" { print int($9 * 1000 / t) }' /proc/stat
}
