#!/usr/bin/env bash
# Templates (issue 10): .templates/ lists them, read-only; template= on a
# create line picks one (and implies provider=qemu), -o template=T is the
# mount's default; errors have words; --dry-run shows the read-only base
# drive; the desktop template's base.img is never written (sha256 before
# and after sessions that wrote files), and two sessions of one template are
# independent (a file written in one is not in the other). Real VMs (TCG).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
GUEST=$TOP/build/guest
DESK=$TOP/build/template-desktop
[ -s "$GUEST/vmlinux" ] || skip_all "no VM guest in build/guest (make guest)"
[ -s "$DESK/base.img" ] || skip_all "no desktop template in build/template-desktop (make template-desktop)"

jget() { # jget FILE PYEXPR  (j is the parsed file)
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}
status_is() { [ "$(cat "$MNT/$1/status" 2>/dev/null)" = "$2" ]; }
qemu_pid() { jget "$MNT/$1/session.json" "j['pids'].get('qemu','')"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
ctl() { echo "$1" >"$MNT/.ctl" 2>"$TMP/ctl.err"; }
BASE=$(readlink -f "$DESK/base.img")
SHA0=$(sha256sum "$BASE" | cut -d' ' -f1)

# ---- --dry-run ----
DRY=$(timeout 20 "$BIN/deskfs" --dry-run -o template=desktop)
check "--dry-run -o template=desktop exits 0 (template= implies provider=qemu)" test $? -eq 0
check "it attaches base.img read-only, raw, as a virtio disk" grep -qE -- \
	"-drive file=[^ ]*/base.img,format=raw,if=none,id=base,readonly=on -device virtio-blk-pci,drive=base" <<<"$DRY"
check "the kernel is told to mount it (deskfs.root=vda)" grep -qE '^kernel: .*deskfs.root=vda' <<<"$DRY"
check "the template's memory is the default (-m 768)" grep -qE -- '-m 768 ' <<<"$DRY"
check "  and says which template and base" grep -qzE 'template: desktop.*base: [^ ]*base.img' <<<"$DRY"
DRY=$(timeout 20 "$BIN/deskfs" --dry-run -o provider=qemu)
nobase() { ! grep -q -- '-drive' <<<"$DRY" && ! grep -q 'deskfs.root' <<<"$DRY" && grep -q -- '-m 256 ' <<<"$DRY"; }
check "the minimal guest has no base drive, and 256 MB" nobase
check "memory= still wins over the template's" bash -c \
	"timeout 20 '$BIN/deskfs' --dry-run -o template=desktop,memory=512 | grep -q -- '-m 512 '"
check "--dry-run -o template=nope fails, and says there is no such template" bash -c \
	"! timeout 20 '$BIN/deskfs' --dry-run -o template=nope >'$TMP/dry' 2>&1; grep -q \"no template 'nope'\" '$TMP/dry'"

# ---- a mount whose default is the desktop template ----
mount_deskfs -o template=desktop,ready_timeout=120,boot_timeout=120,width=800,height=600
check "the mount answers" test -e "$MNT/.ctl"

# .templates/
check_eq ".templates/ lists minimal and desktop" "desktop.json minimal.json" "$(ls "$MNT/.templates" | sort | tr '\n' ' ' | sed 's/ $//')"
check ".templates/desktop.json: name, kind, description, size, created_at, boots, memory_mb" python3 -c "
import json,sys; j=json.load(open('$MNT/.templates/desktop.json'))
ok = j['name']=='desktop' and j['kind']=='recipe' and j['boots']=='cold' and j['memory_mb']==768 \
  and j['size']>10**7 and j['created_at'].endswith('Z') and 'browser' in j['description'] and j['base_image'] is True
print('#', json.dumps(j)); sys.exit(0 if ok else 1)"
check ".templates/minimal.json: 256 MB, no base image" python3 -c "
import json,sys; j=json.load(open('$MNT/.templates/minimal.json'))
sys.exit(0 if j['memory_mb']==256 and j['base_image'] is False and j['boots']=='cold' else 1)"
check "stat shows the JSON's size" bash -c "test \"\$(stat -c %s '$MNT/.templates/minimal.json')\" = \"\$(cat '$MNT/.templates/minimal.json' | wc -c)\""
check "an unknown template has no file" bash -c "! test -e '$MNT/.templates/nope.json' && ! test -e '$MNT/.templates/desktop'"
# the control plane is not changed by name: EPERM, as for .ctl's siblings
check_eq ".templates/ is read-only: a new file (EPERM)" EPERM "$(op create "$MNT/.templates/x.json")"
check_eq "  a write to a template's file (EACCES)" EACCES "$(op write "$MNT/.templates/desktop.json" '{}')"
check_eq "  mkdir" EPERM "$(op mkdir "$MNT/.templates/x")"
check_eq "  rm" EPERM "$(op unlink "$MNT/.templates/desktop.json")"
check_eq "  mv" EPERM "$(op rename "$MNT/.templates/desktop.json" "$MNT/.templates/d2.json")"

# create-line errors
check_eq "create with an unknown template: ENOENT" ENOENT "$(op write "$MNT/.ctl" 'create e1 template=nope')"
check "  with words in the daemon's log and .ctl's events (and nothing created)" bash -c "
	grep -q \"no template 'nope' (there are: minimal desktop\" '$DLOG'; ! test -e '$MNT/e1'"
check_eq "template= with provider=xvfb: EINVAL" EINVAL "$(op write "$MNT/.ctl" 'create e2 provider=xvfb template=desktop')"
check_eq "a malformed template name: EINVAL" EINVAL "$(op write "$MNT/.ctl" 'create e3 template=../x')"
check_eq "a bad line in one write leaves the good ones undone too" "ENOENT no e4" \
	"$(op writeraw "$MNT/.ctl" $'create e4 template=minimal\ncreate e5 template=nope\n') $(test -e "$MNT/e4" && echo e4 || echo no e4)"

# -o template=desktop: mkdir boots the desktop; another of the same template
t0=$(date +%s%N)
check "mkdir boots the mount's default template" mkdir "$MNT/d1"
check "create d2 template=desktop" ctl "create d2 template=desktop"
check "create m1 template=minimal (the minimal guest, 256 MB)" ctl "create m1 template=minimal"
check "create x1 provider=xvfb drops the mount's template (an xvfb session)" ctl "create x1 provider=xvfb"
check_eq "session.json: d1 is qemu, template desktop, 768 MB" "qemu desktop 768" \
	"$(jget "$MNT/d1/session.json" "j['provider'],j['settings']['template'],j['settings']['memory']" | tr -d "(),'")"
check_eq "  m1: qemu, minimal, 256 MB" "qemu minimal 256" \
	"$(jget "$MNT/m1/session.json" "j['provider'],j['settings']['template'],j['settings']['memory']" | tr -d "(),'")"
check_eq "  x1: xvfb, no template" "xvfb " \
	"$(jget "$MNT/x1/session.json" "j['provider'],j['settings']['template']" | tr -d "(),'")"
check "d1 becomes ready" wait_long 180 status_is d1 ready
echo "# mkdir -> ready, desktop template, two desktops and a minimal booting at once: $(ms_since "$t0") ms"
check "d2 becomes ready" wait_long 180 status_is d2 ready
check "m1 becomes ready" wait_long 120 status_is m1 ready
D1=$(qemu_pid d1)
check "d1's qemu has the base drive read-only" bash -c "tr '\0' ' ' </proc/$D1/cmdline | grep -q 'file=$BASE,format=raw,if=none,id=base,readonly=on'"
check "m1's qemu has none" bash -c "! tr '\0' ' ' </proc/$(qemu_pid m1)/cmdline | grep -q 'id=base'"
ro_fd() { # ro_fd PID FILE: the process holds FILE open, and read-only
	local fd fl found=1
	for fd in /proc/$1/fd/*; do
		[ "$(readlink "$fd")" = "$2" ] || continue
		fl=$(awk '/^flags/ {print $2}' "/proc/$1/fdinfo/${fd##*/}")
		[ $((8#$fl & 3)) -eq 0 ] || return 1
		found=0
	done
	return $found
}
check "qemu holds base.img open read-only (O_RDONLY, every fd)" ro_fd "$D1" "$BASE"

# files/ is the overlay's /: Debian's tree, writable, in guest RAM
check "files/ shows the base's Debian (etc/debian_version)" grep -q '^12' "$MNT/d1/files/etc/debian_version"
check "a write into files/ of d1" bash -c "echo one-d1 >'$MNT/d1/files/root/note' && echo etc-d1 >'$MNT/d1/files/etc/motd'"
check_eq "  reads back" "one-d1" "$(cat "$MNT/d1/files/root/note")"
check "d2 does not see it (its own overlay)" bash -c "! test -e '$MNT/d2/files/root/note' && ! grep -q etc-d1 '$MNT/d2/files/etc/motd'"
check "d2 writes its own" bash -c "echo two-d2 >'$MNT/d2/files/root/note'"
check_eq "  and d1 keeps its one" "one-d1 two-d2" "$(cat "$MNT/d1/files/root/note") $(cat "$MNT/d2/files/root/note")"
run_wait "$MNT/d1" ov sh -c 'grep " / overlay " /proc/mounts' >/dev/null
check "a program in d1 sees / as an overlay (procs/, /proc/mounts)" grep -q ' / overlay ' "$MNT/d1/procs/ov/stdout"
code=$(run_wait "$MNT/d1" wv sh -c 'echo x | dd of=/dev/vda bs=1 count=1 conv=notrunc 2>&1')
check "the base is read-only inside too: writing /dev/vda fails (exit $code)" test "$code" != 0
for s in d1 d2 m1 x1; do rmdir "$MNT/$s"; done
check "rmdir of every session leaves no qemu" wait_long 30 bash -c "! pgrep -f 'qemu-syste[m].*$STATE/' >/dev/null"
check_eq "base.img is unchanged (sha256 before and after)" "$SHA0" "$(sha256sum "$BASE" | cut -d' ' -f1)"
finish
