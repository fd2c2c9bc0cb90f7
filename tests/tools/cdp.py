"""cdp.py - drive headless Chromium from a test with the standard library.

    from cdp import Chrome
    with Chrome("http://127.0.0.1:8090/s/s1?token=T", tmpdir) as c:
        c.shot("/tmp/page.png")                       # what the page shows, as PNG
        c.eval("document.title")                      # a JavaScript expression's value
        c.click(100, 80); c.key("a")                  # real input events on the page

Chromium speaks the DevTools protocol over two pipes (--remote-debugging-pipe:
it reads fd 3 and writes fd 4, one JSON message per NUL-terminated record),
so no WebSocket client and no port are needed.
"""
import base64, json, os, shutil, subprocess, time


class Chrome:
    def __init__(self, url, tmpdir, size=(1000, 700)):
        self.tmpdir = tmpdir
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", "--window-size=%d,%d" % size,
             "--user-data-dir=" + os.path.join(tmpdir, "chromium-profile"), "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf, self.id, self.sid = b"", 0, None
        tid = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.sid = self.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Page.navigate", {"url": url})

    def call(self, method, params=None):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params or {}}
        if self.sid and not method.startswith("Target."):
            msg["sessionId"] = self.sid
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium went away")
                self.buf += chunk
            rec, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(rec)
            if m.get("id") == self.id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True})
        return r.get("result", {}).get("value")

    def shot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def click(self, x, y, button="left"):
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": t, "x": x, "y": y, "button": button,
                                                   "clickCount": 1})

    def key(self, text):
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", "key": text, "text": text})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": text})

    def wait(self, expr, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.05)
        return None

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
