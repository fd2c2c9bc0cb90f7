#!/usr/bin/env bash
# Forks of a checkpoint (issue 10, items 2, 4 and 6): two forks of one
# checkpoint are independent (tokens, ids and qemu pids differ, a write in
# one is invisible in the other, their random numbers differ), neither
# writes the checkpoint, settings that must be the checkpoint's are
# refused; a saved template survives rmdir of its source and a daemon kill
# -9 and restart, and forks; a fork's own checkpoint ("stream") restores and
# forks too. No qemu and no zombie is left.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
GUEST=$TOP/build/guest
[ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio" ] ||
	skip_all "no VM guest in build/guest (make guest runs contrib/build-guest.sh)"

pyj() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
qpid() { pyj "$MNT/$1/session.json" "d['pids']['qemu']"; }
OPTS=provider=qemu,width=640,height=480,ready_timeout=120
mount_deskfs -o $OPTS
echo 'create src' >"$MNT/.ctl"
check_eq "the source VM boots" ready "$(timeout 150 cat "$MNT/src/screenshot.png" >/dev/null; cat "$MNT/src/status")"
echo base >"$MNT/src/files/root/f.txt"
check "mkdir src/checkpoints/c1" mkdir "$MNT/src/checkpoints/c1"
C=$STATE/src/checkpoints/c1
sum0=$(md5sum <"$C/ram"); st0=$(stat -c %Y.%s "$C/ram")

t0=$(ms_now)
check "create a from=src/c1 (returns once ready)" bash -c "echo 'create a from=src/c1' > '$MNT/.ctl'"
echo "# create from= -> ready: $(($(ms_now) - t0)) ms"
check "create b from=src/c1 scale=320x240" bash -c "echo 'create b from=src/c1 scale=320x240' > '$MNT/.ctl'"
check_eq "  a is ready" ready "$(cat "$MNT/a/status")"
check_eq "  b is ready" ready "$(cat "$MNT/b/status")"
check_eq "  b took the safe override" 320x240 "$(pyj "$MNT/b/session.json" "d['settings']['scale']")"
check "  forks cannot change memory (EINVAL, with words)" bash -c \
	"! echo 'create c from=src/c1 memory=512' > '$MNT/.ctl' 2>/dev/null && test ! -e '$MNT/c'"
check "  nor the size" bash -c "! echo 'create c from=src/c1 size=800x600' > '$MNT/.ctl' 2>/dev/null"
check "  a checkpoint that is not there: refused" bash -c "! echo 'create c from=src/nope' > '$MNT/.ctl' 2>/dev/null"

check "  tokens differ" test "$(cat "$STATE/a/token")" != "$(cat "$STATE/b/token")"
check "  ids differ" test "$(jfield "$MNT/a/session.json" id)" != "$(jfield "$MNT/b/session.json" id)"
check "  qemu pids differ" test "$(qpid a)" != "$(qpid b)"
check "  neither has src's token" test "$(cat "$STATE/a/token")" != "$(cat "$STATE/src/token")"
check_eq "  both see the checkpoint's file" "base base" "$(cat "$MNT/a/files/root/f.txt") $(cat "$MNT/b/files/root/f.txt")"
echo only-a >"$MNT/a/files/root/f.txt"
check_eq "  a write in a is invisible in b" base "$(cat "$MNT/b/files/root/f.txt")"
check_eq "  and in src" base "$(cat "$MNT/src/files/root/f.txt")"
run_wait "$MNT/a" r1 head -c16 /dev/urandom >/dev/null
run_wait "$MNT/b" r1 head -c16 /dev/urandom >/dev/null
ra=$(od -An -tx1 "$MNT/a/procs/r1/stdout" | tr -d ' \n'); rb=$(od -An -tx1 "$MNT/b/procs/r1/stdout" | tr -d ' \n')
check "  their random numbers differ ($ra / $rb)" test -n "$ra" -a "$ra" != "$rb"
run_wait "$MNT/a" u1 cat /proc/sys/kernel/random/uuid >/dev/null
run_wait "$MNT/b" u1 cat /proc/sys/kernel/random/uuid >/dev/null
check "  and their uuids" test "$(cat "$MNT/a/procs/u1/stdout")" != "$(cat "$MNT/b/procs/u1/stdout")"
check "  an action in a fork" bash -c "echo 'click 5 5' > '$MNT/a/actions'"
check_eq "  the checkpoint's ram was never written" "$sum0 $st0" "$(md5sum <"$C/ram") $(stat -c %Y.%s "$C/ram")"
pa=$(pyj "$MNT/a/session.json" "d['pids']['qemu']")
pss=$(awk '/^Pss:/ {print int($2/1024)}' /proc/$pa/smaps_rollup)
echo "# PSS of fork a: ${pss} MB"

# a fork's checkpoint: its RAM is a private mapping, so it goes into the stream
check "mkdir a/checkpoints/s1 (a fork's checkpoint)" mkdir "$MNT/a/checkpoints/s1"
check_eq "  kind stream" stream "$(jfield "$MNT/a/checkpoints/s1/info.json" kind)"
check "  no ram file" test ! -e "$STATE/a/checkpoints/s1/ram"
check "create d from=a/s1 (a fork of a stream)" bash -c "echo 'create d from=a/s1' > '$MNT/.ctl'"
check_eq "  it has a's file" only-a "$(cat "$MNT/d/files/root/f.txt")"
check "  and its own checkpoint is mapped again" bash -c \
	"mkdir '$MNT/d/checkpoints/m1' && grep -q mapped '$MNT/d/checkpoints/m1/info.json'"
echo changed >"$MNT/a/files/root/f.txt"
check "restore a to s1 (a stream)" bash -c "echo 'restore s1' > '$MNT/a/ctl'"
check_eq "  a's file as it was at s1" only-a "$(cat "$MNT/a/files/root/f.txt")"

# saved templates
check "template save t1 from=src/c1" bash -c "echo 'template save t1 from=src/c1' > '$MNT/.ctl'"
check_eq "  it is in the state directory, kind checkpoint" checkpoint "$(jfield "$STATE/.templates/t1/info.json" kind)"
check "  saving it again: refused" bash -c "! echo 'template save t1 from=src/c1' > '$MNT/.ctl' 2>/dev/null"
srcpid=$(qpid src)
check "rmdir src (the template's source)" rmdir "$MNT/src"
check "  src's qemu is gone" all_dead "$srcpid"
check "  the template stays" test -s "$STATE/.templates/t1/ram"
check_eq "  fork a runs on (its pages outlive the checkpoint)" ready "$(cat "$MNT/a/status")"
pids="$(qpid a) $(qpid b) $(qpid d)"
crash_deskfs
fusermount3 -uz "$MNT" 2>/dev/null
mount_deskfs -o $OPTS
check "after kill -9 and a restart, the template is still there" test -s "$STATE/.templates/t1/info.json"
check "create e template=t1 (a fork of the saved template)" bash -c "echo 'create e template=t1' > '$MNT/.ctl'"
check_eq "  it has the checkpoint's file" base "$(cat "$MNT/e/files/root/f.txt")"
check "template delete t1" bash -c "echo 'template delete t1' > '$MNT/.ctl'"
check "  gone" test ! -e "$STATE/.templates/t1"
check_eq "  e runs on" ready "$(cat "$MNT/e/status")"
pids="$pids $(qpid e)"
for s in a b d e; do rmdir "$MNT/$s"; done
check "every fork's qemu is gone after rmdir" all_dead $pids
finish
