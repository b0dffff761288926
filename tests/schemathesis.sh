#!/usr/bin/env bash
# Checks the served API against its own OpenAPI document, on a fresh embedded store:
#   1. lints the document with Redocly CLI (npm, pinned) and its recommended rules
#      (tests/redocly.yaml and tests/.redocly.lint-ignore.yaml say what is accepted and why);
#   2. fuzzes every operation with schemathesis (PyPI, pinned), every check on, a bounded
#      number of examples per operation, a fixed seed and one worker, so that a run is
#      repeatable (the ids and times the server makes still differ from run to run), with
#      a credential for each security scheme (an API key, a customer's and a cart's token)
#      (tests/schemathesis.toml says which statuses a check also accepts and why).
# Part of tests/run.sh. Alone:
#
#   tests/schemathesis.sh                 # lint, then examples, coverage, fuzzing, stateful
#   LINT_ONLY=1 tests/schemathesis.sh     # the lint alone
#   PHASES=fuzzing EXAMPLES=200 SEED=7 tests/schemathesis.sh
#
# Both tools install themselves under target/ on first use (python3 with venv, and npm).
# Excluded from fuzzing: /v1/events/stream, an endless Server-Sent Events stream that the
# acceptance tests cover.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
REDOCLY_VERSION=2.77.0
# The server binary is where cargo builds it: CARGO_TARGET_DIR when set, else target/.
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
REDOCLY_DIR=target/redocly
PORT="${PORT:-18181}"
PHASES="${PHASES:-examples,coverage,fuzzing,stateful}"
EXAMPLES="${EXAMPLES:-50}"
SEED="${SEED:-1}"
LINT_ONLY="${LINT_ONLY:-}"

# shellcheck source=tools.sh
. tests/tools.sh

command -v curl > /dev/null 2>&1 || missing curl "talking to the server" curl
REDOCLY="$REDOCLY_DIR/node_modules/.bin/redocly"
if [ "$("$REDOCLY" --version 2>/dev/null | tail -1)" != "$REDOCLY_VERSION" ]; then
  command -v npm > /dev/null 2>&1 || missing npm "installing Redocly CLI" npm
  mkdir -p "$REDOCLY_DIR"
  npm install --silent --no-audit --no-fund --prefix "$REDOCLY_DIR" "@redocly/cli@$REDOCLY_VERSION"
fi
if [ -z "$LINT_ONLY" ] && ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  command -v python3 > /dev/null 2>&1 || missing python3 "installing schemathesis" python3
  python3 -m venv "$VENV" 2> /dev/null || missing "python3's venv module" "installing schemathesis" python3-venv
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet -p commerce
DATA=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
SCHEMATHESIS_API_KEY=$("$TARGET_DIR/debug/commerce" api-keys create --name schemathesis --scope '*' \
  --data-dir "$DATA" 2>/dev/null)
# Long-polls wait at most a second here: the fuzzer asks for waits of up to 30 seconds.
COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT" COMMERCE_DATA_DIR="$DATA" RUST_LOG=warn \
  COMMERCE_CHECKOUT_RATE_PER_MINUTE=0 COMMERCE_AUTH_RATE_PER_MINUTE=0 \
  COMMERCE_LONG_POLL_MAX_SECS=1 \
  "$TARGET_DIR/debug/commerce" serve > "$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PORT/health/ready" > /dev/null && break
  sleep 0.5
done

# The document as served, with the published event types filled in.
curl -sf "http://127.0.0.1:$PORT/openapi.json" > target/openapi.json
echo "tests/schemathesis.sh: linting the OpenAPI document (Redocly CLI $REDOCLY_VERSION, recommended rules)"
NO_COLOR=1 REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  "$REDOCLY" lint --config tests/redocly.yaml --format stylish target/openapi.json
[ -n "$LINT_ONLY" ] && exit 0

# A customer's access token and a cart's token, for the operations that take them.
field() { python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
SCHEMATHESIS_CUSTOMER_TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/auth/register" \
  -H 'Content-Type: application/json' \
  -d '{"email":"schemathesis@example.com","password":"schemathesis-password"}' | field access_token)
SCHEMATHESIS_CART_TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/carts" \
  -H 'Content-Type: application/json' -d '{"currency":"EUR"}' | field cart_token)
export SCHEMATHESIS_API_KEY SCHEMATHESIS_CUSTOMER_TOKEN SCHEMATHESIS_CART_TOKEN

"$VENV/bin/schemathesis" --config-file tests/schemathesis.toml run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all --phases "$PHASES" --max-examples "$EXAMPLES" \
  --seed "$SEED" --workers 1 --request-timeout 10 --no-color \
  --exclude-path /v1/events/stream
