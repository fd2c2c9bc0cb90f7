#!/usr/bin/env bash
# deskfs-view, the live web view, in a real browser: headless Chromium loads a
# session's page; the session is painted a known colour and the page's own
# screenshot shows it; painted another, the page follows within 2 s. Tokens,
# 127.0.0.1, sessions of others, human takeover (off by default; with
# --control, clicks and keys on the page become actions and the page says a
# human is driving), a destroyed session, and nothing left running.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd chromium "apt-get install chromium"
need_cmd xsetroot "apt-get install x11-xserver-utils"
need_cmd curl

mount_deskfs -o width=640,height=480
mkdir "$MNT/s1"
cat "$MNT/s1/status" >/dev/null
D=$(sess_display "$MNT/s1")
DISPLAY=$D xsetroot -solid '#ff0000'

# start_view OUTFILE ARGS...: sets VPID, URL (with token), BASE, TOKEN
start_view() {
	local out=$1 i
	shift
	"$BIN/deskfs-view" "$@" "$MNT" >"$out" 2>"$out.err" &
	VPID=$!
	T_PIDS="$T_PIDS $VPID"
	for i in $(seq 100); do grep -q '^deskfs-view: http' "$out" && break; sleep 0.05; done
	URL=$(sed -n 's/^deskfs-view: \(http[^ ]*\)$/\1/p' "$out" | head -n1)
	BASE=${URL%%/\?*}
	TOKEN=${URL##*token=}
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

start_view "$TMP/view1" --control
check "the viewer prints its URL with a token" test -n "$URL" -a ${#TOKEN} -ge 32
# /proc/net/tcp: the listening socket's local address is 127.0.0.1 (0100007F), state 0A
check "it listens on 127.0.0.1 only" bash -c "[[ '$BASE' == http://127.0.0.1:* ]] &&
	grep -qi ': 0100007F:$(printf %04X "${BASE##*:}") 00000000:0000 0A' /proc/net/tcp &&
	! grep -qi ': 00000000:$(printf %04X "${BASE##*:}") 00000000:0000 0A' /proc/net/tcp"
check_eq "no token: 403" "403" "$(code "$BASE/s/s1")"
check_eq "a wrong token: 403" "403" "$(code "$BASE/s/s1?token=${TOKEN%?}x")"
check_eq "the token as a bearer header works too" "200" "$(code -H "Authorization: Bearer $TOKEN" "$BASE/s/s1/frame.png")"
check "the index lists the session" bash -c "curl -s '$BASE/?token=$TOKEN' | grep -q '/s/s1?token='"
check_eq "a session that does not exist: 404" "404" "$(code "$BASE/s/nope?token=$TOKEN")"
check_eq "a name that is not a session name: 404" "404" "$(code --path-as-is "$BASE/s/..?token=$TOKEN")"
check "frame.png is the session's screen" bash -c "curl -s -o '$TMP/f.png' '$BASE/s/s1/frame.png?token=$TOKEN' && '$TOOLS/pngtool' solid '$TMP/f.png' ff0000"

# ---- the page in Chromium ----
cat >"$TMP/browser.py" <<'PY'
import json, os, subprocess, sys, time
sys.path.insert(0, os.environ["TOOLS_PY"])
from cdp import Chrome
url, tmp, pngtool, disp, mnt = sys.argv[1:6]

def say(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)

def page_colour(c):
    # the centre of the screen image, in the page's own screenshot
    r = c.eval("(()=>{const b=document.getElementById('screen').getBoundingClientRect();"
               "return [Math.round(b.left+b.width/2),Math.round(b.top+b.height/2),b.width]})()")
    if not r or r[2] < 10:
        return None
    c.shot(tmp + "/page.png")
    return subprocess.run([pngtool, "pixel", tmp + "/page.png", str(r[0]), str(r[1])],
                          capture_output=True, text=True).stdout.strip()

def wait_colour(c, want, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if page_colour(c) == want:
            return time.time() - t0
        time.sleep(0.05)
    return None

with Chrome(url, tmp) as c:
    say(wait_colour(c, "ff0000", 15) is not None, "the page shows the session's screen (red)")
    say(c.eval("document.getElementById('status').textContent") == "ready", "the page says ready")
    follow = []
    for colour in ("0000ff", "00c000", "ffff00"):
        subprocess.run(["xsetroot", "-solid", "#" + colour], env=dict(os.environ, DISPLAY=disp))
        follow.append(wait_colour(c, colour, 5))
    print("# page followed the screen in " + ", ".join("%.2f s" % f if f else "never" for f in follow))
    say(all(f is not None and f <= 2.0 for f in follow), "painted another colour, the page follows within 2 s")
    # focused window and receipts come from observation.json and events
    with open(mnt + "/s1/actions", "w") as f:
        f.write("move 11 12\n")
    say(c.wait("document.getElementById('receipts').textContent.includes('move 11 12')", 5) is not None,
        "the page lists the last receipt")
    # human takeover: off until the switch is on
    say(c.eval("document.getElementById('ctl').hidden") is False, "with --control the page offers the switch")
    say(c.eval("document.getElementById('human').offsetParent===null") is True, "no human is driving yet")
    geo = c.eval("(()=>{const i=document.getElementById('screen'),b=i.getBoundingClientRect();"
                 "return [b.left,b.top,b.width,b.height,i.naturalWidth,i.naturalHeight]})()")
    px, py = geo[0] + geo[2] * 0.25, geo[1] + geo[3] * 0.5
    c.click(px, py)
    time.sleep(0.5)
    cur = json.load(open(mnt + "/s1/observation.json"))["cursor"]
    say((cur["x"], cur["y"]) == (11, 12), "a click on the page does nothing while the switch is off")
    c.eval("document.getElementById('drive').click()")
    say(c.eval("getComputedStyle(document.getElementById('human')).display") != "none" and
        "HUMAN" in c.eval("document.getElementById('human').textContent"),
        "switched on, the page shows that a human is driving")
    c.click(px, py)
    want = (int((px - geo[0]) * geo[4] / geo[2]), int((py - geo[1]) * geo[5] / geo[3]))
    ok = False
    for _ in range(100):
        cur = json.load(open(mnt + "/s1/observation.json"))["cursor"]
        if abs(cur["x"] - want[0]) <= 1 and abs(cur["y"] - want[1]) <= 1:
            ok = True
            break
        time.sleep(0.05)
    say(ok, "a click on the page clicks the session at that point (%s, got %s)" % (want, cur))
    c.key("q")
    ok = False
    for _ in range(100):
        lines = open(mnt + "/s1/actions").read().splitlines()
        if lines and '"action":"type"' in lines[-1] and '"chars":1' in lines[-1]:
            ok = True
            break
        time.sleep(0.05)
    say(ok, "a key on the page types into the session")
    # the session goes away: the page says so
    os.rmdir(mnt + "/s1")
    say(c.wait("document.getElementById('status').textContent==='gone'", 5) is not None,
        "a destroyed session's page says gone")
PY
out=$(TOOLS_PY=$TOP/tests/tools timeout 120 python3 "$TMP/browser.py" "$BASE/s/s1?token=$TOKEN" "$TMP" \
	"$TOOLS/pngtool" "$D" "$MNT" 2>&1)
while IFS= read -r l; do
	case "$l" in
	"PASS "*) ok "${l#PASS }" ;;
	"FAIL "*) not_ok "${l#FAIL }" ;;
	*) echo "$l" ;;
	esac
done <<<"$out"
check "chromium is gone" bash -c "! pgrep -f '$TMP/[c]hromium-profile' >/dev/null"

# ---- control is off by default ----
mkdir "$MNT/s2"
cat "$MNT/s2/status" >/dev/null
start_view "$TMP/view2"
check_eq "without --control, actions from the page are refused (403)" "403" \
	"$(code -X POST --data 'click 1 1' "$BASE/s/s2/actions?token=$TOKEN")"
check "and the page offers no switch" bash -c "! curl -sD - -o /dev/null '$BASE/s/s2?token=$TOKEN' | grep -qi x-deskfs-control"
v2=$VPID
start_view "$TMP/view3" --control
check_eq "with --control a POSTed action is performed" "200" \
	"$(code -X POST --data 'move 33 44' "$BASE/s/s2/actions?token=$TOKEN")"
check "a bad one is refused with the session's error" bash -c "
	curl -s -X POST --data 'click 9999 1' '$BASE/s/s2/actions?token=$TOKEN' | grep -q 'off'"

# ---- nothing left: SIGTERM ends the viewer and its threads ----
for p in $v2 $VPID; do
	kill -TERM "$p"
	check "the viewer exits 0 on SIGTERM" bash -c "for i in \$(seq 100); do kill -0 $p 2>/dev/null || exit 0; sleep 0.05; done; exit 1"
done
rmdir "$MNT/s2"
unmount_deskfs
check_eq "the daemon exits 0" "0" "$DMN_STATUS"

# ---- only what the viewer's user may read: the mount decides ----
mount_deskfs -o width=320,height=240,allow_other
chmod 0755 "$TMP"
mkdir "$MNT/rootonly"
setpriv --reuid=65534 --regid=65534 --clear-groups mkdir "$MNT/theirs"
setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/deskfs-view" "$MNT" >"$TMP/view4" 2>&1 &
VPID=$!
T_PIDS="$T_PIDS $VPID"
for i in $(seq 100); do grep -q '^deskfs-view: http' "$TMP/view4" && break; sleep 0.05; done
URL=$(sed -n 's/^deskfs-view: \(http[^ ]*\)$/\1/p' "$TMP/view4" | head -n1)
BASE=${URL%%/\?*} TOKEN=${URL##*token=}
check "a viewer run by another user lists that user's sessions only" bash -c "
	curl -s '$BASE/?token=$TOKEN' | grep -q '/s/theirs?' && ! curl -s '$BASE/?token=$TOKEN' | grep -q rootonly"
check_eq "and does not serve another user's session" "404" "$(code "$BASE/s/rootonly/frame.png?token=$TOKEN")"
check "but serves its own" wait_long 30 bash -c "curl -s -o '$TMP/t.png' '$BASE/s/theirs/frame.png?token=$TOKEN' && '$TOOLS/pngtool' size '$TMP/t.png' | grep -q '320 240'"
kill -TERM "$VPID"
wait "$VPID"
check_eq "that viewer exits 0 too" "0" "$?"
rmdir "$MNT/rootonly"
setpriv --reuid=65534 --regid=65534 --clear-groups rmdir "$MNT/theirs"
unmount_deskfs
check_eq "the daemon exits 0" "0" "$DMN_STATUS"
finish
