#!/usr/bin/env bash
# The agent's procs and files services on their own (issue 9), driven with
# curl over its unix socket: programs (output kept apart and bounded, exit
# codes and signals, stdin and eof, a pty with tty, stty and resize, long
# polls that hold no thread, process groups, the end of every program when
# the agent stops, errors with their errno), files (stat, list, read and
# write by range, every op, the errno table, escapes refused, a FIFO that
# cannot block), --run-as with --home and --xauthority, and that neither a
# busy program nor a big copy delays /v1/health or a screenshot.
. "$(dirname "$0")/../lib.sh"
need_xvfb
need_cmd curl "apt-get install curl"
need_cmd setpriv "apt-get install util-linux"

H=$TOOLS/../../tests/tools/agent_http.py
[ -f "$H" ] || H=$TOP/tests/tools/agent_http.py

wait_long() { # wait_long SECONDS CMD...
	local i
	for i in $(seq 1 $(($1 * 20))); do
		"${@:2}" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
jf() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)" 2>/dev/null; }

start_xvfb 640x480
chmod 711 "$TMP" # programs run as another uid below must reach their home in it
umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/tok"
umask 022
TOK=$(cat "$TMP/tok")
SOCK=$TMP/agent.sock
HOMED=$TMP/home
mkdir -p "$HOMED"

# start_agent [ARGS...]: an agent on $SOCK (APID)
start_agent() {
	rm -f "$SOCK"
	"$BIN/deskfs-agent" --display "$XDPY" --listen "unix:$SOCK" --token-file "$TMP/tok" "$@" \
		2>>"$TMP/agent.log" &
	APID=$!
	T_PIDS="$T_PIDS $APID"
	wait_long 10 test -S "$SOCK"
}
stop_agent() {
	kill "$APID" 2>/dev/null
	wait "$APID"
}
c() { curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $TOK" "$@"; }
code() { c -o /dev/null -w '%{http_code}' "$@"; }
# start TAG JSON-REST: POST /v1/procs, prints the HTTP status
start() { c -o "$TMP/start.out" -w '%{http_code}' -d "{\"tag\":\"$1\",$2}" http://x/v1/procs; }
ex() { c "http://x/v1/procs/$1/exit?wait_ms=${2:-10000}"; }
out() { c "http://x/v1/procs/$1/${2:-stdout}"; }
st() { c "http://x/v1/procs/$1" | jf "$2"; }
errno_of() { c -o /dev/null -D - "$@" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-deskfs-errno"{print $2}'; }
op() { c -o "$TMP/op.out" -w '%{http_code}' -d "$1" http://x/v1/files/op; }

start_agent --home "$HOMED"
check "health lists procs, files and pty" bash -c \
	"curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/health | grep -q '\"procs\",\"files\",\"pty\"'"

# --- programs -------------------------------------------------------------
check_eq "start: 201" 201 "$(start t1 '"argv":["sh","-c","echo out; echo err >&2; exit 3"]')"
check_eq "  its status names it, running or not" t1 "$(jf 'j["tag"]' <"$TMP/start.out")"
check_eq "exit: 3" 3 "$(ex t1)"
check_eq "stdout kept apart" out "$(out t1)"
check_eq "stderr kept apart" err "$(out t1 stderr)"
check_eq "status: exited, exit_code 3, ended_at set" "exited 3 True" \
	"$(st t1 'j["state"], j["exit_code"], j["ended_at"] is not None')"
check "the last read says the stream ended" bash -c \
	"curl -s -D - -o /dev/null --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/procs/t1/stdout | grep -qi '^x-deskfs-ended: 1'"
check_eq "cwd and HOME default to --home" "$HOMED $HOMED" \
	"$(start t2 '"argv":["sh","-c","echo $(pwd) $HOME"]' >/dev/null; ex t2 >/dev/null; out t2)"
check_eq "env and cwd as asked (cwd is a path of the files tree)" "V $HOMED/sub" \
	"$(mkdir -p "$HOMED/sub"; start t3 '"argv":["sh","-c","echo $K $(pwd)"],"env":{"K":"V"},"cwd":"/sub"' >/dev/null; ex t3 >/dev/null; out t3)"
check_eq "a clean signal mask and dispositions (the agent ignores SIGPIPE)" \
	"SigBlk:	0000000000000000 SigIgn:	0000000000000000" \
	"$(start t4 '"argv":["cat","/proc/self/status"]' >/dev/null; ex t4 >/dev/null; out t4 | grep -E '^Sig(Blk|Ign)' | tr '\n' ' ' | sed 's/ $//')"
check_eq "its own session and process group" yes \
	"$(start t5 '"argv":["sh","-c","[ $(ps -o sid= -p $$) = $$ ] && [ $(ps -o pgid= -p $$) = $$ ] && echo yes"]' >/dev/null; ex t5 >/dev/null; out t5)"
check_eq "signal KILL: exit says signal 9" "signal 9" \
	"$(start t6 '"argv":["sleep","60"]' >/dev/null; c -d 'signal KILL' http://x/v1/procs/t6/ctl >/dev/null; ex t6)"
check_eq "  state signaled, signal 9, no exit_code" "signaled 9 None" \
	"$(st t6 'j["state"], j["signal"], j["exit_code"]')"
check_eq "exit while running: 202 after wait_ms" 202 "$(start t7 '"argv":["sleep","60"]' >/dev/null; code 'http://x/v1/procs/t7/exit?wait_ms=300')"
check_eq "rmdir (DELETE) while running: 409 EBUSY" "409 16" \
	"$(code -X DELETE http://x/v1/procs/t7) $(errno_of -X DELETE http://x/v1/procs/t7)"
c -d 'signal TERM' http://x/v1/procs/t7/ctl >/dev/null
ex t7 >/dev/null
check_eq "DELETE once ended: 200, then it is gone (404)" "200 404" \
	"$(code -X DELETE http://x/v1/procs/t7) $(code http://x/v1/procs/t7)"

# the group: a signal reaches what the program started
start grp '"argv":["sh","-c","sleep 300 & echo $!; wait"]' >/dev/null
wait_long 5 bash -c "[ -n \"\$(curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/procs/grp/stdout)\" ]"
BGPID=$(out grp)
c -d 'signal TERM' http://x/v1/procs/grp/ctl >/dev/null
check "signal TERM goes to the program's whole group" wait_gone 5 "$BGPID"
check_eq "  and it ended by it" "signal 15" "$(ex grp)"

# errors, with the errno the daemon passes on
check_eq "no such program: 404 ENOENT, code no_such_program" "404 no_such_program" \
	"$(start x1 '"argv":["no-such-program-here"]') $(jf 'j["code"]' <"$TMP/start.out")"
check_eq "  X-Deskfs-Errno 2" 2 "$(errno_of -d '{"tag":"x1","argv":["no-such-program-here"]}' http://x/v1/procs)"
printf 'not a program' >"$HOMED/noexec"
chmod 644 "$HOMED/noexec"
check_eq "not executable: 403 EACCES" "403 13" \
	"$(start x2 "\"argv\":[\"$HOMED/noexec\"]") $(errno_of -d "{\"tag\":\"x2\",\"argv\":[\"$HOMED/noexec\"]}" http://x/v1/procs)"
rm -f "$HOMED/noexec"
check_eq "tag in use: 409 EEXIST" "409 17" \
	"$(start t1 '"argv":["true"]') $(errno_of -d '{"tag":"t1","argv":["true"]}' http://x/v1/procs)"
check_eq "a tag with ../: 400 EINVAL" 400 "$(start ../x '"argv":["true"]')"
check_eq "a tag with a slash: 400" 400 "$(start a/b '"argv":["true"]')"
check_eq "a tag of 65 characters: 400" 400 "$(start "$(printf 'a%.0s' $(seq 65))" '"argv":["true"]')"
check_eq "argv of 0 elements: 400" 400 "$(start x3 '"argv":[]')"
check_eq "argv of a non-string: 400" 400 "$(start x3 '"argv":["echo",1]')"
check_eq "no argv: 400" 400 "$(start x3 '"env":{}')"
check_eq "a malformed body: 400" 400 "$(c -o /dev/null -w '%{http_code}' -d '{"tag":' http://x/v1/procs)"
check_eq "a cwd that does not exist: 404" 404 "$(start x4 '"argv":["true"],"cwd":"/nope"')"
check_eq "a cwd that escapes --home: 422 EXDEV" "422 18" \
	"$(start x4 '"argv":["true"],"cwd":"/.."') $(errno_of -d '{"tag":"x4","argv":["true"],"cwd":"/.."}' http://x/v1/procs)"
check_eq "an env name with '=': 400" 400 "$(start x5 '"argv":["true"],"env":{"A=B":"c"}')"
python3 -c 'import json; print(json.dumps({"tag":"big","argv":["true"],"env":{"K%d"%i:"v"*1000 for i in range(3000)}}))' >"$TMP/bigenv.json"
check_eq "a huge environment (3 MB): 413 E2BIG" 413 "$(c -o /dev/null -w '%{http_code}' -d @"$TMP/bigenv.json" http://x/v1/procs)"
check_eq "  and the agent carries on" 200 "$(code http://x/v1/health)"
check_eq "a bad pty size: 400" 400 "$(start x6 '"argv":["true"],"pty":"0x80"')"
check_eq "an unknown ctl line: 400" 400 "$(c -o /dev/null -w '%{http_code}' -d 'frobnicate' http://x/v1/procs/t1/ctl)"
check_eq "a bad signal: 400" 400 "$(c -o /dev/null -w '%{http_code}' -d 'signal FOO' http://x/v1/procs/t1/ctl)"
check_eq "resize without a pty: 422 ENOTTY" 422 "$(start np '"argv":["sleep","60"]' >/dev/null; c -o /dev/null -w '%{http_code}' -d 'resize 10x10' http://x/v1/procs/np/ctl)"
c -d 'signal KILL' http://x/v1/procs/np/ctl >/dev/null
check_eq "an unknown tag: 404 ENOENT" "404 2" "$(code http://x/v1/procs/nope/stdout) $(errno_of http://x/v1/procs/nope)"
check_eq "an offset past the end: 400" 400 "$(code 'http://x/v1/procs/t1/stdout?offset=999')"

# bounds and hostile sequences
KEPT=$(c http://x/v1/procs | jf 'len(j["procs"])')
check_eq "256 programs kept at once, the 257th: 503 EAGAIN" "201:$((256 - KEPT)) 503:1" \
	"$(python3 "$H" "$SOCK" "$TOK" many $((257 - KEPT)))"
check_eq "  (all forgotten again)" 0 "$(c http://x/v1/procs | jf 'sum(1 for p in j["procs"] if p["tag"].startswith("m"))')"
check_eq "a tag can be used again once forgotten" 201 \
	"$(start t6 '"argv":["true"]' >/dev/null; ex t6 >/dev/null; c -X DELETE http://x/v1/procs/t6 >/dev/null; start t6 '"argv":["true"]')"
start nr '"argv":["sleep","60"]' >/dev/null
head -c 1000000 /dev/zero >"$TMP/zero.bin"
c -o "$TMP/nr.out" -w '%{http_code}' --data-binary @"$TMP/zero.bin" http://x/v1/procs/nr/stdin >"$TMP/nr.code" &
NRPID=$!
sleep 0.3
check "stdin into a program that never reads: parked" running "$NRPID"
c -d 'signal KILL' http://x/v1/procs/nr/ctl >/dev/null
wait "$NRPID"
check_eq "  and answered 410 EPIPE when it ends" "410 EPIPE" "$(cat "$TMP/nr.code") $(jf 'j["errno"]' <"$TMP/nr.out")"
check_eq "signal to an ended program still reaches its group: 200" 200 \
	"$(c -o /dev/null -w '%{http_code}' -d 'signal TERM' http://x/v1/procs/nr/ctl)"

# stdin and eof
start cat1 '"argv":["cat"]' >/dev/null
check_eq "stdin: written" '{"written":8}' "$(c --data-binary $'one\ntwo\n' http://x/v1/procs/cat1/stdin)"
check_eq "eof: 200" 200 "$(c -o /dev/null -w '%{http_code}' -d eof http://x/v1/procs/cat1/ctl)"
check_eq "  and cat ends, having echoed it all" "0 one two" "$(ex cat1) $(out cat1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "stdin to an ended program: 410 EPIPE" "410 32" \
	"$(c -o /dev/null -w '%{http_code}' --data-binary x http://x/v1/procs/cat1/stdin) $(errno_of --data-binary x http://x/v1/procs/cat1/stdin)"
# stdin bigger than a pipe: parked until the program reads it all
head -c 5000000 /dev/urandom >"$TMP/in.bin"
start sha '"argv":["sh","-c","sleep 0.5; sha256sum"]' >/dev/null
c --data-binary @"$TMP/in.bin" http://x/v1/procs/sha/stdin >"$TMP/sha.w"
c -d eof http://x/v1/procs/sha/ctl >/dev/null
ex sha >/dev/null
check_eq "5 MB of stdin into a slow reader: all of it, in order" \
	"$(sha256sum <"$TMP/in.bin" | cut -d' ' -f1) {\"written\":5000000}" "$(out sha | cut -d' ' -f1) $(cat "$TMP/sha.w")"

# a pty
start pty1 '"argv":["sh"],"pty":"24x80"' >/dev/null
c --data-binary $'tty; stty size\n' http://x/v1/procs/pty1/stdin >/dev/null
check "a pty: tty names one and stty size says 24 80" wait_long 5 bash -c \
	"curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/procs/pty1/stdout | tr -d '\r' | grep -q '^/dev/pts/' && curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/procs/pty1/stdout | tr -d '\r' | grep -qx '24 80'"
c -d 'resize 40x120' http://x/v1/procs/pty1/ctl >/dev/null
c --data-binary $'stty size\n' http://x/v1/procs/pty1/stdin >/dev/null
check "  after resize 40x120: stty size says so" wait_long 5 bash -c \
	"curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/procs/pty1/stdout | tr -d '\r' | grep -qx '40 120'"
check_eq "  the status says 40x120" 40x120 "$(st pty1 'j["pty"]')"
c -d eof http://x/v1/procs/pty1/ctl >/dev/null
check_eq "  eof (VEOF) ends the shell" 0 "$(ex pty1)"
check_eq "  and stderr of a pty is empty" "" "$(out pty1 stderr)"
start pty2 '"argv":["sh","-c","trap \"echo winch\" WINCH; while :; do sleep 0.05; done"],"pty":"10x10"' >/dev/null
sleep 0.3
c -d 'resize 11x11' http://x/v1/procs/pty2/ctl >/dev/null
check "  resize sends SIGWINCH" wait_long 5 bash -c \
	"curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/procs/pty2/stdout | grep -q winch"
c -d 'signal KILL' http://x/v1/procs/pty2/ctl >/dev/null

# long polls hold no thread
start slow '"argv":["sh","-c","sleep 0.7; echo later"]' >/dev/null
t0=$(date +%s%N)
got=$(c 'http://x/v1/procs/slow/stdout?offset=0&wait_ms=10000')
t1=$(date +%s%N)
check_eq "a long poll answers when the output comes" later "$got"
check "  not before, not much after (0.6..3 s)" test $(((t1 - t0) / 1000000)) -ge 600 -a $(((t1 - t0) / 1000000)) -lt 3000
check_eq "a long poll with nothing coming: empty 200 after wait_ms" "200 0" \
	"$(start idle '"argv":["sleep","60"]' >/dev/null; c -o /dev/null -w '%{http_code} %{size_download}' 'http://x/v1/procs/idle/stdout?offset=0&wait_ms=300')"
start cat2 '"argv":["cat"]' >/dev/null
check_eq "300 long polls at once: every one answered, health meanwhile under 0.5 s" yes \
	"$(python3 "$H" "$SOCK" "$TOK" polls 300 cat2 | awk '$2 == 300 && $4 < 500 { print "yes" }')"

python3 "$H" "$SOCK" "$TOK" rtt 100 >"$TMP/rtt"
echo "# start + exit of true, one connection, in-process: $(cat "$TMP/rtt") ms"
check "a program round trip (true): p50 under 10 ms" awk '$1 == "p50" && $2 < 10 { ok = 1 } END { exit !ok }' "$TMP/rtt"

# bounded output: the last 8 MiB are kept, a late reader is told what it missed
start big '"argv":["head","-c","20971520","/dev/zero"]' >/dev/null
ex big >/dev/null
check_eq "20 MiB written: size 20971520, first kept 12582912" "20971520 12582912" \
	"$(st big 'j["stdout_size"], j["stdout_start"]')"
check_eq "a read from 0: dropped 12582912, from 12582912, 1 MiB" "12582912 12582912 1048576" \
	"$(c -D - -o "$TMP/big.out" 'http://x/v1/procs/big/stdout?offset=0' | tr -d '\r' | awk -F': ' 'tolower($1)=="x-deskfs-dropped"{d=$2} tolower($1)=="x-deskfs-offset"{o=$2} END{print d, o}') $(stat -c %s "$TMP/big.out")"
check_eq "len= bounds a read" "1000 12582912" \
	"$(c -D "$TMP/len.h" -o "$TMP/len.out" 'http://x/v1/procs/big/stdout?offset=0&len=1000'; stat -c %s "$TMP/len.out") $(tr -d '\r' <"$TMP/len.h" | awk -F': ' 'tolower($1)=="x-deskfs-offset"{print $2}')"
read -r RSS0 _ <<<"$(python3 "$H" "$SOCK" "$TOK" rss)"
start huge '"argv":["head","-c","104857600","/dev/zero"]' >/dev/null
ex huge >/dev/null
read -r RSS1 _ <<<"$(python3 "$H" "$SOCK" "$TOK" rss)"
echo "# agent RSS before/after a program wrote 100 MiB: $RSS0 / $RSS1 KiB"
check "  100 MiB of output leaves the agent's RSS bounded (grows < 24 MiB)" test $((RSS1 - RSS0)) -lt 24576

# a busy program delays neither health nor a screenshot
python3 "$H" "$SOCK" "$TOK" lat /v1/health 50 10 >"$TMP/h.quiet"
python3 "$H" "$SOCK" "$TOK" lat /v1/screenshot.png 30 20 >"$TMP/s.quiet"
start urnd '"argv":["sh","-c","cat /dev/urandom | head -c 300M"]' >/dev/null
python3 "$H" "$SOCK" "$TOK" lat /v1/health 50 10 >"$TMP/h.busy"
python3 "$H" "$SOCK" "$TOK" lat /v1/screenshot.png 30 20 >"$TMP/s.busy"
echo "# health quiet: $(cat "$TMP/h.quiet"); during urandom 300M: $(cat "$TMP/h.busy")"
echo "# screenshot quiet: $(cat "$TMP/s.quiet"); during urandom 300M: $(cat "$TMP/s.busy")"
check "health during a 300 MB program: all 200, none over 0.5 s" awk '$10 == 0 && $8 < 500 { ok = 1 } END { exit !ok }' "$TMP/h.busy"
check "a screenshot during it: all 200, none over 1 s" awk '$10 == 0 && $8 < 1000 { ok = 1 } END { exit !ok }' "$TMP/s.busy"
check_eq "  and the program ran to its end" 0 "$(ex urnd 60000)"

# --- files ----------------------------------------------------------------
echo hello >"$HOMED/a.txt"
mkfifo "$HOMED/fifo"
ln -s /etc/shadow "$HOMED/shadow"
ln -s ../../../../../../etc/passwd "$HOMED/up"
ln -s a.txt "$HOMED/rel"
check_eq "stat: a file, its size and mode" "file 6 420" \
	"$(c 'http://x/v1/files/stat?path=/a.txt' | jf 'j["type"], j["size"], j["mode"]')"
check_eq "stat of a symlink is the link's (lstat)" "symlink" "$(c 'http://x/v1/files/stat?path=/shadow' | jf 'j["type"]')"
check_eq "read by range" ell "$(c 'http://x/v1/files/read?path=/a.txt&offset=1&len=3')"
check_eq "read through a symlink inside" hello "$(c 'http://x/v1/files/read?path=/rel&offset=0&len=100')"
check_eq "a symlink to /etc/shadow gives nothing: 422 EXDEV" "422 18" \
	"$(code 'http://x/v1/files/read?path=/shadow&offset=0&len=10') $(errno_of 'http://x/v1/files/read?path=/shadow&offset=0&len=10')"
check_eq "nor a relative one that climbs out" 422 "$(code 'http://x/v1/files/read?path=/up&offset=0&len=10')"
check_eq "nor .. in the path" 422 "$(code 'http://x/v1/files/read?path=/../../../etc/passwd&offset=0&len=10')"
check_eq "nor an encoded .. (%2e%2e)" 422 "$(code 'http://x/v1/files/read?path=/%2e%2e/%2e%2e/etc/passwd&offset=0&len=10')"
check_eq "nor /proc's magic links (if the tree had them)" 404 "$(code 'http://x/v1/files/stat?path=/proc/self/root')"
check_eq "a path that is not absolute: 400" 400 "$(code 'http://x/v1/files/stat?path=a.txt')"
t0=$(date +%s%N)
check_eq "read of a FIFO: 400 EINVAL, at once" "400 22" \
	"$(code 'http://x/v1/files/read?path=/fifo&offset=0&len=10') $(errno_of 'http://x/v1/files/read?path=/fifo&offset=0&len=10')"
check "  (well under a second)" test $((($(date +%s%N) - t0) / 1000000)) -lt 1000
check_eq "write to a FIFO: 400" 400 "$(c -o /dev/null -w '%{http_code}' -T /dev/null 'http://x/v1/files/write?path=/fifo&offset=0')"
check_eq "read of a directory: EISDIR (422)" "422 21" \
	"$(code 'http://x/v1/files/read?path=/sub&offset=0&len=10') $(errno_of 'http://x/v1/files/read?path=/sub&offset=0&len=10')"
check_eq "read of more than 4 MiB at once: 400" 400 "$(code 'http://x/v1/files/read?path=/a.txt&offset=0&len=4194305')"
check_eq "readlink" /etc/shadow "$(c 'http://x/v1/files/readlink?path=/shadow' | jf 'j["target"]')"
check_eq "list: every entry, no . and .." "a.txt fifo rel shadow sub up" \
	"$(c 'http://x/v1/files/list?path=/' | jf '" ".join(sorted(e["name"] for e in j["entries"] if not e["name"].startswith(".")))')"
check_eq "create 0640 (the mode as given, no umask)" "200 file 416" "$(op '{"op":"create","path":"/new","mode":416}') $(jf 'j["type"], j["mode"]' <"$TMP/op.out")"
check_eq "create again: 409 EEXIST" 409 "$(op '{"op":"create","path":"/new","mode":416}')"
check_eq "mkdir" "200 dir" "$(op '{"op":"mkdir","path":"/d","mode":493}') $(jf 'j["type"]' <"$TMP/op.out")"
check_eq "rename into it" "200" "$(op '{"op":"rename","path":"/new","to":"/d/new"}')"
check_eq "rmdir of a non-empty directory: 409 ENOTEMPTY" 409 "$(op '{"op":"rmdir","path":"/d"}')"
check_eq "rename NOREPLACE onto a file: 409" 409 "$(op '{"op":"create","path":"/x","mode":420}' >/dev/null; op '{"op":"rename","path":"/x","to":"/d/new","flags":1}')"
check_eq "rename EXCHANGE" 200 "$(op '{"op":"rename","path":"/x","to":"/d/new","flags":2}')"
check_eq "rename across the root's edge: 422 EXDEV" 422 "$(op '{"op":"rename","path":"/x","to":"/../x"}')"
check_eq "unlink a directory: EISDIR" 422 "$(op '{"op":"unlink","path":"/d"}')"
check_eq "unlink, then rmdir" "200 200 200" "$(op '{"op":"unlink","path":"/d/new"}') $(op '{"op":"unlink","path":"/x"}') $(op '{"op":"rmdir","path":"/d"}')"
check_eq "rmdir of the root: 409 EBUSY" 409 "$(op '{"op":"rmdir","path":"/"}')"
check_eq "unlink of ..: 400" 400 "$(op '{"op":"unlink","path":"/sub/.."}')"
check_eq "something under a file: 422 ENOTDIR" 422 "$(op '{"op":"mkdir","path":"/a.txt/x","mode":493}')"
check_eq "no such parent: 404" 404 "$(op '{"op":"mkdir","path":"/no/x","mode":493}')"
check_eq "chmod" "200 384" "$(op '{"op":"chmod","path":"/a.txt","mode":384}') $(jf 'j["mode"]' <"$TMP/op.out")"
check_eq "truncate" "200 2" "$(op '{"op":"truncate","path":"/a.txt","size":2}') $(jf 'j["size"]' <"$TMP/op.out")"
check_eq "truncate of a FIFO: 400" 400 "$(op '{"op":"truncate","path":"/fifo","size":0}')"
check_eq "utimens exact to the nanosecond (sec + nsec), atime left alone" "1234567890.123456789" \
	"$(op '{"op":"utimens","path":"/a.txt","mtime_sec":1234567890,"mtime_nsec":123456789,"atime_ns":-2}' >/dev/null; stat -c %.9Y "$HOMED/a.txt")"
check_eq "symlink and readlink" "200 ../x" "$(op '{"op":"symlink","path":"/ln","target":"../x"}') $(c 'http://x/v1/files/readlink?path=/ln' | jf 'j["target"]')"
check_eq "link" "200 2" "$(op '{"op":"link","path":"/a.txt","to":"/hard"}') $(jf 'j["nlink"]' <"$TMP/op.out")"
check_eq "an unknown op: 400" 400 "$(op '{"op":"explode","path":"/a.txt"}')"
check_eq "a symlink loop: 422 ELOOP" "422 40" \
	"$(ln -s loop2 "$HOMED/loop1"; ln -s loop1 "$HOMED/loop2"; code 'http://x/v1/files/read?path=/loop1&offset=0&len=1') $(errno_of 'http://x/v1/files/read?path=/loop1&offset=0&len=1')"
check_eq "a path of 5000 characters: 422 ENAMETOOLONG" "422 36" \
	"$(code "http://x/v1/files/stat?path=/$(printf 'a%.0s' $(seq 5000))") $(errno_of "http://x/v1/files/stat?path=/$(printf 'a%.0s' $(seq 5000))")"
check_eq "rename a directory into itself: 400 EINVAL" 400 "$(op '{"op":"rename","path":"/sub","to":"/sub/in"}')"
check_eq "list of a file: 422 ENOTDIR" 422 "$(code 'http://x/v1/files/list?path=/a.txt')"
check_eq "a write at 2^62: an error, not a crash" 413 \
	"$(printf x | c -o /dev/null -w '%{http_code}' -T - 'http://x/v1/files/write?path=/a.txt&offset=4611686018427387904')"
check_eq "a NUL in the path (%00) ends it there" he \
	"$(c 'http://x/v1/files/read?path=/a.txt%00/../../etc/passwd&offset=0&len=2')"
FD0=$(ls /proc/$APID/fd | wc -l)
op '{"op":"create","path":"/abort.bin","mode":420}' >/dev/null
head -c 50000000 /dev/zero | curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $TOK" --limit-rate 20M \
	-T - 'http://x/v1/files/write?path=/abort.bin&offset=0' --max-time 0.5 >/dev/null 2>&1
check "an upload cut short leaves no descriptor open" wait_long 3 bash -c "[ \$(ls /proc/$APID/fd | wc -l) -le $FD0 ]"
check_eq "  and the agent carries on" 200 "$(code http://x/v1/health)"
check_eq "write to a file that does not exist: 404" 404 "$(c -o /dev/null -w '%{http_code}' -T /dev/null 'http://x/v1/files/write?path=/nope&offset=0')"
# a big file, in and out: written as it streams (bounded), read in 4 MiB ranges
head -c 67108864 /dev/urandom >"$TMP/r.bin"
op '{"op":"create","path":"/r.bin","mode":420}' >/dev/null
read -r _ HWM0 <<<"$(python3 "$H" "$SOCK" "$TOK" rss)"
check_eq "PUT 64 MiB: written" '{"written":67108864}' "$(c -T "$TMP/r.bin" 'http://x/v1/files/write?path=/r.bin&offset=0')"
read -r _ HWM1 <<<"$(python3 "$H" "$SOCK" "$TOK" rss)"
echo "# agent peak RSS before/after a 64 MiB upload: $HWM0 / $HWM1 KiB"
if ldd "$BIN/deskfs-agent" | grep -q libasan; then # its quarantine keeps what is freed
	echo "# (an ASan build: the bound on the upload's memory is not checked)"
else
	check "  with bounded memory (peak grows < 16 MiB)" test $((HWM1 - HWM0)) -lt 16384
fi
: >"$TMP/r.back"
for off in $(seq 0 4194304 67108864); do
	c "http://x/v1/files/read?path=/r.bin&offset=$off&len=4194304" >>"$TMP/r.back"
done
check_eq "read back in 4 MiB ranges: the same sha256" "$(sha256sum <"$TMP/r.bin" | cut -c1-64)" "$(sha256sum <"$TMP/r.back" | cut -c1-64)"
check_eq "a write at an offset" "hXllo" \
	"$(printf hello >"$HOMED/w.txt"; printf X | c -T - 'http://x/v1/files/write?path=/w.txt&offset=1' >/dev/null; cat "$HOMED/w.txt")"

# a big upload delays neither health nor a screenshot
head -c 268435456 /dev/urandom >"$TMP/big.bin"
op '{"op":"create","path":"/big.bin","mode":420}' >/dev/null
c -T "$TMP/big.bin" 'http://x/v1/files/write?path=/big.bin&offset=0' -o "$TMP/big.w" &
UPID=$!
python3 "$H" "$SOCK" "$TOK" lat /v1/health 40 10 >"$TMP/h.copy"
python3 "$H" "$SOCK" "$TOK" lat /v1/screenshot.png 20 20 >"$TMP/s.copy"
wait "$UPID"
echo "# health during a 256 MB upload: $(cat "$TMP/h.copy"); screenshot: $(cat "$TMP/s.copy")"
check "health during a 256 MB upload: none over 0.5 s" awk '$10 == 0 && $8 < 500 { ok = 1 } END { exit !ok }' "$TMP/h.copy"
check "a screenshot during it: none over 1 s" awk '$10 == 0 && $8 < 1000 { ok = 1 } END { exit !ok }' "$TMP/s.copy"
check "  and the upload arrived whole" cmp -s "$TMP/big.bin" "$HOMED/big.bin"
rm -f "$TMP/big.bin" "$HOMED/big.bin"

# --- the agent stops: every program's group ends --------------------------
start stub1 '"argv":["sh","-c","trap \"\" TERM; sleep 300 & echo $!; wait"]' >/dev/null
start stub2 '"argv":["sleep","300"]' >/dev/null
wait_long 5 bash -c "[ -n \"\$(curl -s --unix-socket '$SOCK' -H 'Authorization: Bearer $TOK' http://x/v1/procs/stub1/stdout)\" ]"
P1=$(st stub1 'j["pid"]') P1B=$(out stub1) P2=$(st stub2 'j["pid"]')
c 'http://x/v1/procs/stub2/exit?wait_ms=30000' -o "$TMP/parked.out" -w '%{http_code}' >"$TMP/parked.code" &
WPID=$!
sleep 0.2
t0=$(date +%s%N)
stop_agent
rc=$?
t1=$(date +%s%N)
wait "$WPID"
check_eq "SIGTERM: the agent exits 0" 0 "$rc"
check "  within 2 s + a bit, though one program ignores TERM" test $(((t1 - t0) / 1000000)) -lt 4500
check "  every program and what it started is gone" wait_gone 2 "$P1" "$P1B" "$P2"
check_eq "  a request parked on a program got its answer" "200 signal 15" "$(cat "$TMP/parked.code") $(cat "$TMP/parked.out")"

# --- as another user: --run-as, --home, --xauthority -----------------------
UH=$TMP/uhome
mkdir -p "$UH"
chown 65534:65534 "$UH"
printf 'cookie' >"$TMP/xauth"
chmod 600 "$TMP/xauth"
echo secret >"$UH/root-only"
chmod 600 "$UH/root-only"
ln -s /etc/shadow "$UH/shadow"
start_agent --run-as 65534:65534 --home "$UH" --xauthority "$TMP/xauth"
check_eq "--run-as: id -u, -g, -G" "65534 65534 65534" \
	"$(start who '"argv":["sh","-c","echo $(id -u) $(id -g) $(id -G)"]' >/dev/null; ex who >/dev/null; out who)"
check_eq "  HOME, XAUTHORITY, DISPLAY and cwd" "$UH $UH/.Xauthority $XDPY $UH" \
	"$(start env '"argv":["sh","-c","echo $HOME $XAUTHORITY $DISPLAY $(pwd)"]' >/dev/null; ex env >/dev/null; out env)"
check_eq "  the cookie copied to HOME/.Xauthority, 0600, the user's" "600 65534 cookie" \
	"$(stat -c '%a %u' "$UH/.Xauthority") $(cat "$UH/.Xauthority")"
check_eq "files: a file created is the user's" "200 65534" "$(op '{"op":"create","path":"/mine","mode":420}') $(jf 'j["uid"]' <"$TMP/op.out")"
check_eq "files: root's 0600 file there: 403 EACCES" "403 13" \
	"$(code 'http://x/v1/files/read?path=/root-only&offset=0&len=10') $(errno_of 'http://x/v1/files/read?path=/root-only&offset=0&len=10')"
check_eq "files: nor can the user unlink... it can (its own directory)" 200 "$(op '{"op":"unlink","path":"/root-only"}')"
check_eq "files: the symlink to /etc/shadow: refused" 422 "$(code 'http://x/v1/files/read?path=/shadow&offset=0&len=10')"
check_eq "a program as the user cannot read /etc/shadow either" 1 \
	"$(start sh2 '"argv":["cat","/etc/shadow"]' >/dev/null; ex sh2)"
stop_agent
start_agent --run-as 54321:54321 --home "$UH"
check_eq "an unknown uid: groups are just its gid" "54321 54321" \
	"$(start g2 '"argv":["sh","-c","echo $(id -u) $(id -G)"]' >/dev/null && ex g2 >/dev/null && out g2)"
stop_agent
check "--run-as 5:x is refused (exit 2)" bash -c "! '$BIN/deskfs-agent' --display '$XDPY' --listen 'unix:$TMP/x.sock' --token-file '$TMP/tok' --run-as 5:x 2>/dev/null"

# --- the walk without openat2 (older kernels) ------------------------------
DESKFS_NO_OPENAT2=1 start_agent --home "$HOMED"
check_eq "without openat2: a plain read works" he "$(c 'http://x/v1/files/read?path=/a.txt&offset=0&len=2')"
check_eq "  .. is refused" 422 "$(code 'http://x/v1/files/read?path=/sub/../a.txt&offset=0&len=2')"
check_eq "  a symlink is not followed (ELOOP)" 422 "$(code 'http://x/v1/files/read?path=/shadow&offset=0&len=2')"
stop_agent
finish
