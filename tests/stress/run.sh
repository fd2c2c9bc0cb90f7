#!/usr/bin/env bash
# run.sh - `make stress`: the FUSE-surface fuzzer (build/tests/stress, from
# stress.c and watch.c) against a real deskfs mount, as two users, while
# desktops are killed under it.
#
#	make stress                               (builds with SANITIZE=1 first)
#	STRESS_SECONDS=120 STRESS_THREADS=8 STRESS_QEMU=1 tests/stress/run.sh
#	STRESS_ONLY="dup+close race" tests/stress/run.sh   (only those operations)
#
# It mounts with allow_other (root and uid 65534 share it), lets the tool
# run STRESS_SECONDS (600), then removes every session and checks, each an
# "ok"/"not ok" line: the tool's own checks (the daemon did not crash, no
# thread stuck in D state, the workers ended, no lingering zombie); the
# daemon's descriptors with no session are what they were before; the
# unmount (lib.sh: no zombie children, the daemon exits 0 by itself); no
# Xvfb, agent or qemu of the daemon outlives it, recorded or not; and no
# sanitizer report. It ends with "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
[ "$(id -u)" -eq 0 ] || skip_all "needs root: allow_other, and a second uid"
STRESS=$TOOLS/stress
[ -x "$STRESS" ] || { echo "no $STRESS (make all)"; exit 1; }
SECS=${STRESS_SECONDS:-600}
THREADS=${STRESS_THREADS:-8}

# Sanitizer reports of the daemon, its agents and the tool; the other
# uid's worker must be able to write there too.
SAN_DIR=$TMP/san
mkdir -p "$SAN_DIR"
chmod 1777 "$SAN_DIR"
chmod 0755 "$TMP"
export ASAN_OPTIONS="log_path=$SAN_DIR/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$SAN_DIR/ubsan:print_stacktrace=1"

fd_count() { ls "/proc/$DPID/fd" 2>/dev/null | wc -l; }
thread_count() { awk '/^Threads/ {print $2}' "/proc/$DPID/status" 2>/dev/null; }

mount_deskfs -o allow_other,width=320,height=200,ready_timeout=5,agent_timeout=5,max_sessions=16
# one session made and removed first: descriptors the daemon opens once
# (libcurl, the first session's state, the agent client's loop thread for
# parked reads) are in the "before" count
mkdir "$MNT/warmup"
timeout 30 cat "$MNT/warmup/screenshot.png" >/dev/null
echo 'click 1 1' >"$MNT/warmup/actions"
echo 'start w -- true' >"$MNT/warmup/procs/ctl" && timeout 30 cat "$MNT/warmup/procs/w/exit" >/dev/null
rmdir "$MNT/warmup"
FD0=$(fd_count)
TH0=$(thread_count)
echo "# daemon $DPID: $FD0 descriptors, $TH0 threads with no session"

# (into a file, not a pipe: a worker stuck in the kernel would hold a pipe open)
: >"$TMP/stress.out"
"$STRESS" -m "$MNT" -d "$DPID" -s "$SECS" -t "$THREADS" -c "$TMP/children" -k "$TMP/stuck" \
	${STRESS_QEMU:+-q} ${STRESS_ONLY:+-o "$STRESS_ONLY"} >>"$TMP/stress.out" 2>&1 &
SPID=$!
tail -n +1 --pid="$SPID" -f "$TMP/stress.out"
wait "$SPID"
while read -r line; do
	case "$line" in
	"ok - "*) T_PASS=$((T_PASS + 1)) ;;
	"not ok - "*) T_FAIL=$((T_FAIL + 1)) ;;
	esac
done <"$TMP/stress.out"
grep -q '^ok - the daemon ran to the end' "$TMP/stress.out" ||
	grep -q '^not ok - the daemon ran to the end' "$TMP/stress.out" ||
	not_ok "the stress tool ended without its report"
# workers the kernel holds: the clean-up frees them (it aborts the FUSE connection)
for p in $(cat "$TMP/stuck" 2>/dev/null); do T_PIDS="$T_PIDS $p"; done

if kill -0 "$DPID" 2>/dev/null; then
	# every session goes (root may remove the other uid's too)
	for d in "$MNT"/*; do
		[ -d "$d" ] && timeout 60 rmdir "$d" 2>/dev/null
	done
	check_eq "every session can be removed after the run" "" "$(timeout 10 ls "$MNT" 2>&1)"
	# every warm pool drains: its members are sessions too (hidden ones)
	for t in $(python3 -c "import json; print(' '.join(p['template'] for p in json.load(open('$MNT/.pools.json'))['pools']))" 2>/dev/null); do
		echo "pool $t size=0" >"$MNT/.ctl"
	done
	check "every pool drains after the run" wait_long 30 \
		python3 -c "import json,sys; sys.exit(1 if json.load(open('$MNT/.pools.json'))['pools'] else 0)"
	check "  and no member is left" wait_long 30 bash -c "! ls -A '$STATE' | grep -q '^\.pool-'"
	sleep 0.5
	FD1=$(fd_count)
	TH1=$(thread_count)
	echo "# daemon $DPID: $FD1 descriptors, $TH1 threads with no session, after the run"
	check_eq "the daemon's descriptors with no session are what they were before" "$FD0" "$FD1"
	[ "$FD1" = "$FD0" ] || ls -l "/proc/$DPID/fd" | tail -n +2 | sed 's/^/# /' | tail -n 30
fi
DSTATE=$STATE
t_stop_pids
unmount_deskfs # with its checks (zombies, exit status)

# whatever the daemon started must be gone now: every child the tool saw
# (pid and start time), and every process a record names
leaked=""
while read -r pid start comm; do
	line=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
	set -- ${line##*) }
	[ "$1" != Z ] && [ "${20}" = "$start" ] && leaked="$leaked $pid($(cat "/proc/$pid/comm" 2>/dev/null))"
done <"$TMP/children"
check "no Xvfb, agent or qemu the daemon started outlives the unmount" test -z "$leaked"
[ -z "$leaked" ] || echo "# still running:$leaked"
for p in $leaked; do kill -9 "${p%%(*}" 2>/dev/null; done
check_eq "no session record is left in the state directory" "" \
	"$(ls "$DSTATE"/*/record.json 2>/dev/null | tr '\n' ' ')"

reports=$(ls "$SAN_DIR" 2>/dev/null)
check "no sanitizer report (daemon, agents, the tool)" test -z "$reports"
for r in $reports; do
	echo "# ---- $r"
	head -n 40 "$SAN_DIR/$r" | sed 's/^/# /'
done
finish
