"""apptest.py - shared by the real-application input tests (tests/e2e/5x-*.sh):
a session driven through its files, the programs started on its display, and
"ok - ..." / "not ok - ..." lines the shell test counts (lib.sh's run_py).

    from apptest import Session, T
    s = Session(MNT + "/s")                  # reads session.json: display, cookie
    s.act("click 10 10", "type héllo")       # one write to actions (raises OSError)
    s.obs()                                  # observation.json, parsed
    p = s.spawn(["xterm", ...])              # on the session's display; ended by T.end()
    T.check(cond, "what")                    # ok - what / not ok - what
    T.wait(lambda: ..., 10)                  # poll until true (or the time is up)
    T.end()

Chromium runs headful on the session's Xvfb (X input is what is tested): as
root with --no-sandbox, and without background networking (the machine has no
network but the package mirrors).
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import time


class Tests:
    def __init__(self):
        self.procs = []

    def check(self, cond, what, detail=None):
        print(("ok - " if cond else "not ok - ") + what, flush=True)
        if not cond and detail is not None:
            for line in str(detail).splitlines()[:12]:
                print("#   " + line, flush=True)
        return bool(cond)

    def eq(self, want, got, what):
        return self.check(want == got, what, None if want == got else
                          "want %r\ngot  %r" % (want, got))

    @staticmethod
    def wait(pred, timeout=10.0, step=0.02):
        end = time.time() + timeout
        while True:
            v = pred()
            if v or time.time() > end:
                return v
            time.sleep(step)

    def end(self):
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        self.procs = []


T = Tests()
atexit.register(T.end)  # a script that dies still ends what it started


class Session:
    def __init__(self, path):
        self.path = path
        j = json.load(open(path + "/session.json"))
        self.display = j["display"]
        self.env = dict(os.environ, DISPLAY=self.display)
        # lib.sh merged the session's cookie into $XAUTHORITY already
        self.width, self.height = j["width"], j["height"]

    def act(self, *lines):
        with open(self.path + "/actions", "w", encoding="utf-8") as f:
            f.write("".join(l + "\n" for l in lines))

    def receipts(self, n=1):
        lines = open(self.path + "/actions", encoding="utf-8").read().splitlines()
        return [json.loads(l) for l in lines[-n:]]

    def obs(self):
        return json.load(open(self.path + "/observation.json", encoding="utf-8"))

    def error(self):
        return open(self.path + "/error").read()

    def spawn(self, argv, **kw):
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = subprocess.Popen(argv, env=kw.pop("env", self.env), start_new_session=True,
                             stdin=subprocess.DEVNULL, **kw)
        T.procs.append(p)
        return p

    def x(self, *argv):
        """Output of an X client run on the session's display."""
        return subprocess.run(list(argv), env=self.env, capture_output=True, text=True,
                              timeout=20).stdout


class Page:
    """tests/tools/evpage.py's page in Chromium, on the session's display."""

    def __init__(self, s, tmp, tools):
        self.s, self.log = s, os.path.join(tmp, "evpage.log")
        srv = s.spawn([sys.executable, os.path.join(tools, "evpage.py"), self.log],
                      stdout=subprocess.PIPE)
        self.port = int(srv.stdout.readline().split()[1])
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        s.spawn([exe, "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--password-store=basic",
                 "--disable-features=Translate,MediaRouter", "--kiosk",
                 "--user-data-dir=" + os.path.join(tmp, "chromium-profile"),
                 "http://127.0.0.1:%d/" % self.port],
                stderr=open(os.path.join(tmp, "chromium.log"), "w"))
        self.layout = T.wait(lambda: self.first("load"), 60, 0.1)
        self.ox = self.oy = None

    def events(self, since=0):
        out = []
        try:
            for line in open(self.log, encoding="utf-8"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        except OSError:
            pass
        out.sort(key=lambda r: r.get("seq", 0))
        return [e for e in out if e.get("seq", 0) > since]

    def first(self, typ, since=0, pred=lambda e: True):
        for e in self.events(since):
            if e["type"] == typ and pred(e):
                return e
        return None

    def last_seq(self):
        ev = self.events()
        return ev[-1]["seq"] if ev else 0

    def calibrate(self):
        """Where the page's (0,0) is on the screen: move the pointer over it
        (again, until the page says: its window may map after the page has
        loaded)."""
        since = self.last_seq()
        e = None
        for i in range(60):
            self.s.act("move %d 700" % (700 + 10 * (i % 2)))
            e = T.wait(lambda: self.first("offset", since), 0.5)
            if e:
                break
        if e:
            self.ox, self.oy = e["x"], e["y"]
        return e is not None

    def sync(self, wait_ms=0):
        """A marker click at a spot no element covers; returns its record's seq
        once the page reported it, so later records are the later actions'
        (the page reports in order)."""
        x, y = self.ox + 1000, self.oy + 700
        since = self.last_seq()
        self.s.act("click %d %d" % (x, y), *(["wait %d" % wait_ms] if wait_ms else []))
        e = T.wait(lambda: self.first("mousedown", since,
                                      lambda e: (e["x"], e["y"]) == (1000, 700)), 20)
        return e["seq"] if e else self.last_seq()

    def at(self, elem, fx=0.5, fy=0.5):
        """Screen point at the fraction (fx, fy) of an element's box."""
        x, y, w, h = self.layout["rects"][elem]
        return self.ox + x + int(w * fx), self.oy + y + int(h * fy)
