#!/usr/bin/env python3
"""xevparse.py - read xev's output for the input tests.

  xevparse.py FILE ButtonPress N        -> "ButtonPress x,y button" (N-th, 1-based)
  xevparse.py FILE last MotionNotify    -> "MotionNotify x,y"
  xevparse.py FILE count ButtonPress    -> number of such events
  xevparse.py FILE countbutton ButtonPress B -> "COUNT B"
  xevparse.py FILE text                 -> the text of the KeyPress events
  xevparse.py FILE keys                 -> KeyPress keysyms, "+ctrl/+shift" for modifiers held
"""
import re, sys

def events(path):
    blocks, cur = [], None
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^(\w+) event, serial", line)
        if m:
            cur = {"type": m.group(1), "lines": []}
            blocks.append(cur)
        elif cur is not None:
            cur["lines"].append(line)
    for b in blocks:
        body = "".join(b["lines"])
        m = re.search(r"root:\((-?\d+),(-?\d+)\)", body)
        b["root"] = (int(m.group(1)), int(m.group(2))) if m else None
        m = re.search(r"button (\d+)", body)
        b["button"] = int(m.group(1)) if m else None
        m = re.search(r"state 0x([0-9a-f]+)", body)
        b["state"] = int(m.group(1), 16) if m else 0
        m = re.search(r"keysym 0x[0-9a-f]+, (\w+)\)", body)
        b["keysym"] = m.group(1) if m else None
        m = re.search(r'XLookupString gives \d+ bytes: (?:\([0-9a-f ]+\) )?"(.*)"\n', body)
        b["text"] = m.group(1) if m else ""
    return blocks

def main():
    ev = events(sys.argv[1])
    what = sys.argv[2]
    if what == "count":
        print(sum(1 for e in ev if e["type"] == sys.argv[3]))
    elif what == "countbutton":
        b = int(sys.argv[4])
        print(sum(1 for e in ev if e["type"] == sys.argv[3] and e["button"] == b), b)
    elif what == "last":
        es = [e for e in ev if e["type"] == sys.argv[3]]
        if es:
            print("%s %d,%d" % (sys.argv[3], *es[-1]["root"]))
    elif what == "text":
        print("".join(e["text"] for e in ev if e["type"] == "KeyPress"))
    elif what == "keys":
        out = []
        for e in ev:
            if e["type"] != "KeyPress":
                continue
            k = e["keysym"]
            if k not in ("Control_L", "Shift_L", "Alt_L", "Super_L"):
                if e["state"] & 4: k += "+ctrl"
                if e["state"] & 1: k += "+shift"
            out.append(k)
        print(" ".join(out))
    else:
        n = int(sys.argv[3])
        es = [e for e in ev if e["type"] == what]
        if len(es) >= n:
            e = es[n - 1]
            print("%s %d,%d %d" % (what, e["root"][0], e["root"][1], e["button"]))

main()
