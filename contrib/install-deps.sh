#!/bin/sh
# install-deps.sh - install the Debian packages deskfs needs, only those missing.
#
#   contrib/install-deps.sh            # build + test dependencies
#   contrib/install-deps.sh bench      # also the peers make bench compares against
#
# Idempotent: a second run installs nothing and prints nothing but a summary.
set -eu

BUILD="build-essential pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev \
libcjson-dev libpng-dev libx11-dev libxext-dev libxtst-dev libxdamage-dev \
libxfixes-dev libmicrohttpd-dev libisal-dev"
RUNTIME="xvfb x11-utils x11-xserver-utils xterm xauth busybox python3 procps psmisc curl"
BENCH="scrot imagemagick xdotool"

want="$BUILD $RUNTIME"
for arg in "$@"; do
	case "$arg" in
	bench) want="$want $BENCH" ;;
	*) echo "install-deps: unknown set '$arg'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/deskfs-update-stamp
if [ ! -e /var/lib/apt/lists/lock ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
	$SUDO apt-get update -q </dev/null
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing </dev/null
: "$stamp"
