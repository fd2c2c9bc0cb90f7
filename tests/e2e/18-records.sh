#!/usr/bin/env bash
# 18-records.sh - regression tests of issue 8, defects 7 and 12: every
# process is recorded before anything depends on it, records are never
# dropped silently, rmdir tells the truth, and the smaller contract points.
#
#	bash tests/e2e/18-records.sh      (as root)
#
# - 7a: `mkdir M/k & sleep 0.0x; kill -9 <daemon>`, five times with 0.01 ..
#   0.1 s, and twice stopped the moment its first child exists: after the
#   next daemon's rmdir and unmount, nothing that names the state directory
#   (command line or open file) is left running.
# - 7c: a truncated record.json after a crash: the next daemon lists the
#   session as failed, naming the unreadable record, keeps its logs, stops
#   its Xvfb and agent, and rmdir works.
# - 7d: rmdir of a session whose state cannot be removed (a tmpfs mounted in
#   it) fails with EBUSY or EIO and says why; once the obstacle is gone,
#   rmdir works.
# - 12: a blocked `events` reader gets EOF (not ENOTCONN) at SIGTERM;
#   `rmdir artifacts` and `ln -s` in a session are EPERM; the crashes and
#   restarts above (7a, 7c, and one more with a session that died while the
#   daemon was down), each followed by rmdir, leave no X cookie file under the
#   state directory.
# - 7b (last): a state directory on a small tmpfs that is nearly full: every
#   session mkdir makes either fails (ENOSPC), or ends failed saying the state
#   directory is the problem with nothing left running, or is fully recorded
#   (its record names its processes).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/regress.sh"
need_fuse
need_xvfb
[ "$(id -u)" -eq 0 ] || skip_all "needs root (tmpfs mounts)"

session_pids() { jget "$MNT/$1/session.json" "' '.join(str(v) for v in j['pids'].values())"; }
# tmpfs mounts this test made under $TMP are unmounted before lib.sh removes $TMP
local_cleanup() {
	local m
	unmount_deskfs
	for m in $(awk -v t="$TMP/" '$3 == "tmpfs" && index($2, t) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m"
	done
	[ -n "${FS:-}" ] && kill_procs_in "$FS"
	kill_procs_in "$TMP/state"
}

# ---- 7a: a crash while mkdir starts the session ----
# Five runs with fixed delays (0.01 .. 0.1 s): the old code leaks only when the kill
# lands in a sub-millisecond window (an Xvfb that has not yet written its display
# number dies of EPIPE). So two more runs make the window certain: SIGSTOP the
# daemon the moment its first child exists, give that child 1 s to start, then
# kill -9. A daemon that records each process before it can depend on it (or
# whose children cannot outlive an unrecorded start) leaks nothing either way.
leaks=0 started=0 runs=0
for d in 0.01 0.03 0.05 0.07 0.1 stop stop; do
	runs=$((runs + 1))
	mount_deskfs -o width=320,height=200
	spawn "$TMP/km" mkdir "$MNT/k"
	if [ "$d" = stop ]; then
		end=$(($(now_ms) + 3000))
		while [ -z "$(pgrep -P "$DPID")" ] && [ "$(now_ms)" -lt "$end" ]; do :; done
		kill -STOP "$DPID"
		sleep 1
	else
		sleep "$d"
	fi
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=""
	n=$(procs_in "$STATE" | wc -l)
	[ "$n" -gt 0 ] && started=$((started + 1))
	await "$TMP/km" 5
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
	mount_deskfs -o width=320,height=200
	[ -d "$MNT/k" ] && timeout -s KILL 15 rmdir "$MNT/k"
	unmount_deskfs
	left=$(procs_in "$STATE")
	if [ -n "$left" ]; then
		leaks=$((leaks + 1))
		echo "# kill -9 at $d after mkdir: $n process(es) had started; left running after rmdir and unmount: $(echo "$left" | tr '\n' ';')"
		kill_procs_in "$STATE"
	fi
done
check "the race caught the session starting (processes ran at the kill) in some runs ($started of $runs)" test "$started" -gt 0
check "defect 7a: nothing of k is left running after the next daemon's rmdir and unmount (leaked in $leaks of $runs)" test "$leaks" = 0

# ---- 7c: a truncated record ----
mount_deskfs -o width=320,height=200
tk mkdir "$MNT/t"
check "a session t is ready" until_ok 10 status_is t ready
TP=$(session_pids t)
crash_daemon
: >"$STATE/t/record.json"
check "its processes survive the crash ($TP)" all_alive $TP
mount_deskfs -o width=320,height=200
echo "# daemon log: $(tr '\n' ' ' <"$DLOG")"
check "defect 7c: the session with the truncated record is still listed" bash -c "ls '$MNT' | grep -qx t"
check "  as failed" until_ok 5 status_is t failed
check "  its error names the unreadable record" bash -c "timeout -s KILL 3 cat '$MNT/t/error' | grep -qi record"
check "  its logs were not deleted" test -e "$STATE/t/artifacts/xvfb.log"
check "defect 7c: its Xvfb and agent are stopped" until_ok 5 all_dead $TP
check "  rmdir of it works" ok_within 10 rmdir "$MNT/t"
for p in $TP; do running "$p" && kill -9 "$p"; done
unmount_deskfs

# ---- 7d: rmdir when the session's state cannot be removed ----
mount_deskfs -o width=320,height=200
tk mkdir "$MNT/d"
check "a session d is ready" until_ok 10 status_is d ready
mount -t tmpfs -o size=64k tmpfs "$STATE/d/artifacts"
bounded 15 "$TMP/drm" rmdir "$MNT/d"
echo "# rmdir with a mount in its state dir: rc $RC after $MS ms: $(cat "$TMP/drm.err" 2>/dev/null)"
check "defect 7d: rmdir fails (EBUSY or EIO) when the state cannot be removed" bash -c \
	"[ '$RC' != 0 ] && grep -qE 'Device or resource busy|Input/output error' '$TMP/drm.err'"
check "  the session is still there" test -d "$MNT/d"
check "  and error says why" bash -c "timeout -s KILL 3 cat '$MNT/d/error' | grep -qiE 'remov|busy|state'"
umount "$STATE/d/artifacts"
check "once the obstacle is gone, rmdir works" ok_within 10 rmdir "$MNT/d"
check "  and its state is gone" test ! -e "$STATE/d"

# ---- 12: the smaller points ----
tk mkdir "$MNT/s"
check "a session s is ready" until_ok 10 status_is s ready
check "creating a file in a session is EPERM (control)" bash -c "! touch '$MNT/s/new' 2>'$TMP/touch.err' && grep -q 'Operation not permitted' '$TMP/touch.err'"
check "defect 12: rmdir artifacts is EPERM" bash -c "! rmdir '$MNT/s/artifacts' 2>'$TMP/rma.err'; cat '$TMP/rma.err' >&2; grep -q 'Operation not permitted' '$TMP/rma.err'"
check "defect 12: ln -s in a session is EPERM" bash -c "! ln -s x '$MNT/s/foo' 2>'$TMP/ln.err'; cat '$TMP/ln.err' >&2; grep -q 'Operation not permitted' '$TMP/ln.err'"
spawn "$TMP/ev" cat "$MNT/s/events"
sleep 0.5
check "a reader of s/events is blocked" test ! -e "$TMP/ev.rc"
kill -TERM "$DPID"
for i in $(seq 1 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$DPID" 2>/dev/null; then
	not_ok "the daemon exits within 10 s of SIGTERM"
	crash_daemon
else
	wait "$DPID"
	check_eq "the daemon exits 0 on SIGTERM" "0" "$?"
	DPID=""
fi
await "$TMP/ev" 5
echo "# events reader at SIGTERM: rc $RC: $(cat "$TMP/ev.err")"
check "defect 12: the blocked events reader gets EOF at SIGTERM (exit 0, no ENOTCONN)" bash -c \
	"[ '$RC' = 0 ] && ! grep -q 'not connected' '$TMP/ev.err'"
grep -q " $MNT fuse" /proc/mounts && fusermount3 -u "$MNT"

# a crash and a restart leave no cookie behind
mount_deskfs -o width=320,height=200
tk mkdir "$MNT/c1" "$MNT/c2"
check "sessions c1 and c2 are ready" until_ok 10 bash -c "[ \"\$(cat '$MNT/c1/status' '$MNT/c2/status' | tr '\n' ' ')\" = 'ready ready ' ]"
C2X=$(jget "$MNT/c2/session.json" "j['pids']['xvfb']")
check "their cookies are in the state directory" bash -c "grep -rlq MIT-MAGIC-COOKIE-1 '$STATE'"
crash_daemon
kill -9 "$C2X" # c2 dies while the daemon is down
mount_deskfs -o width=320,height=200
timeout -s KILL 15 rmdir "$MNT/c1" "$MNT/c2"
unmount_deskfs
left=$(grep -rl MIT-MAGIC-COOKIE-1 "$STATE" 2>/dev/null | tr '\n' ' ')
check "defect 12: after the crashes, restarts and rmdirs above, no cookie file is left (${left:-none})" test -z "$left"
kill_procs_in "$STATE"

# ---- 7b: a nearly full state directory ----
FS=$TMP/full
mkdir "$FS"
mount -t tmpfs -o size=4m,mode=0700 tmpfs "$FS"
STATE_OVERRIDE=$FS/state try_mount -o width=320,height=200 || not_ok "mount on a tmpfs statedir"
tk mkdir "$MNT/ok"
check "a session works on the tmpfs statedir" bash -c "timeout -s KILL 10 cat '$MNT/ok/screenshot.png' | head -c 8 | grep -q PNG"
dd if=/dev/zero of="$FS/fill" bs=4k 2>/dev/null
check "the tmpfs is full" bash -c "! echo x 2>/dev/null >'$FS/probe'"
truncate -s $(($(stat -c %s "$FS/fill") - 4 * 4096)) "$FS/fill" # 4 pages left
noted=0 bad=""
for i in 1 2 3 4 5 6; do
	if ! mkdir "$MNT/x$i" 2>"$TMP/x.err"; then
		grep -q 'No space left on device' "$TMP/x.err" && noted=1
		echo "# x$i: mkdir fails: $(cat "$TMP/x.err")"
		break
	fi
	until_ok 10 bash -c "grep -qE 'ready|failed' '$MNT/x$i/status'"
	st=$(timeout -s KILL 3 cat "$MNT/x$i/status")
	if [ "$st" = failed ]; then
		err=$(timeout -s KILL 3 cat "$MNT/x$i/error")
		echo "# x$i: failed: $err"
		if echo "$err" | grep -qi 'state'; then noted=1; else bad="$bad x$i(error does not name the state dir)"; fi
		until_ok 5 test -z "$(procs_in "$STATE/x$i")" || bad="$bad x$i(failed, but its processes run)"
	else
		P=$(session_pids "x$i")
		$PY - "$STATE/x$i/record.json" $P <<'PY' || bad="$bad x$i(ready, but its record does not name its processes: $P)"
import json, sys
def ints(v):
    if isinstance(v, dict): return [x for y in v.values() for x in ints(y)]
    if isinstance(v, list): return [x for y in v for x in ints(y)]
    return [v] if isinstance(v, (int, float)) else []
try:
    have = set(int(x) for x in ints(json.load(open(sys.argv[1]))))
except Exception:
    sys.exit(1)
sys.exit(0 if sys.argv[2:] and all(int(p) in have for p in sys.argv[2:]) else 1)
PY
		echo "# x$i: $st, pids $P, record: $(head -c 300 "$STATE/x$i/record.json" 2>/dev/null | tr '\n' ' ')"
	fi
done
check "the full state directory was noticed (ENOSPC, or a failed session naming it)" test "$noted" = 1
check "defect 7b: no session runs unrecorded on a full state directory${bad:+:$bad}" test -z "$bad"
for i in 1 2 3 4 5 6; do [ -d "$MNT/x$i" ] && timeout -s KILL 15 rmdir "$MNT/x$i"; done
rm -f "$FS/fill"
timeout -s KILL 15 rmdir "$MNT/ok"
unmount_deskfs
left=$(procs_in "$FS")
check "nothing is left running of them${left:+: $left}" test -z "$left"
finish
