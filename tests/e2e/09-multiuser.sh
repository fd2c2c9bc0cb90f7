#!/usr/bin/env bash
# Nobody else's: on an allow_other mount a session belongs to the uid that
# made it (0700, default_permissions). Another uid cannot list, read,
# capture, drive or destroy it (EACCES), and .events shows it nothing of
# sessions it does not own. Also from a new mount namespace (a container).
#
# Every refusal is checked right beside the same operation succeeding for
# that uid on its own session, so a refusal cannot pass because the path,
# the uid switch or the session was not working at all; and .events is
# read up to a marker event that comes after the secret one.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd setpriv "apt-get install util-linux"
need_cmd unshare "apt-get install util-linux"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount with allow_other and switch uids"

chmod 0755 "$TMP" # the mountpoint must be reachable by the other uid
as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
# probe MODE PATH [LINE]: one operation, prints "ok" or the errno's name
cat >"$TMP/probe.py" <<'PY'
import errno, os, sys
mode, path = sys.argv[1], sys.argv[2]
try:
    if mode == "read":
        fd = os.open(path, os.O_RDONLY); os.read(fd, 1); os.close(fd)
    elif mode == "stream":  # open and poll it: a stream may have nothing yet
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try: os.read(fd, 1)
        except BlockingIOError: pass
        os.close(fd)
    elif mode == "list":
        os.listdir(path)
    elif mode == "write":
        fd = os.open(path, os.O_WRONLY); os.write(fd, sys.argv[3].encode() + b"\n"); os.close(fd)
    elif mode == "rmdir":
        os.rmdir(path)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY
chmod 0644 "$TMP/probe.py"
# (Debian's python3: a python3 first on root's PATH may live where 65534 cannot go)
probe_other() { as_other /usr/bin/python3 "$TMP/probe.py" "$@"; }
probe_root() { python3 "$TMP/probe.py" "$@"; }

mount_deskfs -o allow_other,width=320,height=200
mkdir "$MNT/mine"
echo "wait 1" >"$MNT/mine/actions"
check "another uid can make its own session" as_other mkdir "$MNT/theirs"
check "and drive it (so it is ready)" as_other sh -c "echo 'wait 1' > '$MNT/theirs/actions'"

check_eq "the session is its creator's, mode 0700" "0 700" "$(stat -c '%u %a' "$MNT/mine")"
check_eq "the other's session is its own, mode 0700" "65534 700" "$(stat -c '%u %a' "$MNT/theirs")"
check_eq "another uid lists only its own session" "theirs" "$(as_other ls "$MNT")"
check_eq "root sees both" "mine theirs" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"
check_eq "another uid can list its own session" ok "$(probe_other list "$MNT/theirs")"
check_eq "  but not root's (EACCES)" EACCES "$(probe_other list "$MNT/mine")"
for f in screenshot.png observation.json session.json status error actions artifacts/xvfb.log; do
	check_eq "another uid can read its own $f" ok "$(probe_other read "$MNT/theirs/$f")"
	check_eq "  but not root's (EACCES)" EACCES "$(probe_other read "$MNT/mine/$f")"
done
check_eq "another uid can open its own events" ok "$(probe_other stream "$MNT/theirs/events")"
check_eq "  but not root's (EACCES)" EACCES "$(probe_other stream "$MNT/mine/events")"
check_eq "another uid can write its own actions" ok "$(probe_other write "$MNT/theirs/actions" "click 1 1")"
check_eq "  but not root's (EACCES)" EACCES "$(probe_other write "$MNT/mine/actions" "click 1 1")"
check_eq "another uid can write its own ctl" ok "$(probe_other write "$MNT/theirs/ctl" "clear-error")"
check_eq "  but not root's (EACCES)" EACCES "$(probe_other write "$MNT/mine/ctl" "clear-error")"
as_other mkdir "$MNT/gone1"
check_eq "another uid can rmdir its own session" ok "$(probe_other rmdir "$MNT/gone1")"
# the mount's root is sticky (01777, as /tmp): the kernel answers EPERM there
check_eq "  but not root's (EPERM: the root is sticky)" EPERM "$(probe_other rmdir "$MNT/mine")"
check "  which is still there" test -d "$MNT/mine"
check_eq "another uid can create and destroy its own session through .ctl" "ok ok" \
	"$(probe_other write "$MNT/.ctl" "create gone2") $(probe_other write "$MNT/.ctl" "destroy gone2")"
check_eq "  but not destroy root's (EACCES)" EACCES "$(probe_other write "$MNT/.ctl" "destroy mine")"
check_eq "root's session still runs" "ready" "$(cat "$MNT/mine/status")"

# the state directory: the daemon's alone
check_eq "root can read the session's token" ok "$(probe_root read "$STATE/mine/token")"
check_eq "  another uid cannot" EACCES "$(probe_other read "$STATE/mine/token")"
check_eq "  nor list the state directory" EACCES "$(probe_other list "$STATE")"
check_eq "  (modes 700 and 600)" "700 600" "$(stat -c %a "$STATE/mine" "$STATE/mine/token" | tr '\n' ' ' | sed 's/ $//')"

# nor go around deskfs to the session's X display: it wants a cookie only its owner can read
MD=$(python3 -c "import json; print(json.load(open('$MNT/mine/session.json'))['display'])")
MX=$(python3 -c "import json; print(json.load(open('$MNT/mine/session.json'))['xauthority'])")
TD=$(python3 -c "import json; print(json.load(open('$MNT/theirs/session.json'))['display'])")
TX=$(python3 -c "import json; print(json.load(open('$MNT/theirs/session.json'))['xauthority'])")
check "another uid runs X clients on its own display with its own cookie" \
	bash -c "setpriv --reuid=65534 --regid=65534 --clear-groups -- env XAUTHORITY='$TX' xwininfo -root -display '$TD' >/dev/null"
check "  but cannot open root's session's display without a cookie" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- env -u XAUTHORITY xwininfo -root -display '$MD' >/dev/null 2>&1"
check "  nor with the cookie file's path (it cannot read it)" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- env XAUTHORITY='$MX' xwininfo -root -display '$MD' >/dev/null 2>&1"
check "  which its owner can use" bash -c "XAUTHORITY='$MX' xwininfo -root -display '$MD' >/dev/null"
check "another uid can capture its own session" bash -c "setpriv --reuid=65534 --regid=65534 --clear-groups -- cat '$MNT/theirs/screenshot.png' | head -c 8 | grep -q PNG"

# .events: another uid reads nothing of sessions it does not own. Both
# readers first see a marker of the other uid's (so they are subscribed),
# then root's secret session comes and goes, then a second marker: once
# the second marker is in, whatever came before it has been delivered.
bg setpriv --reuid=65534 --regid=65534 --clear-groups -- cat "$MNT/.events" >"$TMP/other.events"
OPID=$LAST_PID
bg cat "$MNT/.events" >"$TMP/root.events"
RPID=$LAST_PID
seen_by_both() { grep -q "\"$1\"" "$TMP/other.events" && grep -q "\"$1\"" "$TMP/root.events"; }
for n in 1 2 3; do # (a reader that subscribed after the marker missed it: another one)
	as_other sh -c "echo 'create mark1$n' > '$MNT/.ctl'"
	wait_for yes bash -c "$(declare -f seen_by_both); TMP='$TMP'; seen_by_both mark1$n && echo yes" && break
done
check "both .events readers are live (they saw the first marker)" seen_by_both "mark1$n"
mkdir "$MNT/secret"
echo "wait 1" >"$MNT/secret/actions"
rmdir "$MNT/secret"
as_other sh -c "echo 'click 6 6' > '$MNT/theirs/actions'; echo 'create mark2' > '$MNT/.ctl'"
check "the other uid's reader got the second marker" wait_for mark2 cat "$TMP/other.events"
check "root's reader saw the secret session come and go" wait_for '"destroyed"' grep secret "$TMP/root.events"
check "another uid's .events says nothing of root's session" bash -c "! grep -q secret '$TMP/other.events'"
check "but tells it of its own" grep -q '"mark2"' "$TMP/other.events"
kill "$OPID" "$RPID" 2>/dev/null

# a container: a new mount namespace (slave propagation), another uid
check_eq "from a new mount namespace another uid reads its own status, and is refused root's" "ok EACCES" \
	"$(unshare --mount --propagation slave -- setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		sh -c "/usr/bin/python3 '$TMP/probe.py' read '$MNT/theirs/status'; /usr/bin/python3 '$TMP/probe.py' read '$MNT/mine/status'" | tr '\n' ' ' | sed 's/ $//')"
check "and still drives its own session there" unshare --mount --propagation slave -- setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c "echo 'click 7 7' > '$MNT/theirs/actions'"
for d in "$MNT"/*; do
	case "$(basename "$d")" in mine) ;; *) as_other rmdir "$d" ;; esac
done
check_eq "the other uid's sessions are removed by it" "mine" "$(ls "$MNT")"
finish
