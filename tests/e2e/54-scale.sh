#!/usr/bin/env bash
# scale=WxH (issue 12): a session's frame. On a 1920x1080 session created
# with scale=1024x768:
#   - screenshot.png is 1024x768, each pixel within 2 of the exact area
#     average of the screen under it (pngtool scalematch, on XGetImage);
#   - a click at the scaled centre of a known window (xev) hits that window,
#     at the screen pixel under that frame pixel;
#   - observation.json gives the screen and the frame, and the window in it;
#   - an off-frame coordinate is refused, and the error names the frame;
#   - the unchanged-screen path holds (the agent answers 304 / cached);
#   - `scale WxH` and `scale none` on ctl change it at once, and the record
#     (session.json's settings) follows.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/apptest.sh"
need_fuse
need_xvfb
need_cmd xev "apt-get install x11-utils"

mount_deskfs -o width=1920,height=1080
echo 'create s scale=1024x768' >"$MNT/.ctl"
S=$MNT/s
cat "$S/status" >/dev/null
D=$(sess_display "$S")
check_eq "session.json records the scale" "1024x768" \
	"$(python3 -c "import json; print(json.load(open('$S/session.json'))['settings']['scale'])")"

bg env DISPLAY="$D" stdbuf -oL xev -geometry 400x300+800+400 -event button -event mouse >"$TMP/xev.out" 2>&1
wait_for "Event Tester" bash -c "DISPLAY=$D xwininfo -root -tree"
sleep 0.2

cat "$S/screenshot.png" >"$TMP/a.png"
check_eq "screenshot.png is 1024x768" "1024 768" "$("$TOOLS/pngtool" size "$TMP/a.png")"
check "and it is the screen, scaled well (within 2 of the exact area average)" \
	env DISPLAY="$D" "$TOOLS/pngtool" scalematch "$TMP/a.png" "$D"

cat >"$TMP/check.py" <<'PY'
import json, re, sys, time
from apptest import T, Session
s, xev = Session(sys.argv[1]), sys.argv[2]

o = s.obs()
T.eq({"width": 1920, "height": 1080}, o["screen"], "observation: the screen is 1920x1080")
T.eq({"width": 1024, "height": 768}, o["frame"], "observation: the frame is 1024x768")
w = [w for w in o["windows"] if w["title"] == "Event Tester"]
T.check(len(w) == 1, "observation lists xev's window")
w = w[0]
info = s.x("xwininfo", "-id", str(w["id"]))
g = lambda k: int(re.search(k + r":\s+(-?\d+)", info).group(1))
bw = g("Border width")  # xwininfo's corner is outside the border; ours is the inside
xw = (g("Absolute upper-left X") + bw, g("Absolute upper-left Y") + bw, g("Width"), g("Height"))
T.eq(xw, (w["x"], w["y"], w["width"], w["height"]), "in screen pixels, as xwininfo says")
x0, y0 = xw[0] * 1024 // 1920, xw[1] * 768 // 1080
x1, y1 = -(-(xw[0] + xw[2]) * 1024 // 1920), -(-(xw[1] + xw[3]) * 768 // 1080)
f = w.get("in_frame", {})
T.eq((x0, y0, x1 - x0, y1 - y0), (f.get("x"), f.get("y"), f.get("width"), f.get("height")),
     "and in frame pixels (the frame pixels it covers)")

def presses():
    out = open(xev).read()
    return re.findall(r"ButtonPress.*?\n.*?\(\d+,\d+\), root:\((\d+),(\d+)\)", out)

cx, cy = f["x"] + f["width"] // 2, f["y"] + f["height"] // 2
n0 = len(presses())
s.act("click %d %d" % (cx, cy))
T.wait(lambda: len(presses()) > n0, 5)
p = presses()[n0:]
want = ((2 * cx + 1) * 1920 // 2048, (2 * cy + 1) * 1080 // 1536)
T.eq([tuple(str(v) for v in want)], p[:1],
     "a click at the frame centre of xev's window (%d,%d) lands in it, at screen %s" % (cx, cy, want))
r = s.receipts(1)[0]
T.eq(((cx, cy), list(want)), ((r["x"], r["y"]), r.get("screen")),
     "the receipt gives the frame point and the screen point")
s.act("move 1023 767")
o = s.obs()
T.eq((1919, 1079), (o["cursor"]["x"], o["cursor"]["y"]),
     "the last frame pixel is the last screen pixel")
T.eq({"x": 1023, "y": 767}, o["cursor"].get("in_frame"), "the cursor is given in the frame too")
try:
    s.act("click 1024 10")
    T.check(False, "click 1024 10 is refused")
except OSError as e:
    T.check(e.errno == 22, "click 1024 10 (off the frame) is refused with EINVAL")
    T.check("1024x768 frame" in s.error(), "and error names the frame", s.error())
PY
run_py "$TMP/check.py" "$S" "$TMP/xev.out"

# the unchanged-screen path, at the agent: the second capture is the same PNG
SOCK=$(python3 -c "import json; print(json.load(open('$S/session.json'))['agent']['endpoint'][5:])")
TOK=$(cat "$STATE/s/token")
get() { curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $TOK" -H "X-Deskfs-Options: frame=1024x768" "$@"; }
get -D "$TMP/h1" -o "$TMP/b1.png" http://x/v1/screenshot.png
ET=$(sed -n 's/^ETag: *\([^\r]*\)\r*$/\1/Ip' "$TMP/h1")
get -D "$TMP/h2" -o "$TMP/b2.png" http://x/v1/screenshot.png
check "a frame screenshot of an unchanged screen is served from the cache" grep -qi '^X-Deskfs-Capture: cached' "$TMP/h2"
check "and a conditional request for it is a 304" \
	bash -c "get() { curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' -H 'X-Deskfs-Options: frame=1024x768' \"\$@\"; }; [ \"\$(get -o /dev/null -w '%{http_code}' -H 'If-None-Match: $ET' http://x/v1/screenshot.png)\" = 304 ]"

echo 'scale 1280x720' >"$S/ctl"
cat "$S/screenshot.png" >"$TMP/c.png"
check_eq "ctl 'scale 1280x720': the next screenshot is 1280x720" "1280 720" "$("$TOOLS/pngtool" size "$TMP/c.png")"
check_eq "and the record says so" "1280x720" \
	"$(python3 -c "import json; print(json.load(open('$S/session.json'))['settings']['scale'])")"
echo 'scale none' >"$S/ctl"
cat "$S/screenshot.png" >"$TMP/d.png"
check_eq "ctl 'scale none': screen pixels again" "1920 1080" "$("$TOOLS/pngtool" size "$TMP/d.png")"
check "scale none: observation has no frame" python3 -c "import json,sys; sys.exit(json.load(open('$S/observation.json'))['frame'] is not None)"
check "ctl 'scale 10x10' is refused" bash -c "! echo 'scale 10x10' >'$S/ctl' 2>/dev/null"
check "create ... scale=banana is refused" bash -c "! echo 'create t scale=banana' >'$MNT/.ctl' 2>/dev/null"
finish
