#!/usr/bin/env bash
# bench-core.sh - what one user or one hung agent costs everyone else
# (issue 8's numbers). Run through `make bench`, after bench.sh; reports,
# never gates. Writes build/bench-core.txt.
#
#	BENCH_N=200 tests/bench-core.sh
#
# Fairness: A (root) and B (uid 65534) share an allow_other mount. While B's
# session serves `wait 30000` with 200 readers of observation.json piled on
# it, A's `cat status` (p50/p99 of N runs) and A's screenshot (median of 20)
# are measured against the same with nothing else going on.
# Hung agent: a session with agent_timeout=3 whose agent is SIGSTOPped:
# what each of three concurrent screenshots costs, how long `status` takes
# to say failed, and what rmdir costs.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$TOP/bin
LAT=$TOP/tests/tools/latency.py
N=${BENCH_N:-200}
OUT=$TOP/build/bench-core.txt
TMP=$(mktemp -d /tmp/deskfs-benchcore.XXXXXX)
chmod 0755 "$TMP"
MNT=$TMP/mnt
DPID=""
PILE=""
AS_B="setpriv --reuid=65534 --regid=65534 --clear-groups"

cleanup() {
	local p
	for p in $PILE; do kill "$p" 2>/dev/null; done
	[ -n "${AG:-}" ] && kill -CONT "$AG" 2>/dev/null
	if [ -n "$DPID" ]; then
		fusermount3 -u "$MNT" 2>/dev/null
		for _ in $(seq 1 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$DPID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench-core: needs root (allow_other, a second uid)"; exit 0; }

ms_now() { date +%s%3N; }
mkdir -p "$MNT"
"$BIN/deskfs" -f -o "statedir=$TMP/state,allow_other,width=1280,height=800" "$MNT" 2>"$TMP/d.log" &
DPID=$!
for _ in $(seq 1 100); do grep -q " $MNT fuse" /proc/mounts && break; sleep 0.05; done
mkdir "$MNT/a1"
$AS_B mkdir "$MNT/b1"
cat "$MNT/a1/screenshot.png" >/dev/null
$AS_B cat "$MNT/b1/screenshot.png" >/dev/null

read -r q50 q99 qmax _ <<<"$(python3 "$LAT" "$N" 5 cat "$MNT/a1/status")"
read -r s50 _ <<<"$(python3 "$LAT" 20 5 cat "$MNT/a1/screenshot.png")"

$AS_B sh -c "echo 'wait 30000' > '$MNT/b1/actions'" 2>/dev/null &
PILE="$PILE $!"
for _ in $(seq 1 200); do
	$AS_B cat "$MNT/b1/observation.json" >/dev/null 2>&1 &
	PILE="$PILE $!"
done
sleep 1
read -r p50 p99 pmax _ <<<"$(python3 "$LAT" "$N" 5 cat "$MNT/a1/status")"
read -r ps50 _ <<<"$(python3 "$LAT" 20 5 cat "$MNT/a1/screenshot.png")"
t=$(ms_now)
$AS_B sh -c "echo stop > '$MNT/b1/ctl'"
stop_ms=$(($(ms_now) - t))
for p in $PILE; do kill "$p" 2>/dev/null; done
PILE=""

echo 'create h agent_timeout=3' >"$MNT/.ctl"
cat "$MNT/h/screenshot.png" >/dev/null
AG=$(python3 -c "import json; print(json.load(open('$MNT/h/session.json'))['pids']['agent'])")
kill -STOP "$AG"
SHOTS=""
for i in 1 2 3; do
	(t0=$(ms_now); cat "$MNT/h/screenshot.png" >/dev/null 2>&1; echo $(($(ms_now) - t0)) >"$TMP/shot.$i") &
	SHOTS="$SHOTS $!"
done
t=$(ms_now)
failed_ms="-"
for _ in $(seq 1 200); do
	if grep -q failed "$MNT/h/status"; then failed_ms=$(($(ms_now) - t)); break; fi
	sleep 0.05
done
for p in $SHOTS; do wait "$p"; done
shots="$(cat "$TMP/shot.1") / $(cat "$TMP/shot.2") / $(cat "$TMP/shot.3")"
t=$(ms_now)
rmdir "$MNT/h"
rm_ms=$(($(ms_now) - t))
kill -CONT "$AG" 2>/dev/null
AG=""

ratio=$(awk "BEGIN { printf(\"%.2f\", $ps50 / ($s50 > 0 ? $s50 : 1)) }")
{
	echo "deskfs bench-core - $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	printf '%-62s | %-22s | %s\n' "work" "measured" "target"
	printf '%-62s-|-%-22s-|-%s\n' "$(printf -- '-%.0s' $(seq 62))" "$(printf -- '-%.0s' $(seq 22))" "------"
	printf '%-62s | %-22s | %s\n' "A's cat status, quiet (p50 / p99 of $N)" "$q50 / $q99 ms" "-"
	printf '%-62s | %-22s | %s\n' "A's cat status while B piles 200 readers on wait 30000" "$p50 / $p99 ms" "p99 <= 10 ms"
	printf '%-62s | %-22s | %s\n' "A's screenshot 1280x800, quiet vs under B's pile (median)" "$s50 / $ps50 ms (${ratio}x)" "<= 2x"
	printf '%-62s | %-22s | %s\n' "B's echo stop > ctl during its wait 30000" "$stop_ms ms" "-"
	printf '%-62s | %-22s | %s\n' "hung agent (agent_timeout=3): 3 concurrent screenshots" "$shots ms" "each ~3000"
	printf '%-62s | %-22s | %s\n' "  status says failed after" "$failed_ms ms" "<= agent_timeout + 3 s"
	printf '%-62s | %-22s | %s\n' "  rmdir of the hung session" "$rm_ms ms" "<= agent_timeout + 3 s"
} | tee "$OUT"
exit 0
