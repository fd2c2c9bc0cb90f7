#!/usr/bin/env bash
# Nobody else's: on an allow_other mount a session belongs to the uid that
# made it (0700, default_permissions). Another uid cannot list, read,
# capture, drive or destroy it (EACCES), and .events shows it nothing of
# sessions it does not own. Also from a new mount namespace (a container).
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd setpriv "apt-get install util-linux"
need_cmd unshare "apt-get install util-linux"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount with allow_other and switch uids"

chmod 0755 "$TMP" # the mountpoint must be reachable by the other uid
as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
mount_deskfs -o allow_other,width=320,height=200
mkdir "$MNT/mine"
echo "wait 1" >"$MNT/mine/actions"

check_eq "the session is its creator's, mode 0700" "0 700" "$(stat -c '%u %a' "$MNT/mine")"
check_eq "another uid does not see it in the listing" "" "$(as_other ls "$MNT")"
check "another uid cannot list it (EACCES)" bash -c "as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups -- \"\$@\"; }; as_other ls '$MNT/mine' 2>&1 | grep -q 'Permission denied'"
for f in screenshot.png observation.json session.json status events error actions artifacts/xvfb.log; do
	check "another uid cannot read $f (EACCES)" bash -c "setpriv --reuid=65534 --regid=65534 --clear-groups -- cat '$MNT/mine/$f' 2>&1 | grep -q 'Permission denied'"
done
for f in actions ctl; do
	check "another uid cannot write $f (EACCES)" bash -c "setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c 'echo \"click 1 1\" > $MNT/mine/$f' 2>&1 | grep -q 'Permission denied'"
done
check "another uid cannot rmdir it" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- rmdir '$MNT/mine' 2>/dev/null && test -d '$MNT/mine'"
check "nor destroy it through .ctl (EACCES)" bash -c "setpriv --reuid=65534 --regid=65534 --clear-groups -- bash -c 'echo destroy mine > $MNT/.ctl' 2>&1 | grep -q 'Permission denied'"
check_eq "it still runs" "ready" "$(cat "$MNT/mine/status")"
check "another uid cannot read its token or socket" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- cat '$STATE/mine/token' 2>/dev/null && ! setpriv --reuid=65534 --regid=65534 --clear-groups -- ls '$STATE' 2>/dev/null && [ \$(stat -c %a '$STATE/mine') = 700 ] && [ \$(stat -c %a '$STATE/mine/token') = 600 ]"
# nor go around deskfs to the session's X display: it wants a cookie only its owner can read
MD=$(python3 -c "import json; print(json.load(open('$MNT/mine/session.json'))['display'])")
MX=$(python3 -c "import json; print(json.load(open('$MNT/mine/session.json'))['xauthority'])")
check "another uid cannot open the session's X display" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- env -u XAUTHORITY xwininfo -root -display '$MD' >/dev/null 2>&1"
check "nor with the cookie file's path (it cannot read it)" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- env XAUTHORITY='$MX' xwininfo -root -display '$MD' >/dev/null 2>&1"
check "its owner can, with the cookie session.json names" env XAUTHORITY="$MX" xwininfo -root -display "$MD"

# the other uid's own session works for it
check "another uid can make its own session" as_other mkdir "$MNT/theirs"
check_eq "owned by that uid" "65534 700" "$(stat -c '%u %a' "$MNT/theirs")"
check "and capture it" bash -c "setpriv --reuid=65534 --regid=65534 --clear-groups -- cat '$MNT/theirs/screenshot.png' | head -c 8 | grep -q PNG"
check "and drive it" as_other sh -c "echo 'click 5 5' > '$MNT/theirs/actions'"
TD=$(python3 -c "import json; print(json.load(open('$MNT/theirs/session.json'))['display'])")
TX=$(python3 -c "import json; print(json.load(open('$MNT/theirs/session.json'))['xauthority'])")
check "and run X clients in it with its own cookie" as_other env XAUTHORITY="$TX" xwininfo -root -display "$TD"
check_eq "it lists only its own" "theirs" "$(as_other ls "$MNT")"
check_eq "root sees both" "mine theirs" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"

# .events: nothing of sessions it does not own
as_other timeout 3 cat "$MNT/.events" >"$TMP/other.events" 2>/dev/null &
OPID=$!
sleep 0.3
mkdir "$MNT/secret"
echo "wait 1" >"$MNT/secret/actions"
rmdir "$MNT/secret"
as_other sh -c "echo 'click 6 6' > '$MNT/theirs/actions'; echo 'create t2' > '$MNT/.ctl'"
wait $OPID
check "another uid's .events says nothing of root's session" bash -c "! grep -q secret '$TMP/other.events'"
check "but tells it of its own" grep -q '"t2"' "$TMP/other.events"

# a container: a new mount namespace (slave propagation), another uid
check "from a new mount namespace, another uid is still refused" bash -c "unshare --mount --propagation slave -- setpriv --reuid=65534 --regid=65534 --clear-groups -- cat '$MNT/mine/status' 2>&1 | grep -q 'Permission denied'"
check "and still drives its own session there" unshare --mount --propagation slave -- setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c "echo 'click 7 7' > '$MNT/theirs/actions'"
as_other rmdir "$MNT/theirs" "$MNT/t2"
finish
