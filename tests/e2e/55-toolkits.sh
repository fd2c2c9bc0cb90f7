#!/usr/bin/env bash
# Input that GTK, Qt and xterm accept (issue 12), checked by what each
# application saves or receives:
#   - mousepad (GTK 3) and featherpad (Qt 5), each on a file of lines "q... z...":
#     double_click selects a word and triple_click a line (typing replaces
#     them), and 60 distinct Greek and Cyrillic letters are typed exactly
#     (spare keycodes, a batch at a time), then saved with ctrl+s;
#   - xterm: double_click and triple_click select (pasted back with a middle
#     click into `cat`), and the same 60 letters typed exactly.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/apptest.sh"
need_fuse
need_xvfb
need_cmd mousepad "apt-get install mousepad"
need_cmd featherpad "apt-get install featherpad"
need_cmd xterm

mount_deskfs -o width=1024,height=768
mkdir "$MNT/s"
cat "$MNT/s/status" >/dev/null
sess_display "$MNT/s" >/dev/null

cat >"$TMP/check.py" <<'PY'
import os, sys, time
from apptest import T, Session
s, tmp = Session(sys.argv[1]), sys.argv[2]
Q, Z = "q" * 30, "z" * 30
DOC = [Q + " " + Z] * 20
TEXT = ("αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝ" + "абвгдежзийклмнопрстуфхцчш")[:60]
env = dict(s.env, HOME=tmp, NO_AT_BRIDGE="1", XDG_CONFIG_HOME=os.path.join(tmp, "config"))

def window(title_part):
    ws = [w for w in s.obs()["windows"] if title_part in w["title"] and w["width"] > 200]
    return ws[0] if ws else None

def saved(path, since):
    return os.path.getmtime(path) > since and open(path, encoding="utf-8").read()

for app in ("mousepad", "featherpad"):
    path = os.path.join(tmp, app + ".txt")
    open(path, "w").write("\n".join(DOC) + "\n")
    s.spawn([app, path], env=env)
    w = T.wait(lambda: window(app + ".txt"), 30, 0.2)
    if not T.check(w, "%s shows the file" % app):
        continue
    time.sleep(1.0)  # drawn and idle
    x = w["x"] + 60
    y1, y2 = w["y"] + int(w["height"] * 0.45), w["y"] + int(w["height"] * 0.65)
    t0 = os.path.getmtime(path)
    # two gestures closer than the toolkit's double-click time (400 ms) may be
    # counted as one (a person's come later): wait between them
    s.act("double_click %d %d" % (x, y1), "type X", "wait 500", "triple_click %d %d" % (x, y2), "type Y",
          "key ctrl+End", "key Return", "type " + TEXT, "key ctrl+s")
    got = T.wait(lambda: saved(path, t0), 10)
    lines = (got or "").split("\n")
    T.check(lines.count("X " + Z) == 1, "%s: double_click selected one word (typing replaced it)" % app,
            "\n".join(lines))
    T.check(lines.count("Y") == 1 or any(l == "Y" + Q + " " + Z for l in lines),
            "%s: triple_click selected one line (typing replaced it)" % app,
            [l for l in lines if l not in (Q + " " + Z, TEXT)])
    T.check(TEXT in lines, "%s: 60 distinct non-ASCII letters typed exactly" % app,
            [l for l in lines if l and l[0] > "z"])
    T.end()

# xterm: selections pasted back into cat
out = os.path.join(tmp, "xterm.txt")
open(out, "w").close()
s.spawn(["xterm", "-geometry", "80x24+0+0", "-e", "sh", "-c",
         'for i in 1 2 3 4 5 6 7 8 9 10; do echo "%s %s"; done; exec cat >"$1"' % (Q, Z), "sh", out])
w = T.wait(lambda: window("xterm") or window("sh"), 20, 0.2)
if T.check(w, "xterm runs"):
    time.sleep(0.5)
    ch = w["height"] / 24.0
    line_y = lambda n: w["y"] + int(ch * n + ch / 2)
    s.act("double_click %d %d" % (w["x"] + 40, line_y(2)), "click %d %d middle" % (w["x"] + 40, line_y(15)),
          "key Return")
    # xterm counts clicks by time alone (not by place or button): a person's
    # next gesture comes later than its multiClickTime (250 ms)
    s.act("wait 300", "triple_click %d %d" % (w["x"] + 40, line_y(4)),
          "click %d %d middle" % (w["x"] + 40, line_y(15)), "key Return")
    s.act("type " + TEXT, "key Return")
    got = T.wait(lambda: TEXT[-1] in open(out, encoding="utf-8").read() and
                 open(out, encoding="utf-8").read(), 10)
    lines = [l for l in (got or "").split("\n") if l]  # a line's selection holds its newline
    T.eq(Q, lines[0], "xterm: double_click selects a word")
    T.eq(Q + " " + Z, lines[1].rstrip(), "xterm: triple_click selects a line")
    T.eq(TEXT, lines[2] if len(lines) > 2 else None, "xterm: 60 distinct non-ASCII letters typed exactly")
T.end()
PY
run_py "$TMP/check.py" "$MNT/s" "$TMP"
finish
