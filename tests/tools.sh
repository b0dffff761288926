# Shared by the test scripts (sourced, not run): how they say what is missing, and how they
# install a Debian package they need.

# missing WHAT PURPOSE PACKAGE: says what is needed, for what and how to get it, then stops.
missing() {
  echo "tests/$(basename "$0"): $1 is needed (for $2); install it (e.g. apt-get install -y $3) and run again" >&2
  exit 1
}

# debian_package PACKAGE PURPOSE: installs Debian's PACKAGE when run as root where apt-get is
# (refreshing the package lists once if the first attempt fails); otherwise stops, saying so.
debian_package() {
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
    echo "tests/$(basename "$0"): installing Debian's $1" >&2
    apt-get install -y -q "$1" > /dev/null 2>&1 \
      || { apt-get update -q > /dev/null 2>&1 && apt-get install -y -q "$1" > /dev/null 2>&1; } \
      || missing "$1" "$2" "$1"
  else
    missing "$1" "$2" "$1"
  fi
}
