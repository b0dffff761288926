#!/usr/bin/env bash
# The typed storefront client and the demo storefront (issue 13, ADR 0048), against the API
# as served:
#   1. the client's types (clients/typescript/src/schema.d.ts) are regenerated with
#      openapi-typescript from the document a fresh server serves at /openapi.json, and must
#      be what is committed (the diff is printed otherwise);
#   2. the client, its example and the demo's code compile with `tsc --strict`;
#   3. the example runs against that server (lists products, creates a cart, adds an item);
#   4. the demo's bundle (adapters/rest/assets/demo/demo.js, embedded in the binary) is rebuilt
#      with esbuild and must be what is committed.
#
#   tests/client.sh              # the checks
#   UPDATE=1 tests/client.sh     # after changing the API or the demo: rewrite both files
#
# Needs Node.js with npm (the pinned tools in clients/typescript/package-lock.json are
# installed with `npm ci` into clients/typescript/node_modules, which git ignores), curl and
# a debug build of `commerce` (built here if needed).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
CLIENT=clients/typescript
WORK=target/client
PORT="${PORT:-18183}"
SCHEMA="$CLIENT/src/schema.d.ts"
BUNDLE=adapters/rest/assets/demo/demo.js

# shellcheck source=tools.sh
. tests/tools.sh

command -v curl > /dev/null 2>&1 || missing curl "fetching the OpenAPI document" curl
command -v node > /dev/null 2>&1 || missing node "generating and checking the client" nodejs
command -v npm > /dev/null 2>&1 || missing npm "installing the client's pinned tools" npm

# The pinned tools, installed again only when the lock file changed.
if ! cmp -s "$CLIENT/package-lock.json" "$CLIENT/node_modules/.installed-from-lock" 2>/dev/null; then
  (cd "$CLIENT" && npm ci --silent --no-audit --no-fund)
  cp "$CLIENT/package-lock.json" "$CLIENT/node_modules/.installed-from-lock"
fi
BIN="$PWD/$CLIENT/node_modules/.bin"

cargo build --quiet -p commerce
mkdir -p "$WORK"
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
  || { echo "tests/client.sh: the server did not start:" >&2; cat "$DATA/server.log" >&2; exit 1; }

status=0

# 1. The generated types against the served document.
curl -sf "http://127.0.0.1:$PORT/openapi.json" -o "$WORK/openapi.json"
"$BIN/openapi-typescript" "$WORK/openapi.json" --output "$WORK/schema.d.ts" > /dev/null
if [ "${UPDATE:-}" = 1 ]; then
  cp "$WORK/schema.d.ts" "$SCHEMA"
elif ! diff -u "$SCHEMA" "$WORK/schema.d.ts" > "$WORK/schema.diff"; then
  cat "$WORK/schema.diff"
  echo "tests/client.sh: $SCHEMA is not what the served OpenAPI document generates" \
    "(diff above, committed -> generated); run UPDATE=1 tests/client.sh and commit it" >&2
  status=1
else
  echo "tests/client.sh: $SCHEMA is what the served document generates ($(wc -l < "$SCHEMA") lines)"
fi

# 2. The client, the example and the demo compile under --strict.
(cd "$CLIENT" && "$BIN/tsc" --strict --noEmit -p tsconfig.json) \
  || { echo "tests/client.sh: tsc --strict found type errors (above)" >&2; exit 1; }
echo "tests/client.sh: tsc --strict --noEmit passed (typescript $("$BIN/tsc" --version | cut -d' ' -f2))"

# 3. The example against the server.
(cd "$CLIENT" && "$BIN/esbuild" example.ts --bundle --platform=node --format=cjs \
  --log-level=warning --outfile="$PWD/../../$WORK/example.cjs")
BASE_URL="http://127.0.0.1:$PORT" node -e '
  require(process.argv[1]).runExample(process.env.BASE_URL)
    .then((line) => console.log(`tests/client.sh: the example ran: ${line}`))
    .catch((error) => { console.error(`tests/client.sh: the example failed: ${error.message}`); process.exit(1); });
' "$PWD/$WORK/example.cjs"

# 4. The demo's bundle, rebuilt at the pinned esbuild: deterministic, with paths relative to
# the client's directory and no timestamps.
(cd "$CLIENT" && "$BIN/esbuild" demo/main.ts --bundle --format=iife --target=es2020 \
  --charset=utf8 --legal-comments=none --log-level=warning --outfile="$PWD/../../$WORK/demo.js")
if [ "${UPDATE:-}" = 1 ]; then
  cp "$WORK/demo.js" "$BUNDLE"
elif ! diff -u "$BUNDLE" "$WORK/demo.js" > "$WORK/bundle.diff"; then
  cat "$WORK/bundle.diff"
  echo "tests/client.sh: $BUNDLE is not what clients/typescript/demo builds (diff above," \
    "committed -> rebuilt); run UPDATE=1 tests/client.sh and commit it" >&2
  status=1
else
  echo "tests/client.sh: $BUNDLE is what a rebuild gives ($(wc -c < "$BUNDLE") bytes)"
fi
exit "$status"
