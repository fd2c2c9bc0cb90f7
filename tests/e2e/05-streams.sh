#!/usr/bin/env bash
# events and .events: a record per action, poll wakes, a blocked reader
# that is signalled returns at once, `while read` works, a destroyed
# session ends its streams with EOF, O_NONBLOCK never blocks.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb

mount_deskfs -o width=640,height=480
mkdir "$MNT/s"
S=$MNT/s
cat "$S/status" >/dev/null
echo "move 1 1" >"$S/actions" # waits for ready

# a record per action, delivered from the moment of open
python3 - "$S" >"$TMP/ev.out" 2>&1 <<'PY' &
import json, os, sys, time
S = sys.argv[1]
f = open(S + "/events", "rb", buffering=0)
open(S + "/../.ready-marker-unused", "a") if False else None
os.write(os.open(S + "/actions", os.O_WRONLY), b"click 5 5\ntype hi\nkey ctrl+a\n")
recs, buf, end = [], b"", time.time() + 10
while len(recs) < 3 and time.time() < end:
    buf += f.read(4096)
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        r = json.loads(line)
        if r.get("type") == "receipt":
            recs.append(r["action"])
print(" ".join(recs))
PY
RPID=$!
wait $RPID
check_eq "events delivers a receipt for each action" "click type key" "$(cat "$TMP/ev.out")"

check "poll wakes when a record arrives (and not before)" python3 - "$S" <<'PY'
import os, select, sys, time, threading
S = sys.argv[1]
fd = os.open(S + "/events", os.O_RDONLY)
p = select.poll(); p.register(fd, select.POLLIN)
if p.poll(200):
    sys.exit("poll said readable with nothing queued")
def later():
    time.sleep(0.3)
    w = os.open(S + "/actions", os.O_WRONLY); os.write(w, b"click 7 7\n"); os.close(w)
threading.Thread(target=later).start()
t = time.time(); ev = p.poll(5000); dt = time.time() - t
data = os.read(fd, 65536)
sys.exit(0 if ev and 0.2 < dt < 3 and b'"receipt"' in data else "no wake (%s after %.2fs)" % (ev, dt))
PY

check "select() and epoll see it too" python3 - "$S" <<'PY'
import os, select, sys
S = sys.argv[1]
fd = os.open(S + "/events", os.O_RDONLY)
w = os.open(S + "/actions", os.O_WRONLY); os.write(w, b"click 8 8\n"); os.close(w)
r, _, _ = select.select([fd], [], [], 5)
e = select.epoll(); e.register(fd, select.EPOLLIN)
sys.exit(0 if r == [fd] and e.poll(5) else 1)
PY

t0=$(date +%s%N)
timeout -s INT 1 cat "$S/events" >/dev/null
rc=$?
t1=$(date +%s%N)
check "a blocked reader that is signalled returns at once" test $(((t1 - t0) / 1000000)) -lt 1800
check_eq "(it was the signal that ended it)" "124" "$rc"
check "a signal handler interrupts a blocked read with EINTR" python3 - "$S" <<'PY'
import os, signal, sys, time
S = sys.argv[1]
class Alarm(Exception): pass
def h(*a): raise Alarm()
signal.signal(signal.SIGALRM, h)
fd = os.open(S + "/events", os.O_RDONLY)
signal.setitimer(signal.ITIMER_REAL, 0.3)
t = time.time()
try:
    os.read(fd, 100)
except Alarm:
    sys.exit(0 if time.time() - t < 1.5 else 1)
sys.exit(1)
PY

check "O_NONBLOCK on an empty stream gives EAGAIN" python3 - "$S" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1] + "/events", os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 100)
except BlockingIOError:
    sys.exit(0)
sys.exit(1)
PY

# while read: bash reads a pipe-like file one byte at a time
(
	n=0
	while IFS= read -r line; do
		case "$line" in *'"receipt"'*) n=$((n + 1)) ;; esac
		[ $n -ge 3 ] && break
	done <"$S/events"
	echo "$n" >"$TMP/wr.out"
) &
WPID=$!
sleep 0.3
printf 'click 1 2\nclick 3 4\nclick 5 6\n' >"$S/actions"
for i in $(seq 1 50); do kill -0 $WPID 2>/dev/null || break; sleep 0.1; done
check_eq "while read gets every line" "3" "$(cat "$TMP/wr.out" 2>/dev/null)"
kill $WPID 2>/dev/null

check "an error is also a record on events" python3 - "$S" <<'PY'
import json, os, sys
S = sys.argv[1]
fd = os.open(S + "/events", os.O_RDONLY)
try:
    w = os.open(S + "/actions", os.O_WRONLY); os.write(w, b"click 9999 1\n")
except OSError:
    pass
data = os.read(fd, 65536).decode()
recs = [json.loads(l) for l in data.splitlines()]
sys.exit(0 if any(r["type"] == "error" and r["code"] == "invalid_action" for r in recs) else 1)
PY

# .events: the life of a session; EOF when a session is destroyed
python3 - "$MNT" >"$TMP/gev.out" 2>&1 <<'PY' &
import json, os, sys, time
M = sys.argv[1]
fd = os.open(M + "/.events", os.O_RDONLY)
os.mkdir(M + "/s2")
seen, rd, buf, end = [], [], b"", time.time() + 20
while time.time() < end and "destroyed" not in seen:
    buf += os.read(fd, 65536)
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        r = json.loads(line)
        if r.get("session") != "s2":
            continue
        what = r["type"] if r["type"] != "state" else r["status"]
        if not seen or seen[-1] != what:
            seen.append(what)
        if r["type"] == "state" and r["status"] == "starting" and (not rd or rd[-1] != r["readiness"]):
            rd.append(r["readiness"])
        if r.get("status") == "ready":
            os.rmdir(M + "/s2")
print(" ".join(seen) + " | " + " ".join(rd))
PY
GPID=$!
wait $GPID
check_eq ".events tells the life of a session, readiness only forward" \
	"created starting ready stopping stopped destroyed | booting desktop_ready bridge_listening bridge_attached runtime_ready" "$(cat "$TMP/gev.out")"

cat "$S/events" >/dev/null &
CPID=$!
sleep 0.3
rmdir "$S"
for i in $(seq 1 40); do kill -0 $CPID 2>/dev/null || break; sleep 0.05; done
check "a reader of a destroyed session's events gets EOF" bash -c "! kill -0 $CPID 2>/dev/null"
wait $CPID
check_eq "(and exits 0)" "0" "$?"
finish
