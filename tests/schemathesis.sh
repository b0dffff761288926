#!/usr/bin/env bash
# Fuzzes the served API against its own OpenAPI document with schemathesis (from PyPI, pinned),
# every check on, a bounded number of examples per operation, on a fresh embedded store.
#
#   tests/schemathesis.sh              # examples, coverage and fuzzing phases
#   PHASES=examples,coverage,fuzzing,stateful EXAMPLES=20 tests/schemathesis.sh
#
# Not yet part of tests/run.sh: the document is being tightened until the run reports no
# failure (issue 9); the report it prints is the list of what is left. Excluded, with reasons:
#   - /v1/events/stream: an endless Server-Sent Events stream, tested by the acceptance tests.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.32.5
VENV="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
PORT="${PORT:-18181}"
PHASES="${PHASES:-examples,coverage,fuzzing}"
EXAMPLES="${EXAMPLES:-10}"
MAX_TIME="${MAX_TIME:-480}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$VERSION"
fi

cargo build --quiet -p commerce
DATA=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
KEY=$(target/debug/commerce api-keys create --name schemathesis --scope '*' --data-dir "$DATA" 2>/dev/null)
COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT" COMMERCE_DATA_DIR="$DATA" RUST_LOG=warn \
  COMMERCE_CHECKOUT_RATE_PER_MINUTE=0 COMMERCE_AUTH_RATE_PER_MINUTE=0 \
  target/debug/commerce serve > "$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PORT/health/ready" > /dev/null && break
  sleep 0.5
done

"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks all --phases "$PHASES" --max-examples "$EXAMPLES" --max-time "$MAX_TIME" \
  --seed 1 --request-timeout 10 --no-color \
  --exclude-path /v1/events/stream
