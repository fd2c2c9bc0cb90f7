#!/usr/bin/env bash
# deskfs as Linux mounts expect it: the mount.fuse3 form "deskfs SOURCE
# MOUNTPOINT -o ...", fstab's words, unknown options refused by name, a
# missing mountpoint, daemonized mounts ended by umount, sd_notify READY=1 /
# STOPPING=1 to a NOTIFY_SOCKET, and "<N>" priority prefixes for the journal.
# (mount(8) itself, with /usr/bin/deskfs, is in 33-deb.sh.)
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd mount.fuse3 "apt-get install fuse3"

M2=$TMP/m2
mkdir -p "$M2"

# pids of processes whose command line names $1 (pgrep leaves itself out)
pids_naming() { pgrep -f -- "$1" | tr '\n' ' '; }
# the deskfs daemon among them
daemon_naming() { local p; for p in $(pids_naming "$1"); do [ "$(readlink "/proc/$p/exe")" = "$BIN/deskfs" ] && echo "$p"; done; }
mounted() { grep -q " $1 fuse" /proc/mounts; }

# ---- refusals: a message that names the problem, status 2, nothing left ----
refused() { # WANT-IN-MESSAGE ARGS...
	local want=$1 out rc
	shift
	out=$(timeout 10 "$BIN/deskfs" -o "statedir=$TMP/st-refused" "$@" 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] && [[ "$out" == *"$want"* ]] && ! mounted "$M2" && [ -z "$(pids_naming "$TMP/st-refused")" ] \
		&& [ ! -e "$TMP/st-refused" ] || { echo "# rc=$rc out=$out"; return 1; }
}
check "an unknown -o option is refused, named, before anything starts" refused "unknown option 'colour=red'" -f -o colour=red "$M2"
check "one unknown among good ones is named" refused "unknown option 'nosuchthing'" -f -o width=800,nosuchthing,rw "$M2"
check "an unknown flag is named" refused "unknown option '-z'" -f -z "$M2"
check "a missing mountpoint fails clearly" refused "$TMP/nope" -f "$TMP/nope"
check "no mountpoint at all is a usage error" refused "usage:" -f
check "three positional words are refused" refused "too many arguments" -f a b "$M2"
check "a file as mountpoint is refused" refused "not a directory" -f src "$TMP/Xauthority"
check "the mount.fuse3 form with a bad option fails too" \
	bash -c "! PATH='$BIN':\$PATH mount.fuse3 deskfs '$M2' -t deskfs -o statedir=$TMP/st-refused,colour=red 2>&1 | grep -q . || ! grep -q ' $M2 fuse' /proc/mounts"

# ---- the mount.fuse3 form: SOURCE MOUNTPOINT, fstab words, daemonized ----
OPTS="statedir=$TMP/st2,provider=xvfb,width=640,height=480,rw,noauto,_netdev,nofail,users,relatime,x-systemd.automount,comment=desk,allow_other,default_permissions,nosuid,nodev"
check "mount.fuse3 runs 'deskfs deskfs MNT -o ...' with fstab's words" \
	env PATH="$BIN:$PATH" timeout 20 mount.fuse3 deskfs "$M2" -t deskfs -o "$OPTS"
check "and the mount is up when it returns (daemonized)" mounted "$M2"
check_eq "/proc/mounts: source deskfs, type fuse.deskfs" "deskfs fuse.deskfs" \
	"$(awk -v m="$M2" '$2 == m {print $1, $3}' /proc/mounts)"
dpid=$(daemon_naming "$TMP/st2")
check "one daemon serves it" test "$(echo $dpid | wc -w)" -eq 1
check "mkdir makes a session on it" mkdir "$M2/s1"
check_eq "with the mount's settings" "640x480 xvfb" "$(python3 -c "
import json; j=json.load(open('$M2/s1/session.json')); print('%dx%d'%(j['width'],j['height']), j['provider'])")"
check "and a screenshot" bash -c "cat '$M2/s1/screenshot.png' > '$TMP/a.png' && test -s '$TMP/a.png'"
kids=$(ps -o pid= --ppid "$dpid" | tr '\n' ' ')
check "the session runs (Xvfb and agent)" test "$(echo $kids | wc -w)" -ge 2
check "umount ends it" umount "$M2"
check "the daemon exits after umount" bash -c "for i in \$(seq 100); do kill -0 $dpid 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
# shellcheck disable=SC2086
check "and the session's processes are gone" bash -c ". '$TOP/tests/lib.sh' >/dev/null; trap - EXIT; all_dead $kids"

# ---- a source that is not "deskfs" is the fsname; -o fsname wins ----
"$BIN/deskfs" -f -o "statedir=$TMP/st3" mydesk "$M2" 2>"$TMP/d3.log" &
d3=$!
for i in $(seq 100); do mounted "$M2" && break; sleep 0.05; done
check_eq "the source is the fsname" "mydesk" "$(awk -v m="$M2" '$2 == m {print $1}' /proc/mounts)"
fusermount3 -u "$M2"
wait "$d3"
check_eq "the daemon exits 0 after fusermount3 -u" "0" "$?"

# ---- systemd: READY=1 once mounted, STOPPING=1 at the end; journal prefixes ----
cat >"$TMP/notify.py" <<'PY'
import os, socket, sys, subprocess, time
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(30)
env = dict(os.environ, NOTIFY_SOCKET=path)
err = open(log, "w")
st = os.fstat(err.fileno())
env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
p = subprocess.Popen(sys.argv[3:], env=env, stderr=err)
msgs = []
def got(word):
    while not any(word in m for m in msgs):
        msgs.append(s.recv(4096).decode())
got("READY=1")
mnt = sys.argv[-1]
up = any(l.split()[1] == mnt for l in open("/proc/mounts"))
print("ready-mounted" if up else "ready-before-mount")
print("mainpid-ok" if ("MAINPID=%d" % p.pid) in msgs[-1] else "mainpid-wrong " + msgs[-1])
subprocess.run(["fusermount3", "-u", mnt])
got("STOPPING=1")
print("stopping")
print("exit", p.wait(timeout=30))
PY
out=$(timeout 60 python3 "$TMP/notify.py" "$TMP/notify.sock" "$TMP/journal.log" \
	"$BIN/deskfs" -f -o "statedir=$TMP/st4" "$M2" 2>&1)
check "READY=1 arrives once the mount is up" grep -qx ready-mounted <<<"$out"
check "READY=1 names the serving pid (MAINPID)" grep -qx mainpid-ok <<<"$out"
check "STOPPING=1 arrives at unmount" grep -qx stopping <<<"$out"
check "and the daemon exits 0" grep -qx "exit 0" <<<"$out"
echo "$out" | sed 's/^/# /'

# with stderr the journal (JOURNAL_STREAM = its dev:ino), lines carry <N>
: >"$TMP/journal2.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/journal2.log") "$BIN/deskfs" -f -o colour=red "$M2" 2>>"$TMP/journal2.log"
check "an error line in the journal starts with <3>" grep -q "^<3>deskfs: unknown option 'colour=red'" "$TMP/journal2.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/journal2.log") "$BIN/deskfs" -f "$TMP/nope" 2>>"$TMP/journal2.log"
check "libfuse's own lines get a prefix too" grep -q "^<3>fuse: bad mount point" "$TMP/journal2.log"
out=$("$BIN/deskfs" -f -o colour=red "$M2" 2>&1)
check "on a terminal or a file the same line has no prefix" grep -q "^deskfs: unknown option" <<<"$out"
JOURNAL_STREAM=1:2 "$BIN/deskfs" -f -o colour=red "$M2" 2>"$TMP/plain.log"
check "an inherited JOURNAL_STREAM naming another file gives no prefix" grep -q "^deskfs: unknown" "$TMP/plain.log"

finish
