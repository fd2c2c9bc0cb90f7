#!/usr/bin/env bash
# 15-hostile-users.sh - regression tests of issue 8, defects 1, 2 and 4: a
# hostile second user of an allow_other mount.
#
#	bash tests/e2e/15-hostile-users.sh      (as root)
#
# User B is uid 65534, user A (the victim) uid 65533; root runs the daemon.
# - defect 1: B cannot get A's X cookie, by any path it can read under the
#   state directory, nor by keeping its own cookie file open while A's is
#   written (through create, restart and resize); the owner's cookie works;
#   the state directory is 0700; a session's token changes on restart (12).
# - defect 4: provider=display never lends the daemon's X credentials: B's
#   session on root's display (cookie-protected) neither captures nor drives.
# - defect 2: B floods .ctl (and its own actions) with 200 KB writes while
#   two threads close(dup(fd)): the daemon survives.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/regress.sh"
need_fuse
need_xvfb
need_cmd setpriv "apt-get install util-linux"
need_cmd xwininfo "apt-get install x11-utils"
need_cmd xauth "apt-get install xauth"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount with allow_other and switch uids"

chmod 0755 "$TMP" # the mountpoint must be reachable by the other uids
mount_deskfs -o allow_other,width=320,height=200,ready_timeout=5
alive() { kill -0 "$DPID" 2>/dev/null && timeout -s KILL 3 ls "$MNT" >/dev/null; }
# sj AS... -- KEY SESSION: a field of SESSION's session.json, read as that user
sj() { timeout -s KILL 3 "${@:3}" $PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]] or '')" "$MNT/$2/session.json" "$1" 2>/dev/null; }

# ---- defect 1: cookie theft through the state directory ----
LOOT=$TMP/loot
mkdir -p "$LOOT" && chown 65534:65534 "$LOOT"
# opens DISPLAY AS... : is any loot file (or a bare hex cookie in one) an X cookie for DISPLAY?
loot_opens() {
	local dpy=$1 f n=0 x
	shift
	for f in "$LOOT"/[0-9][0-9][0-9][0-9]; do
		[ -e "$f" ] || continue
		x=$TMP/try.xauth
		if grep -q MIT-MAGIC-COOKIE-1 "$f"; then
			cp "$f" "$x"
		elif grep -qE '^[0-9a-fA-F]{32}$' "$f"; then
			rm -f "$x" && xauth -q -f "$x" add "$dpy" . "$(tr -d '\n' <"$f")" 2>/dev/null
		else
			continue
		fi
		chmod 0644 "$x"
		if timeout -s KILL 3 "$@" env XAUTHORITY="$x" xwininfo -root -display "$dpy" >/dev/null 2>&1; then
			echo "# loot $(basename "$f") ($(cat "$f.src")) opens $dpy"
			n=1
		fi
	done
	[ "$n" = 1 ]
}
# b_locked_out DISPLAY OWNER_XAUTH: B opens DISPLAY with nothing it could get
b_locked_out() {
	! loot_opens "$1" "${AS_B[@]}" &&
		! timeout -s KILL 3 "${AS_B[@]}" env -u XAUTHORITY xwininfo -root -display "$1" >/dev/null 2>&1 &&
		! timeout -s KILL 3 "${AS_B[@]}" env XAUTHORITY="$2" xwininfo -root -display "$1" >/dev/null 2>&1
}

check "B makes a session named vic.tmp" as_b mkdir "$MNT/vic.tmp"
check "  it becomes ready" until_ok 10 status_is vic.tmp ready "${AS_B[@]}"
XB=$(sj xauthority vic.tmp "${AS_B[@]}")
DB=$(sj display vic.tmp "${AS_B[@]}")
check "  B's own cookie (session.json's xauthority) opens B's own display" \
	q "${AS_B[@]}" env XAUTHORITY="$XB" xwininfo -root -display "$DB"
# B keeps its cookie file open and re-reads it, and reads whatever it can under the state dir
spawn "$TMP/loot" "${AS_B[@]}" $PY "$TOP/tests/tools/loot.py" "$LOOT" "$LOOT/stop" 90 \
	--hold "$XB" --hold "$STATE/.xauth/vic.tmp" --hold "$STATE/.xauth/vic" --walk "$STATE"
sleep 0.5
check "A (uid 65533) makes the session vic" as_c mkdir "$MNT/vic"
check "  it becomes ready" until_ok 10 status_is vic ready "${AS_C[@]}"
sleep 0.3 # let the poller read what is there now
XA=$(sj xauthority vic "${AS_C[@]}")
DA=$(sj display vic "${AS_C[@]}")
echo "# vic: display $DA, xauthority $XA; vic.tmp: display $DB, xauthority $XB"
check "the poller works: B's loot holds B's own cookie" loot_opens "$DB" "${AS_B[@]}"
check "defect 1: nothing B can read (loot, no cookie, the owner's path) opens vic's display" b_locked_out "$DA" "$XA"
check "  the owner's cookie opens its display" q "${AS_C[@]}" env XAUTHORITY="$XA" xwininfo -root -display "$DA"
check "  the owner's cookie file is the owner's alone (0400 or 0600)" bash -c \
	"stat -c '%u %a' '$XA' | grep -qE '^65533 [46]00$'"
check "  B cannot read it" bash -c "! timeout -s KILL 3 ${AS_B[*]} cat '$XA' >/dev/null 2>&1"
check_eq "defect 1: the state directory is 0700" "700" "$(stat -c %a "$STATE")"
check "defect 1: B cannot traverse the state directory" bash -c "! ${AS_B[*]} stat '$STATE/.' >/dev/null 2>&1"

TOK1=$(cat "$STATE/vic/token" 2>/dev/null)
# B restarts its own session, so that a fresh cookie file of its own sits at vic.tmp's
# path when A's restart writes vic's cookie
echo restart | as_b tee "$MNT/vic.tmp/ctl" >/dev/null
until_ok 10 status_is vic.tmp ready "${AS_B[@]}"
check "A restarts vic" bash -c "echo restart | ${AS_C[*]} tee '$MNT/vic/ctl' >/dev/null"
check "  it becomes ready" until_ok 10 status_is vic ready "${AS_C[@]}"
sleep 0.3
XA=$(sj xauthority vic "${AS_C[@]}")
DA=$(sj display vic "${AS_C[@]}")
DB=$(sj display vic.tmp "${AS_B[@]}")
check "after restart, the poller still works: B's loot holds B's new cookie" loot_opens "$DB" "${AS_B[@]}"
check "defect 1: after restart, nothing B can read opens vic's display" b_locked_out "$DA" "$XA"
check "  the owner's new cookie opens it" q "${AS_C[@]}" env XAUTHORITY="$XA" xwininfo -root -display "$DA"
check_eq "  the state directory is still 0700" "700" "$(stat -c %a "$STATE")"
TOK2=$(cat "$STATE/vic/token" 2>/dev/null)
check "defect 12: the agent's token is rotated on restart" test -n "$TOK1" -a -n "$TOK2" -a "$TOK1" != "$TOK2"

echo restart | as_b tee "$MNT/vic.tmp/ctl" >/dev/null
until_ok 10 status_is vic.tmp ready "${AS_B[@]}"
check "A resizes vic" bash -c "echo 'resize 400x300' | ${AS_C[*]} tee '$MNT/vic/ctl' >/dev/null"
check "  it becomes ready" until_ok 10 status_is vic ready "${AS_C[@]}"
sleep 0.3
XA=$(sj xauthority vic "${AS_C[@]}")
DA=$(sj display vic "${AS_C[@]}")
check "defect 1: after resize, nothing B can read opens vic's display" b_locked_out "$DA" "$XA"
check "  the owner's cookie opens it" q "${AS_C[@]}" env XAUTHORITY="$XA" xwininfo -root -display "$DA"
touch "$LOOT/stop"
await "$TMP/loot" 10 && echo "# $(cat "$TMP/loot.out")"
as_c rmdir "$MNT/vic"

# ---- defect 4: provider=display lends the daemon's X credentials ----
N=""
for n in $(shuf -i 80-99); do
	[ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { N=$n; break; }
done
[ -n "$N" ] || { not_ok "a free display number in 80-99"; N=99; }
mkdir -m 0700 "$TMP/root"
xauth -q -f "$TMP/root/auth" add 2>/dev/null ":$N" . "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
chmod 0600 "$TMP/root/auth"
bg Xvfb ":$N" -auth "$TMP/root/auth" -nolisten tcp -screen 0 320x200x24 -extension GLX
until_ok 10 env XAUTHORITY="$TMP/root/auth" xwininfo -root -display ":$N"
# the daemon's XAUTHORITY (lib.sh's, 0600) now holds root's cookie for :N
xauth -q -f "$XAUTHORITY" merge "$TMP/root/auth"
check "root's display :$N works with root's cookie" q env XAUTHORITY="$XAUTHORITY" xwininfo -root -display ":$N"
check "and B cannot open it on its own (it needs the cookie)" bash -c \
	"! ${AS_B[*]} env -u XAUTHORITY xwininfo -root -display ':$N' >/dev/null 2>&1"
check "root's own provider=display session on :$N works" bash -c \
	"timeout -s KILL 20 sh -c \"echo 'create rootd provider=display display=:$N' > '$MNT/.ctl'\""
check "  it becomes ready" until_ok 10 status_is rootd ready
check "  its screenshot is a PNG" bash -c "timeout -s KILL 5 cat '$MNT/rootd/screenshot.png' | head -c 8 | grep -q PNG"
check "  and it drives the display" tk sh -c "echo 'move 50 60' > '$MNT/rootd/actions'"
cursor() { timeout -s KILL 5 $PY -c "import json; c=json.load(open('$MNT/rootd/observation.json'))['cursor']; print(c['x'], c['y'])"; }
check_eq "  (observation.json shows the cursor it moved)" "50 60" "$(cursor)"
echo "create spy provider=display display=:$N" | as_b tee "$MNT/.ctl" >/dev/null 2>"$TMP/spy.err"
SPY_RC=$?
if [ "$SPY_RC" != 0 ]; then
	check "defect 4: B's create on root's display is refused with EACCES" grep -q "Permission denied" "$TMP/spy.err"
else
	check "defect 4: B's session on root's display ends failed" until_ok 10 status_is spy failed "${AS_B[@]}"
	check "  and its error says it cannot open the display" bash -c \
		"timeout -s KILL 3 ${AS_B[*]} cat '$MNT/spy/error' | grep -qi 'display'"
fi
check "defect 4: B cannot capture root's display through spy" bash -c \
	"! timeout -s KILL 10 ${AS_B[*]} cat '$MNT/spy/screenshot.png' 2>/dev/null | head -c 8 | grep -q PNG"
timeout -s KILL 10 "${AS_B[@]}" sh -c "echo 'move 123 77' > '$MNT/spy/actions'" 2>/dev/null
check_eq "defect 4: nor move root's pointer through it" "50 60" "$(cursor)"
timeout -s KILL 10 "${AS_B[@]}" rmdir "$MNT/spy" 2>/dev/null
tk rmdir "$MNT/rootd"

# ---- defect 2: close(dup(fd)) racing 200 KB writes (FLUSH vs WRITE) ----
# up to three rounds of 3 s (the old code died in the first nearly always)
flood() {
	local r
	for r in 1 2 3; do
		bounded 20 "$TMP/$1" "${AS_B[@]}" $PY "$TOP/tests/tools/dupclose.py" "$2" 3
		echo "# round $r: $(cat "$TMP/$1.out" "$TMP/$1.err" 2>/dev/null | tail -n 2 | tr '\n' ' ')"
		alive || break
	done
}
flood uaf1 "$MNT/.ctl"
check "B's flood of .ctl ran (it opened the file and wrote)" grep -q "'writes': [1-9]" "$TMP/uaf1.out"
check "defect 2: the daemon survives B's dup/close race on .ctl" alive
if ! alive; then
	echo "# the daemon died: $(tail -n 3 "$DLOG" | tr '\n' ' ')"
	crash_daemon
	mount_deskfs -o allow_other,width=320,height=200,ready_timeout=5
fi
[ -d "$MNT/vic.tmp" ] || as_b mkdir "$MNT/vic.tmp"
until_ok 10 status_is vic.tmp ready "${AS_B[@]}"
flood uaf2 "$MNT/vic.tmp/actions"
check "B's flood of its own actions ran" grep -q "'writes': [1-9]" "$TMP/uaf2.out"
check "defect 2: the daemon survives the same race on a session's actions" alive
if alive; then
	check "  and the session still works" bash -c \
		"timeout -s KILL 5 ${AS_B[*]} sh -c \"echo 'click 1 1' > '$MNT/vic.tmp/actions'\""
	timeout -s KILL 10 "${AS_B[@]}" rmdir "$MNT/vic.tmp"
else
	crash_daemon
fi
finish
