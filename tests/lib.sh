# lib.sh - shared by the end-to-end tests: checks, a real mount, clean-up.
#
#	. "$(dirname "$0")/../lib.sh"
#	need_fuse; need_xvfb
#	mount_deskfs -o width=640,height=480
#	check "status becomes ready" wait_for "ready" cat "$MNT/s1/status"
#	finish
#
# Each check prints "ok - ..." or "not ok - ..."; finish prints the closing
# "N passed, N failed" line. The EXIT trap unmounts (fusermount3 -u, then
# kill), stops whatever the test started, and removes its temporary files.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$TOP/bin
TOOLS=$TOP/build/tests
T_PASS=0
T_FAIL=0
T_PIDS=""
MNT=""
DPID=""
TMP=$(mktemp -d /tmp/deskfs-test.XXXXXX)
# Each session's X display wants its own cookie (session.json "xauthority");
# sess_display merges it into this file, so one XAUTHORITY reaches them all.
export XAUTHORITY=$TMP/Xauthority
: >"$XAUTHORITY"

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# check_eq DESC WANT GOT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (want '$2', got '$3')"; fi
}
skip_all() { echo "SKIP: $*"; exit 77; }
need_fuse() {
	[ -c /dev/fuse ] || skip_all "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip_all "no fusermount3 (apt-get install fuse3)"
}
need_xvfb() { command -v Xvfb >/dev/null || skip_all "no Xvfb (apt-get install xvfb)"; }
need_cmd() { command -v "$1" >/dev/null || skip_all "no $1${2:+ ($2)}"; }

# Run "$@" until its output contains WANT, for up to 10 s.
wait_for() {
	local want=$1 i
	shift
	for i in $(seq 1 200); do
		case "$("$@" 2>/dev/null)" in *"$want"*) return 0 ;; esac
		sleep 0.05
	done
	return 1
}

# Is a process running? A zombie (dead, not yet reaped by its parent) is not.
running() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ] && [ "$st" != X ]; }
all_dead() { local p; for p in "$@"; do running "$p" && return 1; done; return 0; }
all_alive() { local p; for p in "$@"; do running "$p" || return 1; done; return 0; }

# sess_display SESSIONDIR: its X display, with its cookie merged into $XAUTHORITY
sess_display() {
	local xa
	xa=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['xauthority'] or '')" "$1/session.json")
	[ -n "$xa" ] && xauth -q -f "$XAUTHORITY" merge "$xa" 2>/dev/null
	python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['display'])" "$1/session.json"
}

# Start a program in the background, remembered for the clean-up.
bg() {
	"$@" &
	T_PIDS="$T_PIDS $!"
	LAST_PID=$!
}

mount_deskfs() {
	MNT=$TMP/mnt
	STATE=$TMP/state
	DLOG=$TMP/deskfs.log
	mkdir -p "$MNT"
	"$BIN/deskfs" -f -o "statedir=$STATE" "$@" "$MNT" 2>"$DLOG" &
	DPID=$!
	local i
	for i in $(seq 1 100); do
		grep -q " $MNT fuse" /proc/mounts && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "mount failed:"; cat "$DLOG"
	exit 1
}

unmount_deskfs() {
	[ -n "$DPID" ] || return 0
	fusermount3 -u "$MNT" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$DPID" 2>/dev/null; then
		echo "# daemon did not exit after unmount; killing"
		kill -9 "$DPID" 2>/dev/null
		fusermount3 -uz "$MNT" 2>/dev/null
	fi
	wait "$DPID" 2>/dev/null
	DMN_STATUS=$?
	DPID=""
}

# A private X server for tests that need one outside deskfs: sets XDPY.
start_xvfb() {
	local size=${1:-1280x800} out=$TMP/xvfb.$RANDOM n="" i
	# -displayfd 1: the display number arrives on stdout, the log on stderr
	Xvfb -displayfd 1 -screen 0 "${size}x24" -nolisten tcp -extension GLX >"$out" 2>"$out.log" &
	T_PIDS="$T_PIDS $!"
	XVFB_PID=$!
	for i in $(seq 1 200); do
		n=$(cat "$out" 2>/dev/null)
		case "$n" in *[0-9]) [ "$(wc -l <"$out")" -ge 1 ] && break ;; esac
		sleep 0.02
	done
	n=$(head -n1 "$out")
	[ -n "$n" ] || { echo "Xvfb did not start"; cat "$out.log"; exit 1; }
	XDPY=":$n"
}

# Whatever a daemon recorded in its state directory and left running (it
# crashed, or was killed by a test): stop it, matching pid AND start time.
reap_recorded() {
	[ -d "${STATE:-}" ] || return 0
	python3 - "$STATE" <<'PY'
import glob, json, os, signal, sys, time
pids = []
for rec in glob.glob(sys.argv[1] + "/*/record.json"):
    try:
        procs = json.load(open(rec)).get("procs", [])
    except Exception:
        continue
    for p in procs:
        try:
            st = open("/proc/%d/stat" % p["pid"]).read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[19]) == int(p["start"]):
            pids.append(p["pid"])
for sig in (signal.SIGTERM, signal.SIGKILL):
    for pid in pids:
        try: os.kill(pid, sig)
        except OSError: pass
    time.sleep(0.3)
if pids:
    print("# reaped %d process(es) a dead daemon left" % len(pids))
PY
}

t_cleanup() {
	local p
	for p in $T_PIDS; do kill "$p" 2>/dev/null; done
	for p in $T_PIDS; do wait "$p" 2>/dev/null; done
	unmount_deskfs
	reap_recorded
	rm -rf "$TMP"
}
trap t_cleanup EXIT

finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
