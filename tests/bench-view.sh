#!/usr/bin/env bash
# bench-view.sh - the live view's numbers (make bench runs it after bench.sh).
#
#	tests/bench-view.sh            prints two lines, also into build/bench-view.txt
#
# 1. Screen change -> frame in the viewer's stream: an xterm in a session, a
#    client long-polling /s/NAME/state the way the page does; the time from
#    writing "type x" to NAME/actions until the viewer serves the first frame
#    whose bytes differ from the frame before the action. N rounds, median.
# 2. An idle viewer: one page's long-poll open on a still screen; the CPU
#    time used in 10 s by deskfs-view, the deskfs daemon and the session's
#    agent (utime+stime from /proc), as a percentage of one core.
# It reports; it never fails on a slow machine.
. "$(dirname "$0")/lib.sh"
need_fuse
need_xvfb
need_cmd xterm
ROUNDS=${ROUNDS:-40}

mount_deskfs -o width=1280,height=800
mkdir "$MNT/b1"
cat "$MNT/b1/status" >/dev/null
D=$(sess_display "$MNT/b1")
DISPLAY=$D xterm +bc -geometry 80x24+0+0 -e sh -c 'cat >/dev/null' &
T_PIDS="$T_PIDS $!"
XT=$!
wait_for '"class":"XTerm"' cat "$MNT/b1/observation.json" || { echo "xterm did not map"; exit 1; }
# the pointer over the xterm, so it takes the keys
echo 'click 200 150' >"$MNT/b1/actions"

"$BIN/deskfs-view" "$MNT" >"$TMP/view" 2>&1 &
VPID=$!
T_PIDS="$T_PIDS $VPID"
for i in $(seq 100); do grep -q '^deskfs-view: http' "$TMP/view" && break; sleep 0.05; done
URL=$(sed -n 's/^deskfs-view: \(http[^ ]*\)$/\1/p' "$TMP/view" | head -n1)
DPIDS="$DPID"
APID=$(python3 -c "import json; print(json.load(open('$MNT/b1/session.json'))['pids'].get('agent',''))")

python3 - "$URL" "$MNT/b1" "$ROUNDS" "$VPID" "$DPID" "$APID" <<'PY' | tee "$TOP/build/bench-view.txt"
import http.client, json, os, statistics, sys, threading, time, urllib.parse
url, sess, rounds, vpid, dpid, apid = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:7]
u = urllib.parse.urlsplit(url)
tok = urllib.parse.parse_qs(u.query)["token"][0]
host, port = u.hostname, u.port

def get(path):
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", path + ("&" if "?" in path else "?") + "token=" + tok)
    r = c.getresponse()
    body = r.read()
    c.close()
    return body

def state(gen):
    return json.loads(get("/s/b1/state?gen=%d" % gen))

st = state(0)
gen = st["gen"]
frame = get("/s/b1/frame.png")
# let the screen settle (the click, the xterm's first paint)
while True:
    s = state(gen)
    if s["gen"] == gen:
        break
    gen = s["gen"]
frame = get("/s/b1/frame.png")
lat = []
for i in range(rounds):
    t0 = time.monotonic()
    with open(sess + "/actions", "w") as f:
        f.write("type x\n")
    while True:
        s = state(gen)
        gen = s["gen"]
        f2 = get("/s/b1/frame.png")
        if f2 != frame:
            lat.append((time.monotonic() - t0) * 1000)
            frame = f2
            break
    time.sleep(0.3)  # the viewer goes back to its slow pace between rounds
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print("view: screen change -> frame in the stream  median=%.1f ms p10=%.1f p90=%.1f n=%d"
      % (statistics.median(lat), q(0.1), q(0.9), len(lat)))

# idle: one page open (its long-poll pending), nothing changes on the screen
def cpu(pid):
    if not pid:
        return 0
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime, in clock ticks
stop = False
def page():
    g = gen
    while not stop:
        g = state(g)["gen"]
t = threading.Thread(target=page, daemon=True)
t.start()
time.sleep(2)
hz = os.sysconf("SC_CLK_TCK")
before = [cpu(p) for p in (vpid, dpid, apid)]
t0 = time.monotonic()
time.sleep(10)
el = time.monotonic() - t0
after = [cpu(p) for p in (vpid, dpid, apid)]
pct = [100.0 * (a - b) / hz / el for a, b in zip(after, before)]
stop = True
print("view: idle, one page open, 10 s  viewer=%.2f%% daemon=%.2f%% agent=%.2f%% of one core"
      % tuple(pct))
PY
finish >/dev/null
