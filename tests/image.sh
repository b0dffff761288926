#!/usr/bin/env bash
# Rehearses the container image's runtime stage without a Docker engine (tests/image.py says
# what is followed and what is checked): docker/Dockerfile's final stage on a debootstrapped
# Debian root, started as an engine would start it, in namespaces of its own.
#
#   tests/image.sh
#
# Needs root (debootstrap, chroot, mount and network namespaces), python3, debootstrap
# (Debian's package; installed with apt-get when missing) and a debug build of `commerce`
# (built here). The Debian root is fetched once from DEBIAN_MIRROR (deb.debian.org by default)
# into target/image and kept there.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"

# shellcheck source=tools.sh
. tests/tools.sh

[ "$(id -u)" = 0 ] || {
  echo "tests/image.sh: rehearsing the image needs root (debootstrap, chroot, namespaces); run the tests as root, e.g. in a root container" >&2
  exit 1
}
command -v python3 > /dev/null 2>&1 || missing python3 "rehearsing the image" python3
command -v debootstrap > /dev/null 2>&1 || debian_package debootstrap "rehearsing the image"
command -v unshare > /dev/null 2>&1 || missing unshare "rehearsing the image" util-linux
command -v ip > /dev/null 2>&1 || missing ip "rehearsing the image" iproute2

cargo build --quiet -p commerce
exec python3 tests/image.py docker/Dockerfile "$TARGET_DIR/debug/commerce" target/image
