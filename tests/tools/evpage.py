"""evpage.py - a local page that reports what the browser did, for tests of
input in a real browser (tests/e2e/50-chromium.sh).

    python3 evpage.py LOGFILE            # prints "port N" once it listens on 127.0.0.1
    chromium ... http://127.0.0.1:N/     # the page; each event it sees is POSTed back
    python3 evpage.py --events LOGFILE   # the events so far, one JSON object per line

Every record is one line of LOGFILE: {"seq": N, "type": ..., ...} in the order
the page saw them (seq), written as the POSTs arrive (the page sends them one
at a time, in order). The page, at CSS pixels = screen pixels (no zoom):

    #word    a line of words             mousedown (detail), click (detail), dblclick
    #para    a paragraph                 the selection's text after each mouseup
    #src     a draggable box             dragstart, dragend
    #dst     a drop zone                 dragenter, drop (with the data dragged)
    #f1..#f5 text fields                 "value" records: the field's whole value
                                         after each input event
    load     the page's layout: every element's rect and the window's offset
             on the screen (from the first mousemove: screenX - clientX)
"""
import http.server
import json
import os
import sys
import threading

PAGE = r"""<!doctype html>
<html><head><meta charset="utf-8"><title>evpage</title>
<style>
 body { margin: 0; font: 20px/1.4 sans-serif; }
 #word { position: absolute; left: 20px; top: 20px; width: 600px; height: 40px; }
 #para { position: absolute; left: 20px; top: 80px; width: 600px; height: 90px; }
 #src { position: absolute; left: 20px; top: 200px; width: 120px; height: 80px;
        background: #c33; color: #fff; }
 #dst { position: absolute; left: 400px; top: 200px; width: 200px; height: 140px;
        background: #36c; color: #fff; }
 input { position: absolute; left: 20px; width: 900px; height: 36px; font: 20px monospace; }
 #f1 { top: 380px; } #f2 { top: 430px; } #f3 { top: 480px; } #f4 { top: 530px; }
 #f5 { top: 580px; }
</style></head><body>
<div id="word">alpha bravo charlie delta echo</div>
<p id="para">First sentence of the paragraph. Second sentence, the end.</p>
<div id="src" draggable="true">drag me</div>
<div id="dst">drop here</div>
<input id="f1" autocomplete="off"><input id="f2" autocomplete="off">
<input id="f3" autocomplete="off"><input id="f4" autocomplete="off">
<input id="f5" autocomplete="off">
<script>
let seq = 0, queue = [], sending = false;
function send(rec) {
  rec.seq = ++seq; rec.t = performance.now();
  queue.push(rec); pump();
}
function pump() {
  if (sending || !queue.length) return;
  sending = true;
  const rec = queue.shift();
  fetch("/ev", {method: "POST", body: JSON.stringify(rec)})
    .catch(() => {}).finally(() => { sending = false; pump(); });
}
function rect(id) {
  const r = document.getElementById(id).getBoundingClientRect();
  return [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];
}
const ids = ["word", "para", "src", "dst", "f1", "f2", "f3", "f4", "f5"];
let offset = null;
document.addEventListener("mousemove", e => {
  const o = [e.screenX - e.clientX, e.screenY - e.clientY];
  if (!offset || o[0] != offset[0] || o[1] != offset[1]) {
    offset = o; send({type: "offset", x: o[0], y: o[1]});
  }
});
for (const t of ["mousedown", "click", "dblclick"])
  document.addEventListener(t, e => send({type: t, target: e.target.id, detail: e.detail,
                                           button: e.button, x: e.clientX, y: e.clientY}));
document.addEventListener("mouseup", e => {
  setTimeout(() => send({type: "selection", text: String(window.getSelection())}), 0);
});
const src = document.getElementById("src"), dst = document.getElementById("dst");
src.addEventListener("dragstart", e => { e.dataTransfer.setData("text/plain", "payload-42");
                                         e.dataTransfer.effectAllowed = "copyMove";
                                         send({type: "dragstart"}); });
src.addEventListener("dragend", e => { send({type: "dragend", effect: e.dataTransfer.dropEffect,
                                               overs: overs}); overs = 0; });
dst.addEventListener("dragenter", e => { e.preventDefault(); send({type: "dragenter"}); });
let overs = 0;
dst.addEventListener("dragover", e => { e.preventDefault(); e.dataTransfer.dropEffect = "copy";
                                        if (!overs++) send({type: "dragover"}); });
dst.addEventListener("dragleave", e => send({type: "dragleave", overs: overs}));
dst.addEventListener("drop", e => { e.preventDefault();
  send({type: "drop", data: e.dataTransfer.getData("text/plain")}); });
for (const id of ["f1", "f2", "f3", "f4", "f5"])
  document.getElementById(id).addEventListener("input", e =>
    send({type: "value", target: id, value: e.target.value}));
window.addEventListener("load", () => {
  const r = {}; for (const id of ids) r[id] = rect(id);
  send({type: "load", rects: r, inner: [innerWidth, innerHeight],
        screen: [screenX, screenY], outer: [outerWidth, outerHeight]});
});
</script></body></html>
"""


def serve(log):
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(n)
            try:
                rec = json.loads(data)
                line = json.dumps(rec, ensure_ascii=False) + "\n"
                with lock, open(log, "a", encoding="utf-8") as f:
                    f.write(line)
            except ValueError:
                pass
            self.send_response(204)
            self.end_headers()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


def events(log):
    recs = []
    if os.path.exists(log):
        for line in open(log, encoding="utf-8"):
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    recs.sort(key=lambda r: r.get("seq", 0))
    for r in recs:
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    if sys.argv[1] == "--events":
        events(sys.argv[2])
    else:
        open(sys.argv[1], "a").close()
        serve(sys.argv[1])
