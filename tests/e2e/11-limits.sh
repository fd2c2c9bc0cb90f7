#!/usr/bin/env bash
# Bounds: a hung agent costs agent_timeout and an ETIMEDOUT, never a stuck
# thread or a frozen ls; max_sessions refuses with EAGAIN and says why;
# a line over the write cap is E2BIG; a slow reader of events loses
# nothing silently (an overflow record).
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb

mount_deskfs -o width=320,height=200,agent_timeout=2,max_sessions=3
mkdir "$MNT/h" "$MNT/ok"
echo "wait 1" >"$MNT/h/actions"; echo "wait 1" >"$MNT/ok/actions"
AG=$(python3 -c "import json; print(json.load(open('$MNT/h/session.json'))['pids']['agent'])")

kill -STOP "$AG" # accepts connections, never answers
t0=$(date +%s%N)
cat "$MNT/h/screenshot.png" >/dev/null 2>"$TMP/hung.err" &
RD=$!
sleep 0.3
t1=$(date +%s%N)
check "while the agent hangs, ls answers at once" timeout 1 ls "$MNT" "$MNT/h"
check "and status too" timeout 1 cat "$MNT/h/status"
check "and another session works" timeout 2 sh -c "echo 'click 1 1' > '$MNT/ok/actions' && cat '$MNT/ok/screenshot.png' >/dev/null"
wait $RD
t2=$(date +%s%N)
check "the capture from the hung agent fails with ETIMEDOUT" grep -q "timed out" "$TMP/hung.err"
ms=$(((t2 - t0) / 1000000))
check "after the bound (agent_timeout=2: ${ms} ms)" test "$ms" -ge 1900 -a "$ms" -lt 5000
check "error says the agent timed out, retryable" python3 -c "
import json,sys; e=json.load(open('$MNT/h/error')); print(e, file=sys.stderr)
sys.exit(0 if e['code'] in ('agent_timeout', 'agent_hung') and e['retryable'] is True else 1)"
# the health probe gives up on it after one agent_timeout: the session fails,
# and later callers learn at once instead of each waiting out the bound
check "a hung agent fails its session (agent_hung) within agent_timeout + 2 s" wait_for failed cat "$MNT/h/status"
check "error names the hung agent" grep -q agent_hung "$MNT/h/error"
t0=$(date +%s%N)
check "an action to it then fails at once (EIO)" bash -c "{ timeout 10 bash -c \"echo 'click 1 1' > '$MNT/h/actions'\"; } 2>&1 | grep -q 'Input/output error'"
ms=$((($(date +%s%N) - t0) / 1000000))
check "at once: ${ms} ms" test "$ms" -lt 1500
kill -CONT "$AG" 2>/dev/null
check "once restarted, the session works again" bash -c "echo restart > '$MNT/h/ctl' && cat '$MNT/h/screenshot.png' >/dev/null && echo 'click 2 2' > '$MNT/h/actions'"

# the receipts log is bounded: past 8 MiB it starts over (the old one kept)
check "the actions log stays under 8 MiB after 60000 receipts" python3 - "$MNT/ok" <<'PY'
import json, os, sys
S = sys.argv[1]
w = os.open(S + "/actions", os.O_WRONLY)
batch = b"".join(b"move %d 7\n" % (i % 300) for i in range(3000))
for i in range(20):
    os.write(w, batch)
size = os.stat(S + "/actions").st_size
last = open(S + "/actions", "rb").read().splitlines()[-1]
r = json.loads(last)
sys.exit(0 if 0 < size <= 8 << 20 and r["action"] == "move" else 1)
PY

# readers killed in the middle of a read: the kernel then releases the file
# while the daemon still serves the read; the daemon must not care
python3 - "$MNT/ok" <<'PY'
import os, random, signal, sys, time
S = sys.argv[1]
for i in range(300):
    pid = os.fork()
    if pid == 0:
        f = ["status", "screenshot.png", "session.json", "events", "actions"][i % 5]
        fd = os.open(S + "/" + f, os.O_RDONLY)
        while True:
            os.pread(fd, 1 << 16, 0) if f != "events" else os.read(fd, 100)
    time.sleep(random.random() / 500)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
PY
check "300 readers killed mid-read: the daemon lives on" kill -0 "$DPID"
check "and serves as before" bash -c "cat '$MNT/ok/status' >/dev/null && echo 'click 4 4' > '$MNT/ok/actions' && ls '$MNT' >/dev/null"

# max_sessions
mkdir "$MNT/third"
check "past max_sessions, mkdir fails with EAGAIN" bash -c "mkdir '$MNT/fourth' 2>&1 | grep -q 'Resource temporarily unavailable'"
check "and .events says why" python3 - "$MNT" <<'PY'
import json, os, sys, errno
M = sys.argv[1]
fd = os.open(M + "/.events", os.O_RDONLY | os.O_NONBLOCK)
try: os.mkdir(M + "/fifth")
except OSError as e: assert e.errno == errno.EAGAIN
recs = [json.loads(l) for l in os.read(fd, 65536).decode().splitlines()]
sys.exit(0 if any(r["type"] == "error" and "max_sessions" in r["message"] for r in recs) else 1)
PY
check ".ctl create past the limit is refused too" bash -c "{ echo 'create sixth' > '$MNT/.ctl'; } 2>&1 | grep -q 'Resource temporarily unavailable'"
rmdir "$MNT/third"
check "after an rmdir there is room again" mkdir "$MNT/fourth"

# the write cap: a line over 4 MiB, in one write or in pieces
check "a 5 MiB line is refused with E2BIG" python3 - "$MNT/ok" <<'PY'
import errno, os, sys
S = sys.argv[1]
fd = os.open(S + "/actions", os.O_WRONLY)
try:
    for i in range(80):
        os.write(fd, b"x" * 65536)
except OSError as e:
    sys.exit(0 if e.errno == errno.E2BIG else 1)
sys.exit(1)
PY
check "error says so" grep -q too_large "$MNT/ok/error"
check "the session still works" sh -c "echo 'click 3 3' > '$MNT/ok/actions'"

# a reader that does not read: bounded queue, then an overflow record
check "a slow events reader gets an overflow record, not silence" python3 - "$MNT/ok" <<'PY'
import json, os, sys
S = sys.argv[1]
fd = os.open(S + "/events", os.O_RDONLY)
w = os.open(S + "/actions", os.O_WRONLY)
line = b"".join(b"move %d 5\n" % (i % 300) for i in range(2000))
for i in range(6):               # ~12000 receipts, well over 1 MiB unread
    os.write(w, line)
data = b""
while True:
    try:
        chunk = os.read(fd, 1 << 20)
    except BlockingIOError:
        break
    data += chunk
    if b'"overflow"' in data:
        break
    os.set_blocking(fd, False)
recs = [json.loads(l) for l in data.decode().splitlines()]
ov = [r for r in recs if r["type"] == "overflow"]
sys.exit(0 if ov and ov[0]["dropped"] > 0 else 1)
PY
finish
