#!/usr/bin/env bash
# bench-procs.sh - procs/ and files/ against what people use instead (issue 9's
# numbers), side by side in one run. Run by `make bench` (which installs the
# bench set: openssh-server and sshfs); reports, never gates. Writes
# build/bench-procs.txt.
#
#	BENCH_N=100 BENCH_MB=256 tests/bench-procs.sh
#
# Program round trip: `echo 'start t -- true' > s/procs/ctl && cat s/procs/t/exit`
# as a whole shell command (sh, echo, cat), median of N, in an xvfb session
# and in a VM (TCG here), against `ssh localhost true` to an sshd of our own
# on 127.0.0.1 (a key, no password). Copy: cp of a BENCH_MB MB random file in
# and out of files/ (the local session's home in /run, tmpfs), against the
# same cp through sshfs to a directory in /run; and into a VM. A screenshot
# taken while a copy runs, against its quiet time (medians).
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$TOP/bin
N=${BENCH_N:-100}
MB=${BENCH_MB:-256}
OUT=$TOP/build/bench-procs.txt
TMP=$(mktemp -d /tmp/deskfs-benchprocs.XXXXXX)
RUNDIR=$(mktemp -d /run/deskfs-benchprocs.XXXXXX) # tmpfs, as the homes are
MNT=$TMP/mnt
SSHMNT=$TMP/sshfs
DPID="" SSHD="" COPY=""

cleanup() {
	[ -n "$COPY" ] && kill -- -"$COPY" 2>/dev/null
	mountpoint -q "$SSHMNT" 2>/dev/null && fusermount3 -u "$SSHMNT"
	[ -n "$SSHD" ] && kill "$SSHD" 2>/dev/null
	if [ -n "$DPID" ]; then
		fusermount3 -u "$MNT" 2>/dev/null
		for _ in $(seq 1 300); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$DPID" 2>/dev/null
	fi
	rm -rf "$TMP" "$RUNDIR"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench-procs: needs root (sshd, mounts)"; exit 0; }

ms_now() { date +%s%3N; }
med() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf("%.1f", v[int((NR + 1) / 2)]); else printf("-") }'; }
# round_trips SESSDIR N PREFIX: each "run and wait" as a whole command, in ms, one a line
round_trips() {
	python3 - "$1" "$2" "$3" <<'PY'
import os, subprocess, sys, time
s, n, pre = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    t = "%s%d" % (pre, i)
    cmd = "echo 'start %s -- true' > %s/procs/ctl && cat %s/procs/%s/exit" % (t, s, s, t)
    t0 = time.monotonic()
    r = subprocess.run(["sh", "-c", cmd], stdout=subprocess.DEVNULL)
    dt = (time.monotonic() - t0) * 1000
    print("%.2f" % dt if r.returncode == 0 else "fail")
    try:
        os.rmdir("%s/procs/%s" % (s, t))  # the agent keeps 256 programs at most
    except OSError:
        pass
PY
}
# copy_rate SRC DST: MB/s of one cp (a fresh page cache for the source first)
copy_rate() {
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	local t0 t1
	t0=$(ms_now)
	cp "$1" "$2" || { echo fail; return; }
	t1=$(ms_now)
	awk "BEGIN { printf(\"%.0f\", $MB * 1000 / ($t1 - $t0 + 1)) }"
}
# copy_loop DST: cp the source to DST again and again, in a process group of its own
copy_loop() {
	setsid bash -c 'while :; do cp "$1" "$2"; done' copy "$RUNDIR/src.bin" "$1" &
	COPY=$!
}
copy_stop() {
	kill -- -"$COPY" 2>/dev/null
	wait "$COPY" 2>/dev/null
	COPY=""
}
# shots SESSDIR K: medians of K screenshots, whole cat commands, in ms
shots() {
	local i t0
	for i in $(seq 1 "$2"); do
		t0=$(date +%s%N)
		cat "$1/screenshot.png" >/dev/null
		echo "$((($(date +%s%N) - t0) / 1000)) 1000" | awk '{ printf("%.2f\n", $1 / $2) }'
	done | med
}

# ---- deskfs: an xvfb session and a VM ----
mkdir -p "$MNT"
"$BIN/deskfs" -f -o "statedir=$TMP/state,width=1280,height=800,ready_timeout=150" "$MNT" 2>"$TMP/d.log" &
DPID=$!
for _ in $(seq 1 100); do grep -q " $MNT fuse" /proc/mounts && break; sleep 0.05; done
mkdir "$MNT/l"
cat "$MNT/l/screenshot.png" >/dev/null
head -c $((MB * 1048576)) /dev/urandom >"$RUNDIR/src.bin"

rt_local=$(round_trips "$MNT/l" "$N" r | grep -v fail | med)
in_local=$(copy_rate "$RUNDIR/src.bin" "$MNT/l/files/copy.bin")
out_local=$(copy_rate "$MNT/l/files/copy.bin" "$RUNDIR/back.bin")
cmp -s "$RUNDIR/src.bin" "$RUNDIR/back.bin" || out_local="$out_local (DIFFERS)"
rm -f "$RUNDIR/back.bin"
quiet=$(shots "$MNT/l" 20)
copy_loop "$MNT/l/files/copy2.bin"
sleep 1
busy=$(shots "$MNT/l" 20)
copy_stop
rm -f "$MNT/l/files/copy.bin" "$MNT/l/files/copy2.bin"

rt_vm="-" in_vm="-" out_vm="-" vquiet="-" vbusy="-" accel="-"
if [ -s "$TOP/build/guest/vmlinux" ] || [ -n "${DESKFS_GUEST:-}" ]; then
	echo 'create v provider=qemu memory=1024 width=1280 height=800' >"$MNT/.ctl"
	if timeout 180 cat "$MNT/v/screenshot.png" >/dev/null 2>&1; then
		accel=$(python3 -c "import json; print(json.load(open('$MNT/v/session.json'))['vm']['accel'])")
		rt_vm=$(round_trips "$MNT/v" 20 r | grep -v fail | med)
		in_vm=$(copy_rate "$RUNDIR/src.bin" "$MNT/v/files/copy.bin")
		out_vm=$(copy_rate "$MNT/v/files/copy.bin" "$RUNDIR/back.bin")
		cmp -s "$RUNDIR/src.bin" "$RUNDIR/back.bin" || out_vm="$out_vm (DIFFERS)"
		rm -f "$RUNDIR/back.bin"
		vquiet=$(shots "$MNT/v" 10)
		copy_loop "$MNT/v/files/copy2.bin"
		sleep 2
		vbusy=$(shots "$MNT/v" 10)
		copy_stop
		rm -f "$MNT/v/files/copy.bin" "$MNT/v/files/copy2.bin"
		rmdir "$MNT/v"
	fi
fi

# ---- the peers: ssh and sshfs to an sshd of our own ----
rt_ssh="-" in_sshfs="-" out_sshfs="-"
SSHD_BIN=$(command -v sshd || echo /usr/sbin/sshd)
if [ -x "$SSHD_BIN" ] && command -v ssh >/dev/null; then
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/host" && ssh-keygen -q -t ed25519 -N '' -f "$TMP/user"
	cp "$TMP/user.pub" "$TMP/authorized_keys"
	PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
	cat >"$TMP/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $TMP/host
AuthorizedKeysFile $TMP/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $TMP/sshd.pid
Subsystem sftp internal-sftp
EOF
	mkdir -p /run/sshd
	"$SSHD_BIN" -D -e -f "$TMP/sshd_config" 2>"$TMP/sshd.log" &
	SSHD=$!
	SSHOPTS="-p $PORT -i $TMP/user -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
	for _ in $(seq 1 100); do ssh $SSHOPTS root@127.0.0.1 true 2>/dev/null && break; sleep 0.1; done
	rt_ssh=$(for i in $(seq 1 20); do
		t0=$(date +%s%N)
		ssh $SSHOPTS root@127.0.0.1 true && echo "$((($(date +%s%N) - t0) / 1000))" | awk '{ printf("%.2f\n", $1 / 1000) }'
	done | med)
	if command -v sshfs >/dev/null; then
		mkdir -p "$SSHMNT" "$RUNDIR/remote"
		sshfs -p "$PORT" -o "IdentityFile=$TMP/user,StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes" \
			"root@127.0.0.1:$RUNDIR/remote" "$SSHMNT" &&
			{
				in_sshfs=$(copy_rate "$RUNDIR/src.bin" "$SSHMNT/copy.bin")
				out_sshfs=$(copy_rate "$SSHMNT/copy.bin" "$RUNDIR/back.bin")
				fusermount3 -u "$SSHMNT"
			}
	fi
fi

ratio() { awk "BEGIN { if ($2 > 0 && \"$1\" != \"-\") printf(\"%.1fx\", $1 / $2); else printf(\"-\") }" 2>/dev/null; }
{
	echo "deskfs bench-procs - $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	printf '%-58s | %-16s | %-22s | %s\n' "work" "deskfs" "peer" "ratio (target)"
	printf '%-58s-|-%-16s-|-%-22s-|-%s\n' "$(printf -- '-%.0s' $(seq 58))" "$(printf -- '-%.0s' $(seq 16))" "$(printf -- '-%.0s' $(seq 22))" "--------------"
	printf '%-58s | %-16s | %-22s | %s\n' "run and wait 'true' (echo start + cat exit), xvfb session" "$rt_local ms" "ssh localhost true $rt_ssh ms" "$(ratio "$rt_ssh" "$rt_local") faster (>= 20x; <= 2 ms)"
	printf '%-58s | %-16s | %-22s | %s\n' "run and wait 'true', VM ($accel)" "$rt_vm ms" "" "(<= 50 ms)"
	printf '%-58s | %-16s | %-22s | %s\n' "cp $MB MB in to files/, xvfb session" "$in_local MB/s" "sshfs $in_sshfs MB/s" "$(ratio "$in_local" "$in_sshfs") (>= 1x)"
	printf '%-58s | %-16s | %-22s | %s\n' "cp $MB MB out of files/, xvfb session" "$out_local MB/s" "sshfs $out_sshfs MB/s" "$(ratio "$out_local" "$out_sshfs") (>= 1x)"
	printf '%-58s | %-16s | %-22s | %s\n' "cp $MB MB in / out, VM ($accel)" "$in_vm / $out_vm MB/s" "" "(>= 50 MB/s)"
	printf '%-58s | %-16s | %-22s | %s\n' "screenshot 1280x800, quiet / during a $MB MB copy, xvfb" "$quiet / $busy ms" "" "$(ratio "$busy" "$quiet") (<= 2x)"
	printf '%-58s | %-16s | %-22s | %s\n' "screenshot, quiet / during a copy, VM" "$vquiet / $vbusy ms" "" "$(ratio "$vbusy" "$vquiet") (<= 2x)"
} | tee "$OUT"
exit 0
