#!/usr/bin/env bash
# Hostile and broken input (issue 5, section 3), against the real mount and
# the real agent: 10 MB lines in one write(2) and in many, NUL bytes,
# invalid UTF-8, numbers that overflow, JSON nested 100000 deep, lines split
# across writes, a thousand writers at once - to actions, ctl and .ctl; then
# garbage straight at the agent's HTTP socket. Each gets EINVAL or E2BIG,
# nothing is performed or created, and everything keeps working: same agent
# pid, screenshots and actions through the mount.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb

mount_deskfs -o width=640,height=480
mkdir "$MNT/s" "$MNT/t"
S=$MNT/s
wait_for ready cat "$S/status"
wait_for ready cat "$MNT/t/status"
echo "wait 1" >"$S/actions"

H=$TMP/hostile.py
cat >"$H" <<'EOF'
import errno, json, os, socket, sys, threading, time

M = 1 << 20
BIG = 10 * M

def en(e):
    return errno.errorcode.get(e, str(e))

def write_all(path, data, chunk=None, stop_at_error=True):
    """Write data like any careful writer (retry short writes), then close.
    Returns the first errno name, or OK."""
    fd = os.open(path, os.O_WRONLY)
    first = None
    off = 0
    while off < len(data):
        piece = data[off:off + chunk] if chunk else data[off:]
        try:
            n = os.write(fd, piece)
        except OSError as e:
            first = first or en(e.errno)
            if stop_at_error:
                break
            off += len(piece)
            continue
        off += n
    try:
        os.close(fd)
    except OSError as e:
        first = first or en(e.errno)
    return first or "OK"

# the same junk for each file: (what, bytes); each must be refused
JUNK = {
    "actions": {
        "nul": [b"click 1 1\0\n", b"type a\0b\n", b'{"action":"type","text":"a\\u0000b"}\n'],
        "utf8": [b"type \xff\xfe\n", b"type \xc0\xaf\n", b"type \xed\xa0\x80\n",
                 b"type \xf4\x90\x80\x80\n", b"click\xa0 1 1\n", b'{"action":"type","text":"\xff"}\n'],
        "overflow": [b"click 99999999999999999999 1\n", b"click 4294967306 10\n",
                     b"scroll 10 10 0 18446744073709551617\n", b"wait 9223372036854775808\n",
                     b'{"action":"left_click","coordinate":[1e400,1]}\n',
                     b'{"type":"click","x":9007199254740993,"y":1}\n',
                     b'{"type":"click","x":4294967306,"y":10}\n',
                     b'{"action":"wait","duration":1e308}\n'],
        "deep": [b"[" * 100000 + b"]" * 100000 + b"\n", b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"\n",
                 b'{"action":"left_click","coordinate":' + b"[" * 100000 + b"\n"],
    },
    "ctl": {
        "nul": [b"stop\0\n", b"\0\n"],
        "utf8": [b"restart\xff\n", b"\xc0\xafstop\n"],
        "overflow": [b"resize 4294967360x4294967360\n", b"resize 99999999999999999999x99999999999999999999\n",
                     b"resize 640x18446744073709552096\n"],
        "deep": [b"[" * 100000 + b"]" * 100000 + b"\n"],
    },
    "gctl": {
        "nul": [b"create h1\0\n", b"create h1 width=6\0" + b"40\n"],
        "utf8": [b"create h\xff\n", b"create h2 provider=\xff\n"],
        "overflow": [b"create h3 width=99999999999999999999\n", b"create h4 size=4294967360x4294967360\n",
                     b"create h5 ready_timeout=18446744073709551617\n"],
        "deep": [b"[" * 100000 + b"]" * 100000 + b"\n", b"create h6 url=http://" + b"[" * 100000 + b"\n"],
    },
}

def cmd_count(target, kind):
    print(len(JUNK[target][kind]))

def cmd_junk(path, target, kind):
    # each payload in its own open/write/close; prints one result per payload
    print(" ".join(write_all(path, p) for p in JUNK[target][kind]))

def big_line(target):
    head = {"actions": b"type ", "ctl": b"resize ", "gctl": b"create big "}[target]
    return head + b"a" * BIG + b"\n"

def cmd_big_one(path, target):
    # one write(2) of the whole line; the kernel may accept a part of it
    # (a short write), so a careful writer retries the rest
    print(write_all(path, big_line(target)))

def cmd_big_small(path, target):
    # the same line in 4 KiB writes
    print(write_all(path, big_line(target), chunk=4096))

def cmd_big_then(path, target):
    # a 5 MB line without its end, then the end "click 10 10\n" - all one line
    fd = os.open(path, os.O_WRONLY)
    out = []
    for p in (b"y" * (5 * M), b"click 10 10\n"):
        try:
            n = os.write(fd, p)
            out.append("short" if n < len(p) else "OK")
        except OSError as e:
            out.append(en(e.errno))
    try:
        os.close(fd)
    except OSError as e:
        out.append(en(e.errno))
    print(" ".join(out))

def cmd_split(path, *pieces):
    # pieces given as Python bytes literals, each its own write(2)
    fd = os.open(path, os.O_WRONLY)
    res = "OK"
    for p in pieces:
        try:
            os.write(fd, eval(p))
        except OSError as e:
            res = en(e.errno)
            break
    try:
        os.close(fd)
    except OSError as e:
        if res == "OK":
            res = en(e.errno)
    print(res)

def cmd_writers(path, n):
    n = int(n)
    res = [None] * n
    go = threading.Event()
    def one(i):
        go.wait()
        line = b"click %d %d\n" % (i % 600 + 10, i % 400 + 10)
        try:
            fd = os.open(path, os.O_WRONLY)
        except OSError as e:
            res[i] = en(e.errno)
            return
        try:
            os.write(fd, line)
            res[i] = "OK"
        except OSError as e:
            res[i] = en(e.errno)
        finally:
            try:
                os.close(fd)
            except OSError as e:
                res[i] = res[i] if res[i] != "OK" else en(e.errno)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    go.set()
    for t in ts:
        t.join()
    counts = {}
    for r in res:
        counts[r] = counts.get(r, 0) + 1
    print(json.dumps(counts, sort_keys=True))

# ---- the agent's HTTP server, raw ----

def conn(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    return s

def status_of(s):
    """The status code of the reply, or 'closed' if the server closed without one."""
    data = b""
    try:
        while b"\r\n" not in data:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    line = data.split(b"\r\n", 1)[0].split()
    if len(line) >= 2 and line[0].startswith(b"HTTP/"):
        return line[1].decode()
    return "closed" if not data else "junk"

def send(s, data):
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass

def req(sock_path, data):
    s = conn(sock_path)
    send(s, data)
    r = status_of(s)
    s.close()
    return r

def cmd_http(sock_path, token, case):
    auth = b"Authorization: Bearer " + token.encode() + b"\r\n"
    if case == "garbage":
        out = [req(sock_path, b"\x00\xff\xfe garbage \x01\r\n\r\n"),
               req(sock_path, b"GET\r\n\r\n"),
               req(sock_path, b"GET /health HTTP/9.9\r\n" + auth + b"\r\n"),
               req(sock_path, b"GET /" + b"%" * 70000 + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"),
               req(sock_path, os.urandom(65536))]
        print(" ".join(out))
    elif case == "noauth":
        print(" ".join([req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
                        req(sock_path, b"POST /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nclick 10 10\n"),
                        req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n"),
                        req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token[:-1].encode() + b"\r\n\r\n"),
                        req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token[:-1].encode() + b"\0" + token[-1:].encode() + b"\r\n\r\n")]))
    elif case == "bigheader":
        print(" ".join([req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\n" + auth + b"X-Junk: " + b"a" * BIG + b"\r\n\r\n"),
                        req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\n" + auth + b"".join(b"X-%d: y\r\n" % i for i in range(100000)) + b"\r\n")]))
    elif case == "hugelength":
        print(" ".join([req(sock_path, b"POST /actions HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 1000000000000\r\n\r\nclick 10 10\n"),
                        req(sock_path, b"POST /actions HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 99999999999999999999999\r\n\r\nclick 10 10\n"),
                        req(sock_path, b"POST /actions HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: -5\r\n\r\nclick 10 10\n")]))
    elif case == "chunked":
        te = b"POST /actions HTTP/1.1\r\nHost: x\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\n"
        print(" ".join([req(sock_path, te + b"ZZZ\r\nclick 10 10\n\r\n0\r\n\r\n"),
                        req(sock_path, te + b"FFFFFFFFFFFFFFFFFFFFFFFF\r\nclick 10 10\n\r\n0\r\n\r\n"),
                        req(sock_path, te + b"-1\r\nclick 10 10\n\r\n0\r\n\r\n"),
                        req(sock_path, te + b"5\r\nclick 10 10\n\r\n0\r\n\r\n"),
                        req(sock_path, te + b"".join(b"1000000\r\n" + b"a" * (1 << 24) + b"\r\n" for _ in range(2)) + b"0\r\n\r\n")]))
    elif case == "badbody":
        post = lambda body: (b"POST /actions HTTP/1.1\r\nHost: x\r\n" + auth +
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
        print(" ".join([req(sock_path, post(b"click 1 1\0\n")),
                        req(sock_path, post(b"type \xff\n")),
                        req(sock_path, post(b"[" * 100000 + b"]" * 100000)),
                        req(sock_path, post(b"click 99999999999999999999 1\n")),
                        req(sock_path, post(b"type " + b"a" * (17 * M)))]))
    elif case == "slowloris":
        # a partial request held open; meanwhile a proper request is answered
        slow = conn(sock_path)
        send(slow, b"POST /actions HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 100\r\n\r\ncli")
        held = [conn(sock_path) for _ in range(50)]
        for i, h in enumerate(held):
            send(h, b"GET /health HTTP/1.1\r\nHo"[: 5 + i % 20])
        time.sleep(1)
        r = req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
        for h in held:
            h.close()
        slow.close()
        print(r)
    elif case == "many":
        # a thousand clients at once, each a health request
        res = [None] * 1000
        def one(i):
            try:
                res[i] = req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n")
            except socket.timeout:
                res[i] = "timeout"
            except OSError as e:
                res[i] = en(e.errno)
        ts = [threading.Thread(target=one, args=(i,)) for i in range(1000)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        counts = {}
        for r in res:
            counts[r] = counts.get(r, 0) + 1
        print(json.dumps(counts, sort_keys=True))
    elif case == "health":
        print(req(sock_path, b"GET /health HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"))

if __name__ == "__main__":
    f = globals()["cmd_" + sys.argv[1].replace("-", "_")]
    f(*sys.argv[2:])
EOF
h() { timeout 300 python3 "$H" "$@"; }
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval('j' + sys.argv[2]))" "$@"; }
performed() { jget "$S/session.json" "['actions_performed']"; }
agent_pid() { jget "$1/session.json" "['pids']['agent']"; }
sessions() { ls "$MNT" | tr '\n' ' '; }
# a refusal: no 2xx, no 500 (a 4xx, 505, or the connection closed)
refused() { ! echo "$1" | grep -qE '(^| )(2[0-9][0-9]|500)( |$)'; }
all_is() { local want=$1 w; shift; for w in "$@"; do [ "$w" = "$want" ] || return 1; done; }
repeat() { local n=$1 w=$2 out="" i; for i in $(seq 1 "$n"); do out="$out $w"; done; echo "${out# }"; }
works() { # actions and screenshot through the mount
	local n0 n1
	n0=$(performed)
	echo "click 5 5" >"$S/actions" || return 1
	n1=$(performed)
	[ "$n1" -eq $((n0 + 1)) ] || return 1
	[ "$(head -c 8 "$S/screenshot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

AG=$(agent_pid "$S")
AGT=$(agent_pid "$MNT/t")
N0=$(performed)
LS0=$(sessions)
ST0=$(ls "$STATE" | tr '\n' ' ')

# ---- actions ----
for kind in nul utf8 overflow deep; do
	n=$(h count actions "$kind")
	check_eq "actions: $kind -> EINVAL for each" "$(repeat "$n" EINVAL)" "$(h junk "$S/actions" actions "$kind")"
done
check_eq "actions: a 10 MB line in one write(2) -> E2BIG" "E2BIG" "$(h big-one "$S/actions" actions)"
check_eq "actions: a 10 MB line in 4 KiB writes -> E2BIG" "E2BIG" "$(h big-small "$S/actions" actions)"
check_eq "actions: the rest of an over-long line is refused too, not run as a line" \
	"short E2BIG" "$(h big-then "$S/actions" actions)"
check_eq "actions: a NUL split across writes -> EINVAL" "EINVAL" "$(h split "$S/actions" "b'click 1'" "b'\\x00'" "b' 1\\n'")"
check_eq "actions: invalid UTF-8 split across writes -> EINVAL" "EINVAL" "$(h split "$S/actions" "b'type \\xe2\\x82'" "b'\\x28\\n'")"
check_eq "actions: a valid line split byte by byte works" "OK" "$(h split "$S/actions" "b'c'" "b'l'" "b'ick 6 '" "b'6'" "b'\\n'")"
check_eq "nothing of the junk was performed (only the split click)" "$((N0 + 1))" "$(performed)"
check "the session still works" works
check_eq "and is ready" "ready" "$(cat "$S/status")"

# ---- a thousand writers ----
N1=$(performed)
W=$(h writers "$S/actions" 1000)
echo "# 1000 writers: $W"
check "1000 concurrent writers: each succeeds or fails with a clean errno" python3 -c "
import json,sys; c=json.loads('$W'); sys.exit(0 if set(c) <= {'OK','EAGAIN','EBUSY','EINTR','ETIMEDOUT','EMFILE'} and sum(c.values())==1000 else 1)"
OKS=$(python3 -c "import json; print(json.loads('$W').get('OK', 0))")
check "daemon survives 1000 writers" kill -0 "$DPID"
check_eq "receipts count matches the successes" "$((N1 + OKS))" "$(performed)"
check "actions.log holds one receipt per success" bash -c "[ \$(grep -c '\"action\":\"click\"' '$STATE/s/actions.log') -ge $OKS ]"

# ---- ctl (on session t, so a wrongly accepted resize cannot hurt s) ----
T=$MNT/t
for kind in nul utf8 overflow deep; do
	n=$(h count ctl "$kind")
	check_eq "ctl: $kind -> EINVAL for each" "$(repeat "$n" EINVAL)" "$(h junk "$T/ctl" ctl "$kind")"
done
check_eq "ctl: a 10 MB line in one write(2) -> E2BIG" "E2BIG" "$(h big-one "$T/ctl" ctl)"
check_eq "ctl: a 10 MB line in 4 KiB writes -> E2BIG" "E2BIG" "$(h big-small "$T/ctl" ctl)"
check_eq "ctl: the junk changed nothing (size)" "640x480" "$(jget "$T/session.json" "['width']")x$(jget "$T/session.json" "['height']")"
check_eq "ctl: the junk restarted nothing (agent pid)" "$AGT" "$(agent_pid "$T")"
check_eq "ctl: session t is ready" "ready" "$(cat "$T/status")"

# ---- .ctl ----
for kind in nul utf8 overflow deep; do
	n=$(h count gctl "$kind")
	check_eq ".ctl: $kind -> EINVAL for each" "$(repeat "$n" EINVAL)" "$(h junk "$MNT/.ctl" gctl "$kind")"
done
check_eq ".ctl: a 10 MB line in one write(2) -> E2BIG" "E2BIG" "$(h big-one "$MNT/.ctl" gctl)"
check_eq ".ctl: a 10 MB line in 4 KiB writes -> E2BIG" "E2BIG" "$(h big-small "$MNT/.ctl" gctl)"
check_eq ".ctl: nothing was created" "$LS0" "$(sessions)"
check_eq ".ctl: nothing in the state directory either" "$ST0" "$(ls "$STATE" | tr '\n' ' ')"
check_eq ".ctl: a valid create still works" "OK" "$(h split "$MNT/.ctl" "b'create u\\n'")"
check_eq ".ctl: and destroy" "OK" "$(h split "$MNT/.ctl" "b'destroy u\\n'")"

# ---- the agent's HTTP server, straight at its socket ----
SOCK=$STATE/s/agent.sock
TOK=$(tr -d '\n' <"$STATE/s/token")
check_eq "agent: health with the token answers 200" "200" "$(h http "$SOCK" "$TOK" health)"
R=$(h http "$SOCK" "$TOK" garbage)
check "agent: garbage request lines are refused (4xx or closed): $R" refused "$R"
R=$(h http "$SOCK" "$TOK" noauth)
check "agent: no token, wrong token, short token, token with a NUL inside -> 401: $R" \
	bash -c "echo '$R' | grep -qE '^401 401 401 401 4[0-9][0-9]$'"
R=$(h http "$SOCK" "$TOK" bigheader)
check "agent: 10 MB header, 100000 headers -> 4xx or closed: $R" refused "$R"
R=$(h http "$SOCK" "$TOK" hugelength)
check "agent: Content-Length 10^12, 10^23, -5 -> 4xx or closed: $R" refused "$R"
R=$(h http "$SOCK" "$TOK" chunked)
check "agent: bad chunk sizes, 32 MB chunked body -> 4xx or closed: $R" refused "$R"
R=$(h http "$SOCK" "$TOK" badbody)
check_eq "agent: NUL, bad UTF-8, deep JSON, overflow -> 400; a 17 MB body -> 413" "400 400 400 400 413" "$R"
check_eq "agent: a slowloris (51 partial requests held open) does not block others" "200" "$(h http "$SOCK" "$TOK" slowloris)"
R=$(h http "$SOCK" "$TOK" many)
echo "# 1000 HTTP clients: $R"
check "agent: 1000 clients at once get 200 or a clean refusal" python3 -c "
import json,sys; c=json.loads('$R'); sys.exit(0 if c.get('200',0) > 0 and set(c) <= {'200','503','closed','ECONNREFUSED','EAGAIN','ECONNRESET'} else 1)"
check_eq "agent: still answers afterwards" "200" "$(h http "$SOCK" "$TOK" health)"
check_eq "agent pid unchanged after all that" "$AG" "$(agent_pid "$S")"
check "the agent process is alive" running "$AG"
check_eq "the session is ready" "ready" "$(cat "$S/status")"
check "screenshot and actions through the mount still work" works
check "the daemon is alive" kill -0 "$DPID"
finish
