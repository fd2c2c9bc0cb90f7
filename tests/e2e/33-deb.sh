#!/usr/bin/env bash
# make deb builds a Debian package that lintian passes; installed with dpkg -i,
# /usr/bin/deskfs works as users run it: mount -t fuse.deskfs, an fstab line
# (mount -T FILE), umount; the man pages and the unit are in place and
# systemd-analyze verify passes on the installed unit. The package is purged
# at the end (also when a check fails), so the machine is left as found.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd dpkg-buildpackage "apt-get install dpkg-dev"
need_cmd dh "apt-get install debhelper"
need_cmd lintian "apt-get install lintian"
[ "$(id -u)" -eq 0 ] || skip_all "installs a package: run as root"

if dpkg-query -W -f='${Status}' deskfs 2>/dev/null | grep -q 'ok installed'; then
	not_ok "a deskfs package is already installed here: this test would replace it (dpkg -P deskfs first)"
	finish
	exit 1
fi

M1=$TMP/m1
M2=$TMP/m2
mkdir -p "$M1" "$M2"
deb_cleanup() {
	local m
	for m in "$M1" "$M2"; do
		grep -q " $m fuse" /proc/mounts && { umount "$m" 2>/dev/null || fusermount3 -uz "$m"; }
	done
	for p in $(pgrep -f "$TMP/[s]t"); do kill "$p" 2>/dev/null; done
	dpkg-query -W -f='${Status}' deskfs 2>/dev/null | grep -q 'ok installed' && dpkg -P deskfs >/dev/null 2>&1
	t_cleanup
}
trap deb_cleanup EXIT

# ---- build ----
t0=$(date +%s)
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE make -s -C "$TOP" deb >"$TMP/deb.log" 2>&1
rc=$?
check "make deb builds the package (dpkg-buildpackage) and lintian passes it" test "$rc" -eq 0
[ "$rc" -eq 0 ] || tail -n 30 "$TMP/deb.log" | sed 's/^/# /'
DEB=$(ls "$TOP"/build/deb/deskfs_*_*.deb 2>/dev/null | head -n1)
check "the .deb is there" test -s "$DEB"
echo "# built in $(($(date +%s) - t0)) s: $(basename "$DEB")"
lint=$(lintian --display-level ">=warning" "$DEB" 2>/dev/null)
check_eq "lintian: no errors (and no warnings)" "" "$(grep -E '^[EW]:' <<<"$lint")"
for f in usr/bin/deskfs usr/bin/deskfs-agent usr/bin/deskfs-view usr/share/man/man1/deskfs.1.gz \
	usr/share/man/man1/deskfs-agent.1.gz usr/share/man/man1/deskfs-view.1.gz \
	lib/systemd/system/deskfs@.service usr/share/deskfs/contrib/build-guest.sh \
	usr/share/doc/deskfs/examples/client.py etc/default/deskfs; do
	check "the package holds /$f" bash -c "dpkg-deb -c '$DEB' | grep ' ./$f\$' >/dev/null"
done
check "it depends on fuse3 and xvfb" bash -c "dpkg-deb -f '$DEB' Depends | grep -q fuse3 && dpkg-deb -f '$DEB' Depends | grep -q xvfb"

# ---- install and use ----
check "dpkg -i installs it" bash -c "dpkg -i '$DEB' >'$TMP/dpkg.log' 2>&1"
check "/usr/bin/deskfs is the package's" bash -c "dpkg -S /usr/bin/deskfs | grep -q '^deskfs:'"
check "man deskfs finds the page" bash -c "man -w deskfs | grep -q /usr/share/man/man1/deskfs.1"
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify /lib/systemd/system/deskfs@mnt-desk.service 2>&1)
check "systemd-analyze verify of the installed unit is clean" test -z "$out"
[ -z "$out" ] || echo "$out" | sed 's/^/# /'

# mount(8) finds no /sbin/mount.fuse.deskfs, so it runs mount.fuse3, which runs
# "deskfs deskfs MNT -o ..." from PATH (mount sets /usr/local/bin:/usr/bin:...)
check "mount -t fuse.deskfs deskfs MNT -o provider=xvfb,width=1280,height=800" \
	timeout 30 mount -t fuse.deskfs deskfs "$M1" -o "provider=xvfb,width=1280,height=800,statedir=$TMP/st1"
STATE=$TMP/st1
check_eq "mount shows it: deskfs on MNT type fuse.deskfs" "deskfs fuse.deskfs" "$(awk -v m="$M1" '$2 == m {print $1, $3}' /proc/mounts)"
dpid=$(for p in $(pgrep -f "$TMP/[s]t1"); do [ "$(readlink /proc/$p/exe)" = /usr/bin/deskfs ] && echo $p; done)
check "it is served by /usr/bin/deskfs" test -n "$dpid"
check "mkdir makes a session" mkdir "$M1/s1"
check "its screenshot is 1280x800" bash -c "cat '$M1/s1/screenshot.png' > '$TMP/s1.png' && '$TOOLS/pngtool' size '$TMP/s1.png' | grep -qx '1280 800'"
agent=$(for p in $(ps -o pid= --ppid "$dpid"); do readlink "/proc/$p/exe"; done | grep agent)
check_eq "its agent is the package's /usr/bin/deskfs-agent" "/usr/bin/deskfs-agent" "$agent"
echo 'click 10 10' >"$M1/s1/actions"
check "an action is performed" grep -q '"action":"click"' "$M1/s1/actions"
kids=$(ps -o pid= --ppid "$dpid" | tr '\n' ' ')
check "umount MNT unmounts" umount "$M1"
check "the daemon exits" bash -c "for i in \$(seq 100); do kill -0 $dpid 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
# shellcheck disable=SC2086
check "and nothing of the session runs" bash -c "for p in $kids; do [ -e /proc/\$p ] && [ \"\$(awk '{print \$3}' /proc/\$p/stat)\" != Z ] && exit 1; done; exit 0"

# an fstab line, with the words fstab lines carry
cat >"$TMP/fstab" <<EOF
# deskfs in fstab: noauto, _netdev, nofail, x-systemd.* are for mount and systemd
deskfs  $M2  fuse.deskfs  noauto,_netdev,nofail,x-systemd.automount,allow_other,provider=xvfb,width=640,height=480,statedir=$TMP/st2  0  0
EOF
check "an fstab line mounts (mount -T FILE MNT)" timeout 30 mount -T "$TMP/fstab" "$M2"
check "with its options" bash -c "mkdir '$M2/f1' && python3 -c \"
import json; j=json.load(open('$M2/f1/session.json')); assert (j['width'], j['height']) == (640, 480)\""
check "allow_other took effect" bash -c "grep ' $M2 fuse' /proc/mounts | grep -q allow_other"
rmdir "$M2/f1"
check "fusermount3 -u unmounts it" fusermount3 -u "$M2"
check "an unknown option in the fstab line is refused by name" bash -c "
	sed 's/provider=xvfb/provider=xvfb,colour=red/' '$TMP/fstab' > '$TMP/fstab.bad'
	! timeout 30 mount -T '$TMP/fstab.bad' '$M2' 2>'$TMP/bad.err' && grep -q \"unknown option 'colour=red'\" '$TMP/bad.err' &&
	! grep -q ' $M2 fuse' /proc/mounts"

# ---- remove: the machine as it was ----
check "dpkg -P removes it" bash -c "dpkg -P deskfs >'$TMP/dpkg-r.log' 2>&1"
check "nothing of it is left" bash -c "[ ! -e /usr/bin/deskfs ] && [ ! -e /lib/systemd/system/deskfs@.service ] &&
	[ ! -e /etc/default/deskfs ] && [ ! -e /usr/share/man/man1/deskfs.1.gz ]"
echo "# whole test: $(($(date +%s) - t0)) s"
finish
