#!/usr/bin/env bash
# Warm pools (core/pool.c): `pool T size=N` keeps N VMs of template T ready;
# a create of T takes one at once (renamed), and the pool refills. Members
# are hidden, recorded sessions: a daemon kill -9 and restart keeps them and
# the pool. size=0 drains: no qemu and no zombie is left.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
GUEST=$TOP/build/guest
[ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio" ] ||
	skip_all "no VM guest in build/guest (make guest runs contrib/build-guest.sh)"

OPTS=provider=qemu,width=640,height=480,ready_timeout=120
mount_deskfs -o "$OPTS"
qemus() { pgrep -f -- "qemu-system.*$STATE/" | sort; }
pool_is() { [ "$(pools minimal "$1")" = "$2" ]; } # pool_is FIELD VALUE (template minimal)
qemus_are() { [ "$(qemus | wc -l)" = "$1" ]; }
pools() { python3 -c "
import json,sys
for p in json.load(open('$MNT/.pools.json'))['pools']:
    if p['template'] == sys.argv[1]: print(p[sys.argv[2]]); break
else: print('none')" "$@"; }

check_eq ".pools.json starts empty" "[]" "$(python3 -c "import json;print(json.load(open('$MNT/.pools.json'))['pools'])")"
check_eq "a pool of an unknown template: ENOENT" ENOENT "$(op write "$MNT/.ctl" 'pool nosuch size=1')"
check_eq "a bad size: EINVAL" EINVAL "$(op write "$MNT/.ctl" 'pool minimal size=-1')"
check_eq "pool minimal size=2" ok "$(op write "$MNT/.ctl" 'pool minimal size=2')"
check_eq "  .pools.json shows it" 2 "$(pools minimal size)"
check "  it reaches its size (2 ready)" wait_long 150 pool_is ready 2
check_eq "  its members are not listed" "" "$(ls -A "$MNT" | grep -v '^\.' | tr '\n' ' ')"
M1=$(ls -A "$STATE" | grep '^\.pool-' | head -n1)
check "  they are recorded in the state directory" test -n "$M1"
check "  nor reachable by name" test ! -e "$MNT/$M1"
check_eq "  two qemus run" 2 "$(qemus | wc -l)"

t0=$(ms_now)
op write "$MNT/.ctl" 'create p1 template=minimal' >/dev/null
st=$(cat "$MNT/p1/status")
claim_ms=$(($(ms_now) - t0))
echo "# claim -> ready: ${claim_ms} ms"
check_eq "a create of the template takes a ready member at once" ready "$st"
check "  within 2 s even here" test "$claim_ms" -lt 2000
check_eq "  it is the claimer's session, listed" p1 "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"
check "  and it works (a screenshot from its agent)" bash -c "timeout 30 cat '$MNT/p1/screenshot.png' | head -c 8 | grep -q PNG"
check_eq "  its session.json says its name" p1 "$(jfield "$MNT/p1/session.json" name)"
check_eq "  .pools.json counts the claim" 1 "$(pools minimal claimed)"
check "  and the pool refills to 2 ready" wait_long 150 pool_is ready 2
check_eq "  three qemus now" 3 "$(qemus | wc -l)"
check_eq "a create with other settings does not take a member" ready \
	"$(op write "$MNT/.ctl" 'create p2 template=minimal width=800' >/dev/null; timeout 150 cat "$MNT/p2/screenshot.png" >/dev/null; cat "$MNT/p2/status")"
check_eq "  (the pool still has 2 ready)" 2 "$(pools minimal ready)"
rmdir "$MNT/p2"

# another user may not change root's pool
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$TMP"
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups sh -c "echo 'pool minimal size=5' > '$MNT/.ctl'" 2>&1)
	check "another uid cannot resize root's pool (EACCES)" bash -c "echo '$out' | grep -qi 'permission denied'"
fi

# kill -9 and a new daemon: the pool and its members are still there
before=$(qemus | tr '\n' ' ')
crash_deskfs
fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
mount_deskfs -o "$OPTS"
check_eq "after kill -9 and restart: the pool is back" 2 "$(pools minimal size)"
check "  its members are re-adopted (2 ready, same qemus)" wait_long 60 pool_is ready 2
check_eq "  no qemu was replaced" "$before" "$(qemus | tr '\n' ' ')"
check_eq "  p1 is back" ready "$(timeout 60 cat "$MNT/p1/screenshot.png" >/dev/null; cat "$MNT/p1/status")"

check_eq "size=0 drains" ok "$(op write "$MNT/.ctl" 'pool minimal size=0')"
check "  the members' qemus end" wait_long 30 qemus_are 1
check_eq "  .pools.json no longer lists it" none "$(pools minimal size)"
check_eq "  no member state is left" "" "$(ls -A "$STATE" | grep '^\.pool-' | tr '\n' ' ')"
rmdir "$MNT/p1"
check "no qemu is left" wait_long 20 qemus_are 0
finish
