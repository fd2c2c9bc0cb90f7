# lib.sh - shared by the end-to-end tests: checks, a real mount, clean-up.
#
#	. "$(dirname "$0")/../lib.sh"
#	need_fuse; need_xvfb
#	mount_deskfs -o width=640,height=480
#	check "status becomes ready" wait_for "ready" cat "$MNT/s1/status"
#	finish
#
# Each check prints "ok - ..." or "not ok - ..."; finish unmounts, then
# prints the closing "N passed, N failed" line. Unmounting is checked: the
# daemon must leave no zombie children, exit by itself after fusermount3 -u,
# and exit 0 (a test that kills it on purpose uses crash_deskfs). The EXIT
# trap does the same clean-up for a test that ends early, stops whatever the
# test started (bg), and removes its temporary files.
#
#	mount_deskfs_daemon -o ...     the same, daemonized (no -f), as users run it
#	crash_deskfs                   kill -9 the daemon (a crash test)
#	running PID / all_dead / all_alive   "gone" = no /proc entry, or a zombie whose
#	                               parent is not a deskfs daemon
#	no_zombies [PID]               the daemon has no unreaped children

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$TOP/bin
TOOLS=$TOP/build/tests
T_PASS=0
T_FAIL=0
T_PIDS=""
MNT=""
DPID=""      # the daemon of the current mount ("" when there is none)
D_KNOWN=""   # every daemon this test started
DAEMONIZED=0 # the current daemon runs without -f (under WRAP_PID)
WRAP_PID=""
DMN_STATUS=""
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
# Run CMD... until it succeeds, for up to SECONDS.
wait_long() { # wait_long SECONDS CMD...
	local i
	for i in $(seq 1 $(($1 * 20))); do
		"${@:2}" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

wait_for() {
	local want=$1 i
	shift
	for i in $(seq 1 200); do
		case "$("$@" 2>/dev/null)" in *"$want"*) return 0 ;; esac
		sleep 0.05
	done
	return 1
}

# Is a process still there? "Gone" means gone from /proc, or a zombie whose
# parent is not a deskfs daemon. A zombie child of a live daemon was never
# reaped: it is a leak, so it counts as running here.
running() {
	local line rest
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	rest=${line##*) }
	set -- $rest # state ppid ...
	case "$1" in
	Z | X) is_daemon "$2" ;;
	*) return 0 ;;
	esac
}
all_dead() { local p; for p in "$@"; do running "$p" && return 1; done; return 0; }
all_alive() { local p; for p in "$@"; do running "$p" || return 1; done; return 0; }

# is_daemon PID: one of the deskfs daemons of this test (DPID, D_KNOWN), or
# any process named deskfs.
is_daemon() {
	local c
	[ -n "$1" ] && [ "$1" != 0 ] || return 1
	case " $DPID $D_KNOWN " in *" $1 "*) return 0 ;; esac
	read -r c 2>/dev/null <"/proc/$1/comm" && [ "$c" = deskfs ]
}

# zombies_of PID...: "pid(comm)" of every zombie whose parent is one of PID.
zombies_of() {
	local want=" $* " f line rest out="" comm
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		rest=${line##*) }
		set -- $rest
		[ "$1" = Z ] || continue
		case "$want" in *" $2 "*) ;; *) continue ;; esac
		comm=${line#*\(}
		out="$out ${line%% *}(${comm%)*})"
	done
	echo "${out# }"
}

# no_zombies [PID...]: the daemon (default DPID) has no zombie children, or
# none that outlive ZOMBIE_GRACE seconds (a child that just died is reaped
# within that). Says which ones it found.
ZOMBIE_GRACE=${ZOMBIE_GRACE:-2}
no_zombies() {
	local z end
	[ $# -gt 0 ] || set -- $DPID
	[ $# -gt 0 ] || return 0
	end=$(($(date +%s%N) + ZOMBIE_GRACE * 1000000000))
	while :; do
		z=$(zombies_of "$@")
		[ -z "$z" ] && return 0
		[ "$(date +%s%N)" -lt "$end" ] || break
		sleep 0.05
	done
	echo "# zombie children of daemon $*: $z"
	return 1
}

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

# mount_deskfs [-o ...]: deskfs -f in the background; DPID is the daemon.
mount_deskfs() {
	mount_prepare
	"$BIN/deskfs" -f -o "statedir=$STATE" "$@" "$MNT" 2>"$DLOG" &
	DPID=$!
	DAEMONIZED=0
	D_KNOWN="$D_KNOWN $DPID"
	mount_wait
}

mount_prepare() {
	MNT=$TMP/mnt
	STATE=$TMP/state
	DLOG=$TMP/deskfs.log
	mkdir -p "$MNT"
}

mount_wait() {
	local i
	for i in $(seq 1 200); do
		grep -q " $MNT fuse" /proc/mounts && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "mount failed:"; cat "$DLOG"
	exit 1
}

# mount_deskfs_daemon [-o ...]: deskfs as users run it, without -f: it forks
# and the command returns once mounted. It runs under a small keeper that
# is a child subreaper (prctl), so the daemon is re-parented to the keeper,
# which reaps it and exits with its status: DMN_STATUS is known here too.
# DPID is the daemon; WRAP_PID the keeper (the test's child).
SUBREAPER_PY='
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("keeper: prctl: %s" % os.strerror(ctypes.get_errno()))
pidfile, argv = sys.argv[1], sys.argv[2:]
launcher = os.fork()
if launcher == 0:
    os.execv(argv[0], argv)
def code(st):
    c = os.waitstatus_to_exitcode(st)
    return c if c >= 0 else 128 - c
_, st = os.waitpid(launcher, 0)
if code(st) != 0:
    sys.exit(code(st))
me, daemon = os.getpid(), 0
for d in os.listdir("/proc"):
    try:
        line = open("/proc/%s/stat" % d).read()
    except (OSError, ValueError):
        continue
    f = line[line.rindex(")") + 2:].split()
    if d.isdigit() and int(f[1]) == me and f[0] != "Z":
        daemon = int(d)
if not daemon:
    sys.exit("keeper: the launcher exited 0 but left no daemon")
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % daemon)
os.rename(pidfile + ".tmp", pidfile)
while True:
    try:
        pid, st = os.wait()
    except ChildProcessError:
        sys.exit(99)
    if pid == daemon:
        sys.exit(code(st))
'
mount_deskfs_daemon() {
	mount_prepare
	local pf=$TMP/daemon.pid i
	rm -f "$pf"
	python3 -c "$SUBREAPER_PY" "$pf" "$BIN/deskfs" -o "statedir=$STATE" "$@" "$MNT" 2>"$DLOG" &
	WRAP_PID=$!
	DAEMONIZED=1
	for i in $(seq 1 400); do
		[ -s "$pf" ] && break
		kill -0 "$WRAP_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! [ -s "$pf" ]; then
		wait "$WRAP_PID"
		echo "daemonized mount failed (status $?):"; cat "$DLOG"
		WRAP_PID=""
		exit 1
	fi
	DPID=$(cat "$pf")
	D_KNOWN="$D_KNOWN $DPID"
	mount_wait
}

# daemon_wait SECONDS: has the daemon exited (and been reaped) within SECONDS?
daemon_wait() {
	local end=$(($(date +%s%N) + $1 * 1000000000)) p=$DPID
	[ "$DAEMONIZED" = 1 ] && p=$WRAP_PID
	while kill -0 "$p" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 0
}

# daemon_reap: collect the daemon's exit status into DMN_STATUS; forget it.
daemon_reap() {
	if [ "$DAEMONIZED" = 1 ]; then
		wait "$WRAP_PID" 2>/dev/null
		DMN_STATUS=$?
	else
		wait "$DPID" 2>/dev/null
		DMN_STATUS=$?
	fi
	DPID=""
	WRAP_PID=""
}

# crash_deskfs: kill -9 the daemon on purpose. Its exit status is not a
# test result, and the dead mount stays until fusermount3 -u.
crash_deskfs() {
	[ -n "$DPID" ] || return 0
	kill -9 "$DPID"
	daemon_reap
}

# unmount_deskfs: fusermount3 -u, then the daemon must exit by itself
# within UNMOUNT_WAIT seconds (15) with status 0, and must have left no
# zombie children behind. Anything else is a "not ok", and only then is the
# daemon killed. A test that wants the daemon dead by other means says so
# (crash_deskfs, or DPID="" after killing it).
UNMOUNT_WAIT=${UNMOUNT_WAIT:-15}
unmount_deskfs() {
	[ -n "$DPID" ] || return 0
	local d=$DPID out clean=1
	if kill -0 "$d" 2>/dev/null; then
		check "no zombie children of the daemon (pid $d) before unmount" no_zombies "$d"
	else
		clean=0
		not_ok "the daemon (pid $d) was already dead before unmount"
	fi
	if ! out=$(fusermount3 -u "$MNT" 2>&1); then
		clean=0
		not_ok "fusermount3 -u $MNT: $out"
	fi
	if ! daemon_wait "$UNMOUNT_WAIT"; then
		not_ok "the daemon (pid $d) exits by itself within ${UNMOUNT_WAIT}s of unmount ($(proc_brief "$d")); killing it"
		clean=0
		kill -9 "$d" 2>/dev/null
		fusermount3 -uz "$MNT" 2>/dev/null
	fi
	daemon_reap
	if [ "$clean" = 1 ]; then
		check_eq "the daemon (pid $d) exits 0 after fusermount3 -u" 0 "$DMN_STATUS"
	fi
	if [ "$clean" = 0 ] || [ "$DMN_STATUS" != 0 ]; then
		echo "# the daemon's exit status: $DMN_STATUS; the end of its log:"
		tail -n 15 "$DLOG" 2>/dev/null | sed 's/^/#   /'
	fi
}

# proc_brief PID: "state S, wchan W" of a process, for messages.
proc_brief() {
	local line rest w
	read -r line 2>/dev/null <"/proc/$1/stat" || { echo "gone"; return; }
	rest=${line##*) }
	read -r w 2>/dev/null <"/proc/$1/wchan"
	echo "state ${rest%% *}, wchan ${w:-?}"
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

# wait_gone SECONDS PID...: have all PID exited (and been reaped)?
wait_gone() {
	local end=$(($(date +%s%N) + $1 * 1000000000)) p
	shift
	for p in "$@"; do
		while kill -0 "$p" 2>/dev/null; do
			[ "$(date +%s%N)" -lt "$end" ] || return 1
			sleep 0.05
		done
	done
}

# fuse_abort MOUNTPOINT: abort its FUSE connection (fusectl), which ends
# every request still waiting on it: the way out for readers in D state.
fuse_abort() {
	local dev
	dev=$(awk -v m="$1" '$5 == m { print $3 }' /proc/self/mountinfo | tail -n1)
	[ -n "$dev" ] || return 1
	[ -d /sys/fs/fuse/connections ] || return 1
	[ -e /sys/fs/fuse/connections/${dev#*:}/abort ] ||
		mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
	echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort" 2>/dev/null
}

# t_teardown: stop what the test started, unmount (with its checks), and
# stop whatever a crashed daemon recorded. A background process stuck in
# the kernel (D state on a FUSE request) is reported and freed by
# aborting the mount's FUSE connection.
t_teardown() {
	t_stop_pids
	unmount_deskfs
	# a mount whose daemon the test killed on purpose
	if [ -n "$MNT" ] && grep -q " $MNT fuse" /proc/mounts; then
		fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	reap_recorded
}

# t_stop_pids: end what the test started in the background (T_PIDS)
t_stop_pids() {
	local p stuck=""
	for p in $T_PIDS; do kill "$p" 2>/dev/null; done
	if ! wait_gone 5 $T_PIDS; then
		for p in $T_PIDS; do
			kill -0 "$p" 2>/dev/null && stuck="$stuck $p($(proc_brief "$p"))"
		done
		not_ok "processes of the test still blocked 5 s after SIGTERM:$stuck"
		for p in $T_PIDS; do kill -9 "$p" 2>/dev/null; done
		wait_gone 2 $T_PIDS || fuse_abort "$MNT"
		wait_gone 5 $T_PIDS || echo "# still blocked: $T_PIDS"
	fi
	for p in $T_PIDS; do kill -0 "$p" 2>/dev/null || wait "$p" 2>/dev/null; done
	T_PIDS=""
}

t_cleanup() {
	t_teardown
	rm -rf "$TMP"
}
trap t_cleanup EXIT

# finish: unmount (whose checks count), then the closing line.
finish() {
	t_teardown
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
