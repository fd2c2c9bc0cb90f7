#!/usr/bin/env bash
# bench-vm.sh - `make bench`: checkpoints and forks of VM sessions under TCG
# (issue 10's numbers), printed as the issue's table with its goals.
#
#	tests/bench-vm.sh            (BENCH_FORKS=10 forks for the last row)
#
# create from= -> runtime_ready: the .ctl write returns once the fork is ready
# (median of 5); mkdir checkpoints/C of a 256 MB guest (median of 5); PSS of
# an idle fork (Pss of /proc/PID/smaps_rollup, 5 s after it is ready, while
# 3 forks share the checkpoint); N forks created at once, all ready.
. "$(dirname "$0")/lib.sh"
need_fuse
need_xvfb
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
[ -s "$TOP/build/guest/vmlinux" ] || skip_all "no VM guest (make guest)"
N=${BENCH_FORKS:-10}
ms_now() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
qpid() { python3 -c "import json; print(json.load(open('$MNT/$1/session.json'))['pids']['qemu'])"; }
pss_mb() { awk '/^Pss:/ {printf "%d", $2/1024}' "/proc/$1/smaps_rollup"; }
rss_mb() { awk '/^Rss:/ {printf "%d", $2/1024}' "/proc/$1/smaps_rollup"; }

mount_deskfs -o provider=qemu,width=640,height=480,ready_timeout=120,max_sessions=40
echo 'create src memory=256' >"$MNT/.ctl"
timeout 150 cat "$MNT/src/screenshot.png" >/dev/null
[ "$(cat "$MNT/src/status")" = ready ] || { not_ok "the source VM boots"; finish; exit 1; }
sleep 2
cold_rss=$(rss_mb "$(qpid src)")
for i in 1 2 3 4 5; do
	t0=$(ms_now); mkdir "$MNT/src/checkpoints/m$i"; echo $(($(ms_now) - t0))
done >"$TMP/mkdir.txt"
mk=$(median <"$TMP/mkdir.txt")
ramkb=$(du -k "$STATE/src/checkpoints/m1/ram" | cut -f1)
for i in 1 2 3 4 5; do
	t0=$(ms_now); echo "create f$i from=src/m1" >"$MNT/.ctl"; echo $(($(ms_now) - t0))
	[ "$i" -gt 3 ] && rmdir "$MNT/f$i"
done >"$TMP/fork.txt"
fk=$(median <"$TMP/fork.txt")
sleep 5
pss=$(for i in 1 2 3; do pss_mb "$(qpid f$i)"; echo; done | median)
frss=$(rss_mb "$(qpid f1)")
for i in 1 2 3; do rmdir "$MNT/f$i"; done
t0=$(ms_now)
pids=""
for i in $(seq 1 "$N"); do echo "create g$i from=src/m1" >"$MNT/.ctl" & pids="$pids $!"; done
wait $pids # (a bare wait would wait for the daemon too)
all=$(($(ms_now) - t0))
ready=0
for i in $(seq 1 "$N"); do [ "$(cat "$MNT/g$i/status" 2>/dev/null)" = ready ] && ready=$((ready + 1)); done
check_eq "$N forks all ready" "$N" "$ready"
for i in $(seq 1 "$N"); do rmdir "$MNT/g$i" 2>/dev/null; done
rmdir "$MNT/src"

cat <<TABLE
# Checkpoints and forks under TCG (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), $(nproc) cores)
| work | measured | goal under TCG here | anchor |
|---|---|---|---|
| \`create from=\` (restore) -> \`runtime_ready\` | ${fk} ms (median of 5: $(tr '\n' ' ' <"$TMP/fork.txt")) | <= 400 ms | cold boot 3 s here; E2B resume "a few hundred ms" |
| \`mkdir checkpoints/C\`, 256 MB guest | ${mk} ms (median of 5; ram ${ramkb} KiB on disk) | <= 1 s | E2B pause ~4 s/GiB |
| PSS of an idle fork of a 256 MB guest | ${pss} MB (RSS ${frss} MB; 3 forks; cold VM RSS ${cold_rss} MB) | <= 100 MB | cold boot: ~290 MB RSS |
| $N forks of one checkpoint, all ready | ${all} ms ($ready ready) | <= 4 s | - |
TABLE
finish
