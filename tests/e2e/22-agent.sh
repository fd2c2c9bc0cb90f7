#!/usr/bin/env bash
# The agent on its own, and through a remote session: versioned routes with
# the old paths kept; /v1/health answers at once while the X worker runs a
# long wait (issue 8, defect 11); shutdown and hung-up clients during a
# wait; --listen fd:N and --token-fd N; and a remote session given
# "wait 15000" stays ready (its health probes are answered meanwhile, and
# its bound comes from the actions parsed). Reads of the screen pass a wait;
# actions wait their turn.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd curl "apt-get install curl"

jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
status_is() { [ "$(cat "$MNT/$1/status" 2>/dev/null)" = "$2" ]; }

start_xvfb 640x480
umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/tok"
umask 022
TOK=$(cat "$TMP/tok")
SOCK=$TMP/agent.sock
start_agent() {
	"$BIN/deskfs-agent" --display "$XDPY" --listen "unix:$SOCK" --token-file "$TMP/tok" \
		2>>"$TMP/agent.log" &
	APID=$!
	T_PIDS="$T_PIDS $APID"
	wait_long 10 test -S "$SOCK"
}
c() { curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $TOK" "$@"; }
code() { c -o /dev/null -w '%{http_code}' "$@"; }

start_agent
check_eq "/v1/health" 200 "$(code http://x/v1/health)"
check_eq "/health is kept for old daemons" 200 "$(code http://x/health)"
check_eq "/v1/screenshot.png" 200 "$(code http://x/v1/screenshot.png)"
ETAG=$(c -D - -o /dev/null http://x/v1/screenshot.png | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
check_eq "/v1/screenshot.png: 304 for its own ETag" 304 \
	"$(code -H "If-None-Match: $ETAG" http://x/v1/screenshot.png)"
check_eq "/v1/observation" 200 "$(code http://x/v1/observation)"
check_eq "/v1/actions" 200 "$(code --data-binary 'move 3 4' http://x/v1/actions)"
check_eq "/v2/health is no route" 404 "$(code http://x/v2/health)"
check_eq "GET /v1/actions: 405" 405 "$(code http://x/v1/actions)"
check_eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://x/v1/health)"

# health during a long wait: every probe answers at once
c --data-binary 'wait 3000' http://x/v1/actions >"$TMP/wait.out" &
WPID=$!
wait_long 2 bash -c "curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/health | grep -q '\"running\":1'"
: >"$TMP/probes"
for i in $(seq 1 20); do
	c -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 2 http://x/v1/health >>"$TMP/probes"
	sleep 0.05
done
check "20 health probes during wait 3000: all 200, each under 0.5 s" \
	awk '$1 != 200 || $2 >= 0.5 { bad = 1 } END { exit bad || NR != 20 }' "$TMP/probes"
check "and health says the X worker is busy" bash -c \
	"curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/health | grep -q '\"running\":1'"
wait "$WPID"
check "the wait itself completed with its receipt" grep -q '"action":"wait","ms":3000,"ok":true' "$TMP/wait.out"

# reads of the screen pass a wait; other actions wait their turn
c --data-binary $'move 10 10\nwait 3000\nmove 20 20' http://x/v1/actions >"$TMP/wait2.out" &
WPID=$!
wait_long 2 bash -c "curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/health | grep -q '\"running\":1'"
check "a screenshot during the wait is answered at once" bash -c \
	"[ \"\$(curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' -o '$TMP/during.png' -w '%{http_code} %{time_total}' http://x/v1/screenshot.png | awk '{print (\$1 == 200 && \$2 < 0.5)}')\" = 1 ]"
check_eq "an observation during the wait sees the move before it" "10 10" \
	"$(c http://x/v1/observation | python3 -c 'import json,sys; c=json.load(sys.stdin)["cursor"]; print(c["x"], c["y"])')"
c --data-binary 'move 30 30' -o /dev/null -w '%{http_code} %{time_total}' http://x/v1/actions >"$TMP/after.out"
wait "$WPID"
check "an actions write during the wait runs after it" awk '$1 == 200 && $2 > 1.0 { ok = 1 } END { exit !ok }' "$TMP/after.out"
check_eq "  in order" "30 30" \
	"$(c http://x/v1/observation | python3 -c 'import json,sys; c=json.load(sys.stdin)["cursor"]; print(c["x"], c["y"])')"
check "the paused write ends well" grep -q '"action":"move","x":20,"y":20,.*"ok":true' "$TMP/wait2.out"

# windows coming and going while observations run inside a wait: their
# X errors (BadWindow) are not charged to the paused actions
cat >"$TMP/churn.py" <<'EOF'
import ctypes, sys, time
x = ctypes.CDLL("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XCreateSimpleWindow.restype = ctypes.c_ulong
x.XCreateSimpleWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
                                  ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_ulong]
for f in ("XMapWindow", "XDestroyWindow"):
    getattr(x, f).argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XFlush.argtypes = [ctypes.c_void_p]
d = x.XOpenDisplay(sys.argv[1].encode())
root = x.XDefaultRootWindow(d)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    ws = [x.XCreateSimpleWindow(d, root, i, i, 10, 10, 0, 0, 0) for i in range(20)]
    for w in ws: x.XMapWindow(d, w)
    x.XFlush(d)
    for w in ws: x.XDestroyWindow(d, w)
    x.XFlush(d)
EOF
python3 "$TMP/churn.py" "$XDPY" 2.5 &
CHURN=$!
c --data-binary $'wait 1500\nmove 5 5' http://x/v1/actions >"$TMP/churn.out" &
WPID=$!
for i in $(seq 1 40); do c -o /dev/null http://x/v1/observation; done
wait "$WPID" "$CHURN"
check "observations amid window churn during a wait: the actions still succeed" \
	grep -q '"action":"move","x":5,"y":5' "$TMP/churn.out"

# a client that hangs up mid-job: the job completes, its answer is dropped
c --max-time 0.3 --data-binary 'wait 1000' http://x/v1/actions >/dev/null
check "a client hanging up during its wait leaves the agent serving" \
	wait_long 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' --data-binary 'move 1 1' http://x/v1/actions)\" = 200 ]"
check "  and alive" running "$APID"

# shutdown during wait 60000: quick, clean, and the parked request is answered
c --data-binary 'wait 60000' http://x/v1/actions >"$TMP/w60.out" &
WPID=$!
wait_long 5 bash -c "curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/health | grep -q '\"running\":1'"
c http://x/v1/observation -o /dev/null -w '%{http_code}' >"$TMP/queued.out" &
QPID=$!
sleep 0.2
t0=$(date +%s%N)
kill "$APID"
wait "$APID"
rc=$?
t1=$(date +%s%N)
wait "$WPID" "$QPID"
check_eq "SIGTERM during wait 60000: exit 0" 0 "$rc"
check "  within 2 s" test $(((t1 - t0) / 1000000)) -lt 2000
check "  the waiting client got its answer" grep -q '"action":"wait"' "$TMP/w60.out"
check "  the request queued behind it: 200 or 503" grep -qE '^(200|503)$' "$TMP/queued.out"
check "  the socket is gone" test ! -e "$SOCK"

# --listen fd:N and --token-fd N: a unix and a TCP socket bound by the parent
cat >"$TMP/fd.py" <<'EOF'
import os, socket, subprocess, sys
ag, dpy, tmp = sys.argv[1:4]
tok = "fd-token-%d" % os.getpid()
def serve(lsock, path=None):
    r, w = os.pipe(); rr, rw = os.pipe(); lfd = lsock.fileno()
    p = subprocess.Popen([ag, "--display", dpy, "--listen", "fd:%d" % lfd, "--token-fd", str(r),
                          "--ready-fd", str(rw)], pass_fds=(lfd, r, rw), stderr=subprocess.DEVNULL)
    os.close(r); os.close(rw); lsock.close()
    os.write(w, (tok + "\n").encode()); os.close(w)
    ready = os.read(rr, 64).decode().split(); os.close(rr)
    if path:
        c = socket.socket(socket.AF_UNIX); c.connect(path)
    else:
        c = socket.create_connection(("127.0.0.1", int(ready[1])))
    c.sendall(("GET /v1/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Connection: close\r\n\r\n" % tok).encode())
    data = b""
    while True:
        b = c.recv(4096)
        if not b:
            break
        data += b
    p.terminate()
    rc = p.wait(timeout=10)
    ok = data.startswith(b"HTTP/1.1 200") and rc == 0 and (not path or os.path.exists(path))
    print("ok" if ok else "bad %r %d" % (data[:40], rc))
u = socket.socket(socket.AF_UNIX); u.bind(tmp + "/fd.sock"); u.listen(8)
serve(u, tmp + "/fd.sock")
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(8)
serve(t)
EOF
python3 "$TMP/fd.py" "$BIN/deskfs-agent" "$XDPY" "$TMP" >"$TMP/fd.out" 2>&1
check_eq "--listen fd:N (unix, left in place) with --token-fd" ok "$(sed -n 1p "$TMP/fd.out")"
check_eq "--listen fd:N (tcp) with --token-fd" ok "$(sed -n 2p "$TMP/fd.out")"
check "a bound socket that does not listen is refused" bash -c \
	"python3 -c 'import socket,subprocess,sys; s=socket.socket(); s.bind((\"127.0.0.1\",0)); sys.exit(subprocess.run([\"$BIN/deskfs-agent\",\"--display\",\"$XDPY\",\"--listen\",\"fd:%d\"%s.fileno(),\"--token-file\",\"$TMP/tok\"],pass_fds=(s.fileno(),),stderr=subprocess.DEVNULL).returncode != 2)'"

# a remote session given wait 15000 stays ready, and the write succeeds
"$BIN/deskfs-agent" --display "$XDPY" --listen tcp:127.0.0.1:0 --token-file "$TMP/tok" \
	--ready-fd 3 3>"$TMP/ready" 2>>"$TMP/agent.log" &
APID=$!
T_PIDS="$T_PIDS $APID"
wait_long 10 grep -q '^ready [0-9]' "$TMP/ready"
URL=http://127.0.0.1:$(awk '{print $2}' "$TMP/ready")
mount_deskfs
echo "create r1 provider=remote url=$URL token_file=$TMP/tok" >"$MNT/.ctl"
check "a remote session becomes ready" wait_long 15 status_is r1 ready
check "echo 'wait 15000' > actions succeeds" bash -c "echo 'wait 15000' >'$MNT/r1/actions'"
check "  and the session is still ready" status_is r1 ready
check "  with no error" bash -c "[ ! -s '$MNT/r1/error' ]"
check "a typed 'waiting' costs no extra bound and works" bash -c "echo 'type waiting' >'$MNT/r1/actions'"
rmdir "$MNT/r1"
kill "$APID"
wait "$APID" 2>/dev/null
finish
