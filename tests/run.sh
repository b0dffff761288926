#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, and every test on SQLite and on a real
# PostgreSQL. PostgreSQL tests never skip: this script makes sure a server is reachable,
# starting a local cluster that is installed but stopped, or it stops and says how to fix it.
set -euo pipefail
cd "$(dirname "$0")/.."

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_reachable() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -d "$TEST_DATABASE_URL" >/dev/null 2>&1
  else
    local hostport="${TEST_DATABASE_URL#*@}"
    hostport="${hostport%%/*}"
    (exec 3<>"/dev/tcp/${hostport%%:*}/${hostport##*:}") >/dev/null 2>&1
  fi
}

start_local_postgres() {
  command -v pg_ctlcluster >/dev/null 2>&1 || return 1
  local version
  for version in $(ls /etc/postgresql 2>/dev/null | sort -rn); do
    echo "tests/run.sh: starting the local PostgreSQL $version cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do
      pg_reachable && return 0
      sleep 1
    done
  done
  return 1
}

if ! pg_reachable && ! start_local_postgres; then
  cat >&2 <<MSG
tests/run.sh: PostgreSQL is not reachable at $TEST_DATABASE_URL.
The PostgreSQL tests need a real server; none of them is skipped. Either
  - start a local one:   pg_ctlcluster --skip-systemctl-redirect 15 main start
  - install one:         apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect 15 main start
  - or point the tests at one you have (a role that may CREATE DATABASE):
                         TEST_DATABASE_URL=postgres://user:pass@host:5432/postgres tests/run.sh
MSG
  exit 1
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# The crash tests kill the server at checkout step boundaries; that switch only exists in
# builds with the fault-injection feature, which this test run enables and releases never do.
cargo test --workspace --locked --features commerce/fault-injection "$@"
