#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, every test on SQLite and on a real PostgreSQL,
# the container files and a rehearsal of the image (tests/docker.sh, tests/image.sh),
# the served API against its OpenAPI document (tests/schemathesis.sh), the TypeScript client and
# the demo storefront's bundle (tests/client.sh), and the pages it serves in a headless browser
# (tests/browser.sh). PostgreSQL tests never skip: this script makes sure a server is
# reachable, starting a local cluster that is installed but stopped, or it stops and says how
# to fix it.
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

# The relay tests need NATS with JetStream, never skipped either: start the local server if it
# is installed but not running, or stop and say how to fix it.
export TEST_NATS_URL="${TEST_NATS_URL:-nats://127.0.0.1:4222}"
NATS_SERVER=/usr/sbin/nats-server

nats_reachable() {
  local hostport="${TEST_NATS_URL#*://}"
  hostport="${hostport#*@}"
  hostport="${hostport%%/*}"
  (exec 3<>"/dev/tcp/${hostport%%:*}/${hostport##*:}") >/dev/null 2>&1
}

start_local_nats() {
  [ -x "$NATS_SERVER" ] || return 1
  command -v start-stop-daemon >/dev/null 2>&1 || return 1
  echo "tests/run.sh: starting the local NATS server with JetStream" >&2
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec "$NATS_SERVER" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log \
    >/dev/null 2>&1 || return 1
  for _ in $(seq 1 30); do
    nats_reachable && return 0
    sleep 1
  done
  return 1
}

if ! nats_reachable && ! start_local_nats; then
  cat >&2 <<MSG
tests/run.sh: NATS is not reachable at $TEST_NATS_URL.
The NATS relay tests need a real server with JetStream; none of them is skipped. Either
  - start a local one:   start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  - install one:         apt-get install -y nats-server, then start it as above
  - or point the tests at one you have:
                         TEST_NATS_URL=nats://host:4222 tests/run.sh
MSG
  exit 1
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# The crash tests kill the server at checkout step boundaries; that switch only exists in
# builds with the fault-injection feature, which this test run enables and releases never do.
cargo test --workspace --locked --features commerce/fault-injection "$@"
# The container files, without a Docker daemon: hadolint and `docker-compose config`.
tests/docker.sh
# The image's runtime stage, rehearsed without an engine: docker/Dockerfile's final stage on a
# debootstrapped Debian root, started, health-checked, stopped and restarted as an engine would
# (tests/image.sh; needs root, as CI runs).
tests/image.sh
# The served API against its own OpenAPI document: Redocly's recommended lint, then
# schemathesis with a fixed seed and bounded examples (tests/schemathesis.sh).
tests/schemathesis.sh
# The typed TypeScript client and the demo storefront's bundle against a fresh server: the
# committed generated types and bundle must be what the served document and the demo's
# source give, and they must compile with tsc --strict (tests/client.sh; pinned npm tools).
tests/client.sh
# Pages the server serves, in Debian's headless Chromium with playwright-core: the API docs
# and the demo storefront (tests/browser.sh installs the browser and the driver when they
# are missing).
tests/browser.sh
