#!/usr/bin/env bash
# Input and observation under a real window manager (issue 12): openbox with
# two xterms on the session's display.
#   - observation.json's windows match xwininfo: x, y, width, height are the
#     client's content (inside its border), "outer" is openbox's frame;
#     openbox's own helper window (1x1 at -100,-100) is not listed;
#   - a click focuses a window, and observation's "focused" is
#     _NET_ACTIVE_WINDOW;
#   - a drag on a title bar moves the window by exactly the drag (text form
#     and the Anthropic, OpenAI and OSWorld dialects), several times.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/apptest.sh"
need_fuse
need_xvfb
need_cmd openbox "apt-get install openbox"
need_cmd xterm
need_cmd xprop "apt-get install x11-utils"

mount_deskfs -o width=1024,height=768
mkdir "$MNT/s"
cat "$MNT/s/status" >/dev/null
sess_display "$MNT/s" >/dev/null

cat >"$TMP/check.py" <<'PY'
import json, re, sys, time, os
from apptest import T, Session
s, tmp = Session(sys.argv[1]), sys.argv[2]

def root_prop(name):
    m = re.search(r"window id # (0x[0-9a-f]+)", s.x("xprop", "-root", name))
    return int(m.group(1), 16) if m else None

s.spawn(["openbox", "--sm-disable"], env=dict(s.env, HOME=tmp))
T.check(T.wait(lambda: root_prop("_NET_SUPPORTING_WM_CHECK"), 20), "openbox manages the display")
for title, geo in (("win-a", "50x10+60+80"), ("win-b", "50x10+460+360")):
    s.spawn(["xterm", "-T", title, "-geometry", geo, "-e", "sleep", "600"])

def wins():
    return {w["title"]: w for w in s.obs()["windows"]}

T.check(T.wait(lambda: {"win-a", "win-b"} <= set(wins()), 20), "observation lists both xterms")
time.sleep(0.5)  # openbox's placement done

def xwin(wid):
    info = s.x("xwininfo", "-id", str(wid))
    g = lambda k: int(re.search(k + r":\s+(-?\d+)", info).group(1))
    bw = g("Border width")
    return (g("Absolute upper-left X") + bw, g("Absolute upper-left Y") + bw, g("Width"), g("Height"))

def frame_of(wid):
    """The root's child that holds wid (openbox's frame), as xwininfo sees it."""
    w = wid
    while True:
        t = s.x("xwininfo", "-children", "-id", str(w))
        parent = int(re.search(r"Parent window id: (0x[0-9a-f]+)", t).group(1), 16)
        root = int(re.search(r"Root window id: (0x[0-9a-f]+)", t).group(1), 16)
        if parent == root:
            info = s.x("xwininfo", "-id", str(w))
            g = lambda k: int(re.search(k + r":\s+(-?\d+)", info).group(1))
            bw = g("Border width")
            return (g("Absolute upper-left X"), g("Absolute upper-left Y"),
                    g("Width") + 2 * bw, g("Height") + 2 * bw)
        w = parent

ws = wins()
for t in ("win-a", "win-b"):
    w = ws[t]
    T.eq(xwin(w["id"]), (w["x"], w["y"], w["width"], w["height"]),
         "%s: geometry is the content rectangle xwininfo gives" % t)
    o = w["outer"]
    T.eq(frame_of(w["id"]), (o["x"], o["y"], o["width"], o["height"]),
         "%s: outer is openbox's frame, as xwininfo gives it" % t)
    T.check(o["y"] < w["y"] and o["x"] <= w["x"] and
            o["x"] + o["width"] >= w["x"] + w["width"], "%s: the frame holds the title bar above" % t)
tree = s.x("xwininfo", "-root", "-children")
T.check(re.search(r"1x1\+-100\+-100", tree), "openbox has its 1x1 helper window at -100,-100", tree)
T.check(all(w["outer"]["x"] + w["outer"]["width"] > 0 for w in s.obs()["windows"]),
        "and observation does not list it", [(w["title"], w["x"], w["y"]) for w in s.obs()["windows"]])

for t in ("win-b", "win-a", "win-b"):
    w = wins()[t]
    s.act("click %d %d" % (w["x"] + w["width"] // 2, w["y"] + w["height"] // 2))
    T.wait(lambda: root_prop("_NET_ACTIVE_WINDOW") == w["id"], 5)
    o = s.obs()
    T.eq((w["id"], w["id"]), (root_prop("_NET_ACTIVE_WINDOW"), (o["focused"] or {}).get("id")),
         "a click in %s focuses it: _NET_ACTIVE_WINDOW and observation's focused agree" % t)

def title_point(w):
    o = w["outer"]
    return o["x"] + int(o["width"] * 0.4), (o["y"] + w["y"]) // 2

j = json.dumps
moves = [
    ("drag (text)", lambda p, q: "drag %d %d %d %d" % (p + q)),
    ("drag (text)", lambda p, q: "drag %d %d %d %d" % (p + q)),
    ("drag (text)", lambda p, q: "drag %d %d %d %d" % (p + q)),
    ("Anthropic left_click_drag", lambda p, q: j({"action": "left_click_drag",
                                                  "start_coordinate": list(p), "coordinate": list(q)})),
    ("OpenAI drag", lambda p, q: j({"type": "drag", "path": [{"x": p[0], "y": p[1]},
                                                             {"x": q[0], "y": q[1]}]})),
    ("OSWorld MOVE_TO + DRAG_TO", lambda p, q: j([{"action_type": "MOVE_TO", "parameters": {"x": p[0], "y": p[1]}},
                                                  {"action_type": "DRAG_TO", "parameters": {"x": q[0], "y": q[1]}}])),
]
deltas = [(150, 80), (-120, 40), (33, -57), (-90, -30), (101, 7), (-44, 61)]
for (name, line), (dx, dy) in zip(moves, deltas):
    w = wins()["win-a"]
    p = title_point(w)
    q = (p[0] + dx, p[1] + dy)
    s.act(line(p, q))
    want = (w["x"] + dx, w["y"] + dy, w["width"], w["height"])
    T.wait(lambda: xwin(w["id"]) == want, 5)
    T.eq(want, xwin(w["id"]), "%s on the title bar by (%d,%d) moves the window exactly" % (name, dx, dy))
T.end()
PY
run_py "$TMP/check.py" "$MNT/s" "$TMP"
finish
