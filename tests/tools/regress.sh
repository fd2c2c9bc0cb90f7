# regress.sh - helpers shared by the regression tests of issue 8
# (tests/e2e/15-19). Source it after tests/lib.sh:
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$TOP/tests/tools/regress.sh"
#	spawn "$TMP/r1" cat "$MNT/s/screenshot.png"   # in the background, timed
#	await "$TMP/r1" 5 && echo "rc=$RC after $MS ms"  # poll, never block
#
# Every wait here is bounded without ever calling wait(2) on something that
# may sit in D state on a hung mount: commands run in a process group of
# their own (setsid), their exit status and elapsed time land in files, we
# poll those files, and on a timeout we SIGKILL the group and move on.

# Other users get a plain PATH and HOME: root's (pyenv shims in /root) are not theirs.
SYS_ENV=(env PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/nonexistent)
AS_B=(setpriv --reuid=65534 --regid=65534 --clear-groups -- "${SYS_ENV[@]}") # user B
AS_C=(setpriv --reuid=65533 --regid=65533 --clear-groups -- "${SYS_ENV[@]}") # a third user
PY=/usr/bin/python3
# lib.sh's merged cookie file must stay root's even when a test opens $TMP to others
chmod 0600 "${XAUTHORITY:-/dev/null}" 2>/dev/null
# as_b/as_c CMD...: CMD as that user, killed after 20 s (for calls that should not hang)
as_b() { timeout -s KILL 20 "${AS_B[@]}" "$@"; }
as_c() { timeout -s KILL 20 "${AS_C[@]}" "$@"; }
# tk CMD...: CMD killed after 20 s (mkdir, rmdir, writes on the mount)
tk() { timeout -s KILL 20 "$@"; }
R_GROUPS="" # process groups spawned, killed at exit

# q CMD...: CMD with its output discarded (for check lines)
q() { "$@" >/dev/null 2>&1; }

# jget FILE PYEXPR: a value from a JSON file (j is the parsed file), "" on error
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# spawn PREFIX CMD...: run CMD in the background in its own process group.
# (Inside CMD, use `timeout --foreground`: plain timeout moves its child to a
# group of its own, out of reach of the clean-up.)
# PREFIX.out / .err get its output, PREFIX.ms its elapsed ms, PREFIX.rc its
# exit status (written last), PREFIX.pgid the group.
spawn() {
	local pre=$1
	shift
	rm -f "$pre.rc" "$pre.ms" "$pre.out" "$pre.err"
	setsid bash -c 'pre=$1; shift; t0=$(date +%s%N); "$@" >"$pre.out" 2>"$pre.err"; rc=$?
		echo $((($(date +%s%N) - t0) / 1000000)) >"$pre.ms"; echo $rc >"$pre.rc.t"; mv "$pre.rc.t" "$pre.rc"' \
		_ "$pre" "$@" </dev/null &
	echo $! >"$pre.pgid"
	disown $! # polled through its files, never waited for; and no "Killed" notices
	R_GROUPS="$R_GROUPS $!"
}

# await PREFIX SECS: poll up to SECS for a spawned command. 0 and RC, MS set
# when it ended; 1 (RC=timeout, MS=-1) when it did not: then its group is
# SIGKILLed and left (never waited for: it may be stuck in the kernel).
await() {
	local pre=$1 end=$(($(date +%s%N) + $(awk -v s="$2" 'BEGIN{printf "%d", s * 1000}') * 1000000))
	while [ ! -e "$pre.rc" ] && [ "$(date +%s%N)" -lt "$end" ]; do sleep 0.02; done
	if [ -e "$pre.rc" ]; then
		RC=$(cat "$pre.rc")
		MS=$(cat "$pre.ms")
		return 0
	fi
	kill -9 -- "-$(cat "$pre.pgid")" 2>/dev/null
	RC=timeout
	MS=-1
	return 1
}

# bounded SECS PREFIX CMD...: spawn and await; 0 when CMD ended in time
# (whatever its status: see RC), 1 when it did not.
bounded() {
	local secs=$1 pre=$2
	shift 2
	spawn "$pre" "$@"
	await "$pre" "$secs"
}

# ok_within SECS CMD...: CMD ends within SECS with status 0
ok_within() {
	local pre
	pre=$(mktemp -u "$TMP/ow.XXXXXX")
	bounded "$1" "$pre" "${@:2}" && [ "$RC" = 0 ]
}
# fails_within SECS CMD...: CMD ends within SECS with a non-zero status
fails_within() {
	local pre
	pre=$(mktemp -u "$TMP/fw.XXXXXX")
	bounded "$1" "$pre" "${@:2}" && [ "$RC" != 0 ]
}

# until_ok SECS CMD...: run CMD every 50 ms until it succeeds, for up to SECS
# seconds. CMD (a function or a program) must bound each try itself.
until_ok() {
	local end=$(($(date +%s%N) + $(awk -v s="$1" 'BEGIN{printf "%d", s * 1000}') * 1000000))
	shift
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# status_is SESSION WORD [AS...]: the session's status file says WORD
status_is() { [ "$(timeout -s KILL 3 "${@:3}" cat "$MNT/$1/status" 2>/dev/null)" = "$2" ]; }

# try_mount OPTS...: like lib.sh's mount_deskfs (same MNT STATE DLOG DPID),
# but returns 1 instead of exiting when the daemon does not mount (an option
# the daemon does not know yet must fail one check, not the whole file).
try_mount() {
	MNT=$TMP/mnt
	STATE=${STATE_OVERRIDE:-$TMP/state}
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
	echo "# mount failed: $(tr '\n' ' ' <"$DLOG")"
	kill -9 "$DPID" 2>/dev/null
	DPID=""
	return 1
}

# crash_daemon: kill -9 the daemon and clear its dead mount
crash_daemon() {
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=""
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
}

# another_daemon DIR MOUNTPOINT OPTS...: start a second deskfs, wait up to 5 s
# for it to mount or to exit. Sets AD_PID, AD_LOG, AD_RC (its exit status,
# or "mounted", or "running" when it did neither).
another_daemon() {
	local dir=$1 mp=$2
	shift 2
	AD_LOG=$(mktemp "$TMP/ad.XXXXXX")
	mkdir -p "$mp"
	"$BIN/deskfs" -f -o "statedir=$dir" "$@" "$mp" 2>"$AD_LOG" &
	AD_PID=$!
	AD_RC=running
	local i
	for i in $(seq 1 100); do
		if grep -q " $mp fuse" /proc/mounts; then
			AD_RC=mounted
			break
		fi
		if ! kill -0 "$AD_PID" 2>/dev/null; then
			wait "$AD_PID"
			AD_RC=$?
			AD_PID=""
			break
		fi
		sleep 0.05
	done
	[ -n "$AD_PID" ] && AD_MOUNTS="${AD_MOUNTS:-} $AD_PID:$mp"
}

# drop_other_daemons: kill -9 the daemons another_daemon left (never a clean
# unmount: on the current code that would destroy the first daemon's
# sessions), and clear their mounts.
drop_other_daemons() {
	local e i
	for e in ${AD_MOUNTS:-}; do
		kill -9 "${e%%:*}" 2>/dev/null
		for i in $(seq 1 100); do kill -0 "${e%%:*}" 2>/dev/null || break; sleep 0.02; done
		kill -0 "${e%%:*}" 2>/dev/null || wait "${e%%:*}" 2>/dev/null
		fusermount3 -u "${e#*:}" 2>/dev/null || fusermount3 -uz "${e#*:}" 2>/dev/null
	done
	AD_MOUNTS=""
}

# procs_in DIR: live (non-zombie) processes, other than this shell's own,
# whose command line names DIR or that hold a file under DIR open
procs_in() {
	python3 - "$1" "$$" <<'PY'
import os, sys
d, me = sys.argv[1], int(sys.argv[2])
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) in (me, os.getpid(), os.getppid()):
        continue
    try:
        st = open("/proc/%s/stat" % p).read()
        if st[st.rindex(")") + 2] in "ZX":
            continue
        cmd = open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        continue
    hit = d in cmd and "python3 -" not in cmd
    if not hit:
        try:
            for fd in os.listdir("/proc/%s/fd" % p):
                try:
                    if os.readlink("/proc/%s/fd/%s" % (p, fd)).startswith(d + "/"):
                        hit = True
                        break
                except OSError:
                    pass
        except OSError:
            pass
    if hit:
        print(p, cmd[:120])
PY
}

# kill_procs_in DIR: SIGKILL what procs_in finds (a leak the test detected)
kill_procs_in() {
	local p
	for p in $(procs_in "$1" | awk '{print $1}'); do kill -9 "$p" 2>/dev/null; done
}

# zombie_children PID: the zombies whose parent is PID
zombie_children() {
	python3 - "$1" <<'PY'
import os, sys
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        st = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    f = st[st.rindex(")") + 2:].split()
    if f[0] == "Z" and f[1] == sys.argv[1]:
        print(p)
PY
}

# At exit: kill what spawn started and the daemons another_daemon left, then
# the test's own local_cleanup if it has one (e.g. unmount a tmpfs: it runs
# before lib.sh's clean-up removes $TMP), then lib.sh's t_cleanup.
r_cleanup() {
	local g
	for g in $R_GROUPS; do kill -9 -- "-$g" 2>/dev/null; done
	drop_other_daemons
	if declare -F local_cleanup >/dev/null; then local_cleanup; fi
	t_cleanup
}
trap r_cleanup EXIT
