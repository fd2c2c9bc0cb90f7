#!/usr/bin/env bash
# procs/ and files/ in a VM session (provider=qemu, busybox in the guest):
# the same checks as 40-procs and 41-files (tests/procs.sh), served by the
# agent inside the VM as the guest's root; files/ is the guest's /, and
# its files appear as the session owner's. A 256 MB random file goes in
# and out whole (the guest lives in RAM: memory=1024); reads by the bulk channel.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
GUEST=$TOP/build/guest
[ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio" ] ||
	skip_all "no VM guest in build/guest (make guest runs contrib/build-guest.sh)"

mount_deskfs -o provider=qemu,width=640,height=480,ready_timeout=120
echo 'create v1 memory=1024' >"$MNT/.ctl"
echo 'create x1 provider=xvfb' >"$MNT/.ctl"
V=$MNT/v1
t0=$(ms_now)
check_eq "the VM boots" ready "$(timeout 150 cat "$V/screenshot.png" >/dev/null; cat "$V/status")"
echo "# VM ready after $(($(ms_now) - t0)) ms"
check "files/ is the guest's / (its busybox is there)" test -e "$V/files/usr/bin/busybox"
check_eq "  its files appear as the session owner's" 0 "$(stat -c %u "$V/files/usr/bin/busybox")"
check "  an absolute link of the guest stays inside files/" bash -c \
	"ln -s /usr/bin/busybox '$V/files/abs' && case \$(readlink '$V/files/abs') in /*) exit 1 ;; esac && cmp -s '$V/files/abs' '$V/files/usr/bin/busybox'"
rm -f "$V/files/abs"
check "session.json says procs and files" python3 -c "
import json,sys; c=json.load(open('$V/session.json'))['capabilities']; sys.exit(0 if 'procs' in c and 'files' in c else 1)"

procs_suite "$V"
check_eq "its programs run as the guest's root" 0 "$(run_wait "$V" id0 id -u >/dev/null; cat "$V/procs/id0/stdout")"
files_suite "$V" "$MNT/x1"

t0=$(ms_now); cat "$V/screenshot.png" >/dev/null; quiet=$(($(ms_now) - t0))
files_bigcopy "$V" 256
# large reads take the bulk channel (core/bulk.c): a virtio-serial port, its
# host end QEMU's socket in the session's state directory (writes: HTTP)
check "the guest's agent serves the bulk channel" \
	grep -q 'bulk: serving reads of files on /dev/vport' "$STATE/v1/artifacts/console.log"
check "  its socket is in the session's state directory" test -S "$STATE/v1/bulk.sock"
echo "# VM screenshot, quiet: ${quiet} ms"

t0=$(ms_now)
for i in 1 2 3 4 5 6 7 8 9 10; do run_wait "$V" "rt$i" true >/dev/null; done
echo "# VM program round trip (start + cat exit, true): $((($(ms_now) - t0) / 10)) ms"
check "rmdir of the VM session" rmdir "$V"
finish
