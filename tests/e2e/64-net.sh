#!/usr/bin/env bash
# A VM's network and port forwards (issue 10, item 5): net=none (the default)
# keeps the guest from reaching the host, net=user lets it (slirp maps 10.0.2.2
# to the host's 127.0.0.1, where a python http.server of this test listens);
# `forward PORT` in ctl makes a guest program (busybox httpd, started through
# procs/) reachable on the 127.0.0.1 port that session.json's "ports" names, and
# `unforward` closes it; forward= on the create line works at boot; errors are
# EINVAL, EEXIST, ENOENT and (xvfb) ENOTSUP; forwards survive a daemon kill -9
# and restart (re-attach keeps the very same host ports) and are live there.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
need_cmd curl "apt-get install curl"
GUEST=$TOP/build/guest
[ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio" ] ||
	skip_all "no VM guest in build/guest (make guest runs contrib/build-guest.sh)"

# ports SESSDIR: "guest:host ..." from session.json (host "-" when not live)
ports() {
	python3 -c "
import json,sys
p=json.load(open(sys.argv[1]))['ports']
print(' '.join('%d:%s' % (x['guest'], x['host'] if x['host'] else '-') for x in p))" "$1/session.json"
}
# host_of SESSDIR GUESTPORT: the host port of one forward
host_of() { ports "$1" | tr ' ' '\n' | sed -n "s/^$2://p"; }
# fetch PORT PATH: the body from 127.0.0.1:PORT, bounded
fetch() { curl -s -m 10 "http://127.0.0.1:$1$2"; }
qemus() { pgrep -f -- "qemu-system-x86_64 .*$STATE/" | sort | tr '\n' ' '; }

# the host's own web server, on loopback only
mkdir -p "$TMP/www"
echo "hello from the host $$" >"$TMP/www/host.txt"
python3 -u -m http.server --bind 127.0.0.1 --directory "$TMP/www" 0 >"$TMP/http.log" 2>&1 &
T_PIDS="$T_PIDS $!"
until_true 10 grep -q "port" "$TMP/http.log"
HPORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$TMP/http.log" | head -n1)
check "the host's http server answers on 127.0.0.1:$HPORT" test "$(fetch "$HPORT" /host.txt)" = "hello from the host $$"

mount_deskfs -o provider=qemu,width=320,height=240,ready_timeout=120,boot_timeout=120

# malformed create lines perform nothing
check_eq "net=bogus is EINVAL" EINVAL "$(op write "$MNT/.ctl" "create b1 net=bogus")"
check_eq "forward=7070 (the agent's port) is EINVAL" EINVAL "$(op write "$MNT/.ctl" "create b2 forward=7070")"
check_eq "forward=80,80 is EINVAL" EINVAL "$(op write "$MNT/.ctl" "create b3 forward=80,80")"
check_eq "forward=0 is EINVAL" EINVAL "$(op write "$MNT/.ctl" "create b4 forward=0")"
check_eq "forward with 17 ports is EINVAL" EINVAL \
	"$(op write "$MNT/.ctl" "create b5 forward=$(seq -s, 1 17)")"
check_eq "  and none of them was created" "" "$(ls "$MNT")"

t0=$(ms_now)
echo 'create n0' >"$MNT/.ctl"
echo 'create u1 net=user forward=8080' >"$MNT/.ctl"
echo 'create x1 provider=xvfb' >"$MNT/.ctl"
N=$MNT/n0 U=$MNT/u1
# (a VM's screenshot.png answers from QMP while it boots: wait for the status)
ready_of() { timeout 150 sh -c "until [ \"\$(cat '$1/status')\" = ready ]; do sleep 0.2; done"; cat "$1/status"; }
check_eq "a VM with net=none boots" ready "$(ready_of "$N")"
check_eq "a VM with net=user forward=8080 boots" ready "$(ready_of "$U")"
echo "# both VMs ready after $(($(ms_now) - t0)) ms"
check "n0's kernel line has no deskfs.net=user" bash -c "! grep -q 'deskfs.net=user' '$N/artifacts/qemu-cmdline.txt'"
check "  and its netdev is restricted" grep -q 'restrict=on' "$N/artifacts/qemu-cmdline.txt"
check "u1's netdev is not restricted" bash -c "! grep -q 'restrict=on' '$U/artifacts/qemu-cmdline.txt'"
check_eq "session.json: n0 forwards nothing" "" "$(ports "$N")"

# net=none: the host is out of reach (only the agent's forward goes in)
# (busybox wget's own -T crashes in this busybox: timeout bounds it instead)
seen=$(grep -c 'GET /host.txt' "$TMP/http.log")
run_wait "$N" w0 timeout 8 wget -q -O - "http://10.0.2.2:$HPORT/host.txt" >/dev/null
check "net=none: the guest cannot reach the host (wget fails)" test "$(cat "$N/procs/w0/exit")" != 0
check_eq "  and got nothing" "" "$(cat "$N/procs/w0/stdout")"
check_eq "  and the host's server saw no request" "$seen" "$(grep -c 'GET /host.txt' "$TMP/http.log")"
# net=user: 10.0.2.2 is the host's loopback, the default route and resolver are set
run_wait "$U" w1 timeout 20 wget -q -O - "http://10.0.2.2:$HPORT/host.txt" >/dev/null
check_eq "net=user: the guest fetches from the host's 127.0.0.1 via 10.0.2.2" \
	"hello from the host $$" "$(cat "$U/procs/w1/stdout")"
check_eq "  its resolver is slirp's" "nameserver 10.0.2.3" "$(cat "$U/files/etc/resolv.conf")"
run_wait "$U" r1 ip route >/dev/null
check "  its default route is 10.0.2.2" grep -q "default via 10.0.2.2" "$U/procs/r1/stdout"

# a web server in each guest, on 8080
for S in "$N" "$U"; do
	mkdir -p "$S/files/www"
	echo "served by $(basename "$S")" >"$S/files/www/index.html"
	start_line "$S" "start web -- httpd -f -p 8080 -h /www" >/dev/null
done
check_eq "forward=8080 at boot: session.json lists it with a host port" 1 \
	"$(ports "$U" | grep -c '^8080:[0-9][0-9]*$')"
UH=$(host_of "$U" 8080)
check_eq "  127.0.0.1:$UH serves the guest's page" "served by u1" \
	"$(until_true 30 test "$(fetch "$UH" /index.html)" = "served by u1"; fetch "$UH" /index.html)"
check "  the host port listens on 127.0.0.1 only" \
	grep -q "0100007F:$(printf %04X "$UH") 00000000:0000 0A" /proc/net/tcp

# forward / unforward live on n0 (forwards need no net=user)
check_eq "forward 8080 on a running VM" ok "$(op write "$N/ctl" "forward 8080")"
NH=$(host_of "$N" 8080)
check "  session.json names its host port" test -n "$NH" -a "$NH" != -
check_eq "  127.0.0.1:$NH serves the guest's page" "served by n0" \
	"$(until_true 30 test "$(fetch "$NH" /index.html)" = "served by n0"; fetch "$NH" /index.html)"
check_eq "  the full entry" '[{"guest": 8080, "host": '"$NH"', "proto": "tcp", "address": "127.0.0.1"}]' \
	"$(python3 -c "import json; print(json.dumps(json.load(open('$N/session.json'))['ports']))")"
check_eq "forward 8080 again is EEXIST" EEXIST "$(op write "$N/ctl" "forward 8080")"
check "  and error says so" err_has "$N" already_forwarded
for bad in 0 65536 7070 abc "8080 9090" ""; do
	check_eq "forward '$bad' is EINVAL" EINVAL "$(op write "$N/ctl" "forward $bad")"
done
check_eq "unforward 9999 (none) is ENOENT" ENOENT "$(op write "$N/ctl" "unforward 9999")"
check_eq "unforward 8080" ok "$(op write "$N/ctl" "unforward 8080")"
check_eq "  session.json lists no port" "" "$(ports "$N")"
check "  127.0.0.1:$NH no longer connects" bash -c "! curl -s -m 5 -o /dev/null http://127.0.0.1:$NH/"
check_eq "unforward 8080 again is ENOENT" ENOENT "$(op write "$N/ctl" "unforward 8080")"
check_eq "an xvfb session has no ports: ENOTSUP" ENOTSUP "$(op write "$MNT/x1/ctl" "forward 8080")"
check "  and its error says why" err_has "$MNT/x1" "only qemu sessions"

# more than one, then a daemon crash: the forwards are kept, the ports stay
check_eq "forward 9090 on u1 too" ok "$(op write "$U/ctl" "forward 9090")"
check_eq "  the record keeps both" "8080,9090" \
	"$(python3 -c "import json; print(json.load(open('$STATE/u1/record.json'))['settings']['forward'])")"
BEFORE=$(ports "$U") QB=$(qemus)
crash_deskfs
fusermount3 -u "$MNT"
mount_deskfs -o provider=qemu,width=320,height=240,ready_timeout=120
check_eq "after kill -9 and restart u1 is ready again" ready \
	"$(until_true 60 test "$(cat "$U/status")" = ready; cat "$U/status")"
check_eq "  the very same QEMUs run" "$QB" "$(qemus)"
check_eq "  with the same forwards on the same host ports" "$BEFORE" "$(ports "$U")"
check_eq "  127.0.0.1:$UH still serves u1's page" "served by u1" "$(fetch "$UH" /index.html)"
check_eq "unforward 9090 after re-attach" ok "$(op write "$U/ctl" "unforward 9090")"
check_eq "forward 8081 after re-attach" ok "$(op write "$U/ctl" "forward 8081")"
check_eq "  8080 kept its port, 8081 has one" "8080:$UH 8081:" "$(ports "$U" | sed 's/8081:[0-9]*$/8081:/')"

# a stopped VM: the setting only, applied by its next start
check_eq "stop n0" ok "$(op write "$N/ctl" stop)"
check_eq "forward 8080 on a stopped VM" ok "$(op write "$N/ctl" "forward 8080")"
check_eq "  session.json lists it, with no host port yet" "8080:-" "$(ports "$N")"
check "deskfs --dry-run: net=user lifts restrict=on and tells the guest" bash -c \
	"'$BIN/deskfs' --dry-run -o provider=qemu,net=user '$MNT' | grep -q 'deskfs.net=user' &&
	 ! '$BIN/deskfs' --dry-run -o provider=qemu,net=user '$MNT' | grep -q restrict=on &&
	 '$BIN/deskfs' --dry-run -o provider=qemu '$MNT' | grep -q restrict=on"

check "rmdir of the VMs" rmdir "$N" "$U" "$MNT/x1"
check_eq "  no qemu of ours is left" "" "$(qemus)"
check "  127.0.0.1:$UH is closed" bash -c "! curl -s -m 5 -o /dev/null http://127.0.0.1:$UH/"
finish
