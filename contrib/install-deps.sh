#!/bin/sh
# install-deps.sh - install the Debian packages deskfs needs, only those missing.
#
#   contrib/install-deps.sh            # build + test dependencies (every tool tests/ calls)
#   contrib/install-deps.sh bench      # also the peers make bench compares against
#   contrib/install-deps.sh fuzz       # also clang + libFuzzer for make fuzz
#
# Idempotent: a second run installs nothing and prints nothing but a summary.
set -eu

BUILD="build-essential pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev \
libcjson-dev libpng-dev libx11-dev libxext-dev libxtst-dev libxdamage-dev \
libxfixes-dev libmicrohttpd-dev libisal-dev libsystemd-dev"
RUNTIME="xvfb x11-utils x11-xserver-utils xterm xauth busybox python3 procps psmisc curl jq"
# Everything tests/ calls is in the default set, even what every Debian has:
# coreutils (cat, timeout, stdbuf, od, ...), diffutils (cmp), findutils
# (find), grep, sed, mawk (awk), bash, dash (sh), util-linux (setpriv,
# unshare), mount (mount, umount), libc-bin (ldd), iproute2 (ss: 20-qemu),
# xdotool (13-incremental); x11-utils (xev, xwininfo), x11-xserver-utils
# (xsetroot), procps (pgrep, ps), fuse3 (fusermount3) are above.
TEST="coreutils diffutils findutils grep sed mawk bash dash util-linux mount libc-bin \
iproute2 xdotool"
# Real applications for the input tests (50-55): Chromium (below), openbox,
# mousepad (GTK 3), featherpad (Qt 5); setxkbmap is in x11-xkb-utils, the
# layouts in xkb-data (both below, with the VM's packages).
APPS="openbox mousepad featherpad"
# Linux conventions (tests 30-34): man pages (mandoc lints them, man-db and
# col read them), systemd-analyze verify for the units, make deb
# (dpkg-buildpackage with debhelper, lintian), Chromium for the live view's
# browser test.
PACKAGING="mandoc man-db bsdextrautils systemd debhelper dpkg-dev lintian chromium"
# provider=qemu: QEMU (qemu-system-data holds qboot.rom), and what
# contrib/build-guest.sh needs on the host to make the guest: lz4 for the
# kernel's payload, xkb-data and x11-xkb-utils (xkbcomp) for the guest's
# Xvfb. The guest's kernel and busybox-static are not installed here: the
# recipe fetches them with apt-get download and unpacks them aside.
# Templates with a root filesystem (make template-desktop): mmdebstrap makes
# the Debian root, mkfs.ext4 (e2fsprogs) the read-only base image from it.
VM="qemu-system-x86 qemu-system-data lz4 xkb-data x11-xkb-utils mmdebstrap e2fsprogs"
BENCH="scrot imagemagick openssh-server openssh-client sshfs" # tests/bench-procs.sh: ssh and sshfs, the peers
# make fuzz: clang, and libFuzzer (libclang_rt.fuzzer), which clang does not pull in
FUZZ="clang libclang-rt-14-dev"

want="$BUILD $RUNTIME $TEST $APPS $VM $PACKAGING"
for arg in "$@"; do
	case "$arg" in
	bench) want="$want $BENCH" ;;
	fuzz) want="$want $FUZZ" ;;
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
