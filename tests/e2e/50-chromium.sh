#!/usr/bin/env bash
# Input that Chromium accepts (issue 12): a headful Chromium on the session's
# own Xvfb shows a local page that reports its events to a local HTTP server
# (tests/tools/evpage.py), and the checks compare what the server received:
#   - double_click gives a dblclick (presses spaced by click_gap, so Chromium
#     does not drop the second for its identical time stamp);
#   - triple_click selects the whole paragraph;
#   - HTML5 drag and drop (press, steps, release drag_step apart) from every
#     dialect that drags: text, Anthropic, OpenAI, E2B, OSWorld (DRAG_TO);
#   - a form filled with 60 distinct Greek and Cyrillic letters through the
#     text form and each JSON dialect, exactly (spare keycodes bound a batch
#     at a time, keymap_delay around each binding), over two runs.
# Each gesture is repeated, so that a flaky one shows.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/apptest.sh"
need_fuse
need_xvfb
need_cmd chromium "apt-get install chromium"

mount_deskfs -o width=1280,height=800
mkdir "$MNT/s"
cat "$MNT/s/status" >/dev/null
sess_display "$MNT/s" >/dev/null

cat >"$TMP/check.py" <<'PY'
import json, sys
from apptest import T, Session, Page

s, tmp, tools = Session(sys.argv[1]), sys.argv[2], sys.argv[3]
RUNS = 5
p = Page(s, tmp, tools)
if not T.check(p.layout, "Chromium shows the page (it reported its layout)"):
    T.end()
    sys.exit(0)
if not T.check(p.calibrate(), "the page sees the pointer move (where it is on the screen)"):
    T.end()
    sys.exit(0)

def reset():
    # a marker click far from the last one, past Chromium's double-click time
    # (500 ms); returns its seq: what the page reports after it is ours
    return p.sync(600)

# ---- double and triple clicks ----
got = []
since = reset()
for i in range(RUNS):
    s.act("double_click %d %d" % p.at("word", 0.05))
    dbl = T.wait(lambda: p.first("dblclick", since), 10)
    downs = [e["detail"] for e in p.events(since) if e["type"] == "mousedown"]
    got.append((bool(dbl), downs[:2]))
    since = reset()
T.eq([(True, [1, 2])] * RUNS, got, "double_click: a dblclick, mousedown details 1 2 (%d runs)" % RUNS)

PARA = "First sentence of the paragraph. Second sentence, the end."
got = []
for i in range(RUNS):
    s.act("triple_click %d %d" % p.at("para", 0.3, 0.3))
    sel = T.wait(lambda: [e for e in p.events(since) if e["type"] == "selection" and
                          e["text"].strip() == PARA], 10)
    got.append(bool(sel) or [e.get("text", e.get("detail")) for e in p.events(since)
                             if e["type"] in ("selection", "mousedown")][-3:])
    since = reset()
T.eq([True] * RUNS, got, "triple_click selects the paragraph (%d runs)" % RUNS)

j = json.dumps
got = []
for i in range(RUNS):
    s.act("double_click %d %d" % p.at("word", 0.05), "wait 600",
          j({"action_type": "DOUBLE_CLICK", "parameters": dict(zip("xy", p.at("word", 0.3)))}))
    n = T.wait(lambda: len([e for e in p.events(since) if e["type"] == "dblclick"]) == 2, 10)
    got.append(bool(n))
    since = reset()
T.eq([True] * RUNS, got,
     "double clicks in one write, text and OSWorld DOUBLE_CLICK: two dblclicks (%d runs)" % RUNS)

# ---- HTML5 drag and drop ----
def drop_after(lines):
    since = p.sync()
    s.act(*lines)
    d = T.wait(lambda: p.first("drop", since), 10)
    T.wait(lambda: p.first("dragend", since), 5)
    if not d:
        return [(e["type"], e.get("overs", "")) for e in p.events(since) if e["type"] != "offset"]
    return d.get("data")

(sx, sy), (dx, dy) = p.at("src", 0.3), p.at("dst", 0.5)
got = [drop_after(["drag %d %d %d %d" % (sx, sy, dx, dy)]) for i in range(RUNS)]
T.eq(["payload-42"] * RUNS, got, "drag (text form) drops the element's data (%d runs)" % RUNS)
for name, line in [
    ("Anthropic left_click_drag", j({"action": "left_click_drag", "start_coordinate": [sx, sy],
                                     "coordinate": [dx, dy]})),
    ("OpenAI drag along a path", j({"type": "drag", "path": [{"x": sx, "y": sy},
                                    {"x": (sx + dx) // 2, "y": sy + 60}, {"x": dx, "y": dy}]})),
    ("E2B drag", j({"method": "drag", "fr": [sx, sy], "to": [dx, dy]})),
    ("OSWorld MOVE_TO then DRAG_TO", j([{"action_type": "MOVE_TO", "parameters": {"x": sx, "y": sy}},
                                        {"action_type": "DRAG_TO", "parameters": {"x": dx, "y": dy}}])),
]:
    got = [drop_after([line]) for i in range(2)]
    T.eq(["payload-42"] * 2, got, name + " drops (2 runs)")

# ---- a form filled with 60 distinct non-ASCII letters, through every dialect ----
GREEK = "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝ"
CYRILLIC = "абвгдежзийклмнопрстуфхцчш"
TEXT = (GREEK + CYRILLIC)[:60]
assert len(set(TEXT)) == 60 and all(ord(c) > 127 for c in TEXT)
dialects = [
    ("text", lambda t: "type " + t),
    ("Anthropic", lambda t: j({"action": "type", "text": t})),
    ("OpenAI", lambda t: j({"type": "type", "text": t})),
    ("E2B", lambda t: j({"method": "write", "text": t})),
    ("OSWorld", lambda t: j({"action_type": "TYPING", "parameters": {"text": t}})),
]
for run, text in enumerate([TEXT, TEXT[::-1]]):
    for k, (name, line) in enumerate(dialects):
        field = "f%d" % (k + 1)
        s.act("click %d %d" % p.at(field), "key ctrl+a BackSpace")
        since = p.sync()
        s.act("click %d %d" % p.at(field), line(text))
        def value():
            v = [e["value"] for e in p.events(since) if e["type"] == "value" and e["target"] == field]
            return v[-1] if v and len(v[-1]) >= len(text) else None
        v = T.wait(value, 20) or ([e["value"] for e in p.events(since) if e["type"] == "value"] or [""])[-1]
        T.eq(text, v, "run %d: 60 distinct non-ASCII letters typed exactly through %s" % (run + 1, name))
T.end()
PY
run_py "$TMP/check.py" "$MNT/s" "$TMP" "$TOP/tests/tools"
check "Chromium is gone" bash -c "! pgrep -f '$TMP/[c]hromium-profile' >/dev/null"
finish
