#!/usr/bin/env bash
# Browser tests (issue 13): pages the server serves, driven in Debian's headless Chromium with
# playwright-core: the API docs page (tests/browser/docs.cjs) and the demo storefront, bought
# from as a shopper (tests/browser/demo.cjs). Screenshots are written to
# target/browser/screenshots and named in the output.
#
#   tests/browser.sh                    # installs what is missing, starts a server, runs them
#
# Needs Chromium (/usr/bin/chromium; installed with apt-get when missing and run as root),
# Node.js with npm (playwright-core PLAYWRIGHT_VERSION is installed into target/browser), curl
# and a debug build of `commerce` (built here if needed).
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION=1.64.1
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BROWSER_DIR=target/browser
SHOTS="$BROWSER_DIR/screenshots"
PORT="${PORT:-18182}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

# shellcheck source=tools.sh
. tests/tools.sh

command -v curl > /dev/null 2>&1 || missing curl "talking to the server" curl
command -v node > /dev/null 2>&1 || missing node "running the browser tests" nodejs
[ -x "$CHROMIUM" ] || debian_package chromium "the browser tests"
if [ "$(node -e "console.log(require('./$BROWSER_DIR/node_modules/playwright-core/package.json').version)" 2>/dev/null)" != "$PLAYWRIGHT_VERSION" ]; then
  command -v npm > /dev/null 2>&1 || missing npm "installing playwright-core" npm
  mkdir -p "$BROWSER_DIR"
  npm install --silent --no-audit --no-fund --prefix "$BROWSER_DIR" "playwright-core@$PLAYWRIGHT_VERSION"
fi

cargo build --quiet -p commerce
DATA=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
COMMERCE_LISTEN_ADDR="127.0.0.1:$PORT" COMMERCE_DATA_DIR="$DATA" RUST_LOG=warn \
  "$TARGET_DIR/debug/commerce" serve > "$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PORT/health/ready" > /dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/health/ready" > /dev/null \
  || { echo "tests/browser.sh: the server did not start:" >&2; cat "$DATA/server.log" >&2; exit 1; }

# The demo test sets up shipping zones as staff would: with a key made against the same store.
API_KEY=$(COMMERCE_DATA_DIR="$DATA" RUST_LOG=warn "$TARGET_DIR/debug/commerce" api-keys create \
  --name browser-test --scope '*')

mkdir -p "$SHOTS"
export BASE_URL="http://127.0.0.1:$PORT" SCREENSHOTS="$PWD/$SHOTS" CHROMIUM API_KEY
export NODE_PATH="$PWD/$BROWSER_DIR/node_modules"
echo "tests/browser.sh: the docs page in headless Chromium ($("$CHROMIUM" --version 2>/dev/null | head -1), playwright-core $PLAYWRIGHT_VERSION)"
node tests/browser/docs.cjs
echo "tests/browser.sh: the demo storefront in headless Chromium"
node tests/browser/demo.cjs
