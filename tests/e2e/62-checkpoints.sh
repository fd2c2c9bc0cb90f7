#!/usr/bin/env bash
# Checkpoints and restore of a VM session (issue 10, items 2 and 4): write a
# file through files/, mkdir checkpoints/c1, change the file, `restore c1`:
# the old contents are back, with a new id and token, the guest's clock set
# to the host's, and screenshot and actions working. ENOTSUP (with words) on
# an xvfb session. A checkpoint survives a daemon kill -9 and restart, and a
# restore from it still works. No qemu and no zombie is left.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
GUEST=$TOP/build/guest
[ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio" ] ||
	skip_all "no VM guest in build/guest (make guest runs contrib/build-guest.sh)"

OPTS=provider=qemu,width=640,height=480,ready_timeout=120
mount_deskfs -o $OPTS
echo 'create v1' >"$MNT/.ctl"
echo 'create x1 provider=xvfb' >"$MNT/.ctl"
V=$MNT/v1
check_eq "the VM boots" ready "$(timeout 150 cat "$V/screenshot.png" >/dev/null; cat "$V/status")"
check "session.json lists checkpoints among its capabilities" python3 -c "
import json,sys; sys.exit('checkpoints' not in json.load(open('$V/session.json'))['capabilities'])"
check "checkpoints/ is in the session and empty" test -d "$V/checkpoints" -a -z "$(ls "$V/checkpoints")"

echo old >"$V/files/root/note.txt"
t0=$(ms_now)
check "mkdir checkpoints/c1" mkdir "$V/checkpoints/c1"
echo "# mkdir checkpoints/c1 (256 MB guest): $(($(ms_now) - t0)) ms"
check_eq "ls checkpoints/ lists c1" c1 "$(ls "$V/checkpoints")"
check_eq "  its info.json: kind mapped" mapped "$(jfield "$V/checkpoints/c1/info.json" kind)"
check_eq "  and its session" v1 "$(jfield "$V/checkpoints/c1/info.json" session)"
check "  a second mkdir of c1: EEXIST" bash -c "! mkdir '$V/checkpoints/c1' 2>&1 | grep -q . || mkdir '$V/checkpoints/c1' 2>&1 | grep -q 'File exists'"
check "  a bad name is refused" bash -c "! mkdir '$V/checkpoints/-x' 2>/dev/null"
check_eq "the session runs on after the checkpoint" ready "$(cat "$V/status")"
echo new >"$V/files/root/note.txt"
check_eq "  the file changed" new "$(cat "$V/files/root/note.txt")"

id0=$(jfield "$V/session.json" id)
tok0=$(cat "$STATE/v1/token")
port0=$(python3 -c "import json; print(json.load(open('$V/session.json'))['vm']['host_port'])")
qpid0=$(python3 -c "import json; print(json.load(open('$V/session.json'))['pids']['qemu'])")
sleep 3 # the checkpoint's clock is now 3 s behind
t0=$(ms_now)
check "echo 'restore c1' > ctl" bash -c "echo 'restore c1' > '$V/ctl'"
echo "# restore c1: $(($(ms_now) - t0)) ms"
check_eq "  ready again" ready "$(cat "$V/status")"
check_eq "  the file's old contents are back" old "$(cat "$V/files/root/note.txt")"
check "  a new id" test "$id0" != "$(jfield "$V/session.json" id)"
check "  a new token" test "$tok0" != "$(cat "$STATE/v1/token")"
check "  a new qemu" test "$qpid0" != "$(python3 -c "import json; print(json.load(open('$V/session.json'))['pids']['qemu'])")"
check "  the old qemu is gone" all_dead "$qpid0"
echo "# hostfwd port $port0 -> $(python3 -c "import json; print(json.load(open('$V/session.json'))['vm']['host_port'])")"
check "  the checkpoint's token no longer opens the agent" bash -c "
	url=\$(python3 -c \"import json; print(json.load(open('$V/session.json'))['agent']['endpoint'])\")
	code=\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $tok0' \"\$url/v1/health\")
	[ \"\$code\" = 401 ]"
run_wait "$V" d1 date +%s >/dev/null
g=$(cat "$V/procs/d1/stdout"); h=$(date +%s)
check "  the guest's clock is the host's (guest $g, host $h)" test $((h - g)) -le 2 -a $((g - h)) -le 2
check "  a screenshot after the restore" bash -c "timeout 30 cat '$V/screenshot.png' | head -c 8 | grep -q PNG"
check "  an action after the restore" bash -c "echo 'click 10 10' > '$V/actions'"

# ENOTSUP where it cannot work
check "xvfb: mkdir checkpoints/c1 fails ENOTSUP" bash -c \
	"timeout 30 cat '$MNT/x1/status' >/dev/null; mkdir '$MNT/x1/checkpoints/c1' 2>&1 | grep -q 'not supported'"
check "  its error says why" grep -q "cannot checkpoint" "$MNT/x1/error"
check "  session.json has no checkpoints capability" python3 -c "
import json,sys; sys.exit('checkpoints' in json.load(open('$MNT/x1/session.json'))['capabilities'])"
check "  restore on xvfb fails" bash -c "! echo 'restore c1' > '$MNT/x1/ctl' 2>/dev/null"
check "restore of a checkpoint that is not there: ENOENT" bash -c "! echo 'restore nope' > '$V/ctl' 2>/dev/null"

# a daemon crash: checkpoints are files; the VM is re-attached, and restores still work
qpid=$(python3 -c "import json; print(json.load(open('$V/session.json'))['pids']['qemu'])")
crash_deskfs
fusermount3 -uz "$MNT" 2>/dev/null
mount_deskfs -o $OPTS
check_eq "after kill -9 and a restart, the VM is back" ready "$(timeout 60 sh -c "until [ \"\$(cat '$V/status' 2>/dev/null)\" = ready ]; do sleep 0.2; done; cat '$V/status'")"
check_eq "  and c1 still listed" c1 "$(ls "$V/checkpoints")"
echo new2 >"$V/files/root/note.txt"
check "  restore c1 after the restart" bash -c "echo 'restore c1' > '$V/ctl'"
check_eq "  the old contents again" old "$(cat "$V/files/root/note.txt")"
check "  the crashed daemon's qemu was replaced and is gone" all_dead "$qpid"
check "rmdir checkpoints/c1" rmdir "$V/checkpoints/c1"
check "  gone from the state directory" test ! -e "$STATE/v1/checkpoints/c1"
qpid=$(python3 -c "import json; print(json.load(open('$V/session.json'))['pids']['qemu'])")
check "rmdir of the VM session" rmdir "$V"
check "  its qemu is gone" all_dead "$qpid"
check "  its memory file is gone" bash -c "! ls /dev/shm/deskfs-*/v1.ram 2>/dev/null | grep -q ."
check "rmdir of the xvfb session" rmdir "$MNT/x1"
finish
