# procs.sh - shared by the procs/ and files/ tests (tests/e2e/40, 41, 44-46), after lib.sh:
# the same checks run against an xvfb session and a VM (busybox) session.
#
#	. "$(dirname "$0")/../lib.sh"; . "$TOP/tests/procs.sh"
#	S=$MNT/s1
#	start_line "$S" "start t -- sh -c 'echo hi'"     a line to procs/ctl: ok or the errno's name
#	run_wait "$S" t2 true                            "run and wait": prints the exit file
#	procs_suite "$S"        stdout/stderr, exits, signals, errors, stdin, pty, tail -f, ...
#	files_suite "$S" "$S2"  POSIX operations and errnos, renames that follow, big copies
#
# op MODE PATH [ARG]: one system call through Python, printing "ok" (or what it read)
# or the errno's name, so a check can name the errno it expects.

P_PY=$TMP/pop.py
cat >"$P_PY" <<'PY'
import errno, os, select, sys, time
mode, path = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else ""
try:
    if mode == "write":          # one write of ARG + "\n", then close (close's error counts)
        fd = os.open(path, os.O_WRONLY); os.write(fd, arg.encode() + b"\n"); os.close(fd)
    elif mode == "put":          # create or truncate, write ARG + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, arg.encode() + b"\n"); os.close(fd)
    elif mode == "writeraw":     # ARG as is
        fd = os.open(path, os.O_WRONLY); os.write(fd, arg.encode()); os.close(fd)
    elif mode == "read":
        fd = os.open(path, os.O_RDONLY); d = os.read(fd, 65536); os.close(fd)
        sys.stdout.write(d.decode(errors="replace")); sys.exit(0)
    elif mode == "readnb":       # O_NONBLOCK: a result that is not there is EAGAIN
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK); d = os.read(fd, 65536); os.close(fd)
        sys.stdout.write(d.decode(errors="replace")); sys.exit(0)
    elif mode == "pollin":       # poll(2) says readable within ARG seconds
        fd = os.open(path, os.O_RDONLY); p = select.poll(); p.register(fd, select.POLLIN)
        ev = p.poll(float(arg) * 1000); os.close(fd)
        print("ok" if ev else "timeout"); sys.exit(0)
    elif mode == "mkdir": os.mkdir(path)
    elif mode == "rmdir": os.rmdir(path)
    elif mode == "unlink": os.unlink(path)
    elif mode == "rename": os.rename(path, arg)
    elif mode == "open": os.close(os.open(path, os.O_RDONLY))
    elif mode == "create": os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    elif mode == "symlink": os.symlink(arg, path)
    elif mode == "link": os.link(path, arg)
    elif mode == "list": print(" ".join(sorted(os.listdir(path)))); sys.exit(0)
    elif mode == "renamed_fd":   # an open file keeps working after a rename
        fd = os.open(path, os.O_RDWR); os.rename(path, arg)
        os.pwrite(fd, b"X", 0); d = os.pread(fd, 100, 0); os.close(fd)
        sys.stdout.write(d.decode()); sys.exit(0)
    elif mode == "mknod_fifo": os.mkfifo(path)
    else: sys.exit("pop: unknown mode " + mode)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY
chmod 0644 "$P_PY"
op() { /usr/bin/python3 "$P_PY" "$@"; }

# start_line SESSDIR LINE: write one line to procs/ctl; ok or the errno's name
start_line() { op write "$1/procs/ctl" "$2"; }
# run_wait SESSDIR TAG ARGV...: start it (words quoted for the daemon's splitter) and wait
run_wait() {
	local s=$1 tag=$2 line w
	shift 2
	line="start $tag --"
	for w in "$@"; do line="$line '${w//\'/\'\\\'\'}'"; done
	[ "$(start_line "$s" "$line")" = ok ] || return 1
	timeout 60 cat "$s/procs/$tag/exit"
}
# jfield FILE KEY: a top-level field of a JSON file
jfield() { python3 -c "import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print('' if v is None else v)" "$1" "$2" 2>/dev/null; }
# err_has SESSDIR WORDS: the session's error file says WORDS (and names an errno)
err_has() { grep -q -- "$2" "$1/error"; }
# until_true SECONDS CMD...: poll every 50 ms
until_true() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
daemon_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

# procs_suite SESSDIR: what DESIGN.md's "Processes" promises, on one session.
procs_suite() {
	local S=$1 P=$1/procs t0 rss0 rss1
	check_eq "procs/ lists ctl before any program" "ctl" "$(op list "$P")"

	# run and wait; stdout and stderr apart; exit codes
	check_eq "run and wait: 'start t -- true' then cat exit" 0 "$(run_wait "$S" t0 true)"
	check_eq "start returns once it runs: t1 (exit 3) starts" ok \
		"$(start_line "$S" "start t1 -- sh -c 'echo out; echo err >&2; exit 3'")"
	check_eq "its exit file says 3" 3 "$(timeout 30 cat "$P/t1/exit")"
	check_eq "stdout holds what it wrote there" out "$(cat "$P/t1/stdout")"
	check_eq "stderr apart" err "$(cat "$P/t1/stderr")"
	check_eq "status is JSON: exited with 3" "exited 3" \
		"$(python3 -c "import json;j=json.load(open('$P/t1/status'));print(j['state'],j['exit_code'])")"
	check_eq "stdout's size is its real size" 4 "$(stat -c %s "$P/t1/stdout")"
	check_eq "procs/ lists the programs" "ctl t0 t1" "$(op list "$P")"
	check_eq "procs/t1 has its files" "ctl exit status stderr stdin stdout" "$(op list "$P/t1")"

	# words are split as a shell splits them, with no expansion
	run_wait "$S" tq printf '%s|' 'a b' 'c"d' "e\\f" '$HOME' >/dev/null
	check_eq "quotes group, no expansion" 'a b|c"d|e\f|$HOME|' "$(cat "$P/tq/stdout")"
	start_line "$S" "start tq2 -- printf '%s|' \"x y\" z\\ w 'q'" >/dev/null
	timeout 30 cat "$P/tq2/exit" >/dev/null
	check_eq "double quotes and backslashes too" 'x y|z w|q|' "$(cat "$P/tq2/stdout")"
	check_eq "the JSON form takes argv as given" ok \
		"$(start_line "$S" '{"start":"tj","argv":["sh","-c","echo $0 $1","a b","c"],"env":{"V":"1"}}')"
	timeout 30 cat "$P/tj/exit" >/dev/null
	check_eq "  and runs it" "a b c" "$(cat "$P/tj/stdout")"
	op mkdir "$S/files/wd" >/dev/null
	start_line "$S" "start te cwd=/wd env.FOO=bar env.EMPTY= -- sh -c 'echo \$FOO-\$EMPTY-; pwd'" >/dev/null
	timeout 30 cat "$P/te/exit" >/dev/null
	check_eq "env.K=V sets the environment" "bar--" "$(head -n1 "$P/te/stdout")"
	check "cwd=DIR is a directory of files/" bash -c "tail -n1 '$P/te/stdout' | grep -q '/wd\$'"

	# signals
	start_line "$S" "start ts -- sleep 1000" >/dev/null
	check_eq "a running program's exit is not there yet (O_NONBLOCK: EAGAIN)" EAGAIN "$(op readnb "$P/ts/exit")"
	check_eq "status says running" running "$(python3 -c "import json;print(json.load(open('$P/ts/status'))['state'])")"
	check_eq "rmdir of a running program: EBUSY" EBUSY "$(op rmdir "$P/ts")"
	t0=$(ms_now)
	timeout -s INT 1 cat "$P/ts/exit" >/dev/null 2>&1
	check "a signal ends a blocked read of exit at once" test $(($(ms_now) - t0)) -lt 3000
	check_eq "signal KILL" ok "$(op write "$P/ts/ctl" "signal KILL")"
	check_eq "  exit says signal 9" "signal 9" "$(timeout 30 cat "$P/ts/exit")"
	check_eq "  status: signaled, 9" "signaled 9" \
		"$(python3 -c "import json;j=json.load(open('$P/ts/status'));print(j['state'],j['signal'])")"
	start_line "$S" "start tt -- sleep 1000" >/dev/null
	op write "$P/tt/ctl" "signal TERM" >/dev/null
	check_eq "signal TERM: signal 15" "signal 15" "$(timeout 30 cat "$P/tt/exit")"
	start_line "$S" "start tp -- sleep 2" >/dev/null
	check_eq "poll on exit: readable once it ends" ok "$(op pollin "$P/tp/exit" 20)"
	check_eq "rmdir forgets an ended program" ok "$(op rmdir "$P/ts")"
	check "  it is gone" test ! -e "$P/ts"
	check_eq "  and its tag may be used again" 0 "$(run_wait "$S" ts true)"

	# errors: errno and words
	check_eq "a missing program: ENOENT" ENOENT "$(start_line "$S" "start tm -- /no/such/program")"
	check "  and error says so, with the program's name" err_has "$S" "/no/such/program"
	check "  and names ENOENT" err_has "$S" ENOENT
	check_eq "a tag in use: EEXIST" EEXIST "$(start_line "$S" "start t1 -- true")"
	check "  error says so" err_has "$S" EEXIST
	check_eq "no '--': EINVAL" EINVAL "$(start_line "$S" "start tx true")"
	check "  error says what is missing" err_has "$S" "'--'"
	check_eq "a bad tag: EINVAL" EINVAL "$(start_line "$S" "start ../x -- true")"
	check_eq "an open quote: EINVAL" EINVAL "$(start_line "$S" "start ty -- sh -c 'echo")"
	check_eq "an unknown option: EINVAL" EINVAL "$(start_line "$S" "start ty colour=red -- true")"
	check_eq "a malformed line later: nothing of the write runs" EINVAL \
		"$(op write "$P/ctl" "$(printf 'start tz1 -- true\nstart tz2 oops')")"
	check "  (tz1 was not started)" test ! -e "$P/tz1"
	check_eq "a bad ctl line for a program: EINVAL" EINVAL "$(op write "$P/t1/ctl" "signal SPLAT")"
	check_eq "an unknown tag: ENOENT" ENOENT "$(op read "$P/nosuch/status")"

	# stdin and eof
	start_line "$S" "start ti -- cat" >/dev/null
	check_eq "stdin: bytes go to the program" ok "$(op writeraw "$P/ti/stdin" "$(printf 'hello\nworld')")"
	check_eq "eof closes its input" ok "$(op write "$P/ti/ctl" eof)"
	check_eq "  it ends" 0 "$(timeout 30 cat "$P/ti/exit")"
	check_eq "  having read every byte in order" "hello world" "$(tr '\n' ' ' <"$P/ti/stdout")"
	check_eq "stdin of an ended program: EPIPE" EPIPE "$(op write "$P/ti/stdin" more)"
	start_line "$S" "start tb -- sh -c 'head -c 3000000 | md5sum'" >/dev/null
	head -c 3000000 /dev/zero | tr '\0' 'z' >"$TMP/stdin.bin"
	check "3 MB through stdin (several 1 MiB writes, parked while the pipe is full)" \
		timeout 60 dd if="$TMP/stdin.bin" of="$P/tb/stdin" bs=1M status=none
	timeout 30 cat "$P/tb/exit" >/dev/null
	check_eq "  arrive whole and in order" "$(md5sum <"$TMP/stdin.bin" | cut -d' ' -f1)" \
		"$(cut -d' ' -f1 <"$P/tb/stdout")"

	# a pty
	start_line "$S" "start ty pty=24x80 -- sh -c 'tty; stty size; read x; stty size'" >/dev/null
	check "a pty: tty answers a terminal" until_true 10 grep -q '^/dev/pts/' "$P/ty/stdout"
	check "  stty size: 24 80" until_true 10 grep -q '^24 80' "$P/ty/stdout"
	check_eq "resize 30x100" ok "$(op write "$P/ty/ctl" "resize 30x100")"
	op write "$P/ty/stdin" go >/dev/null
	check_eq "  it ends" 0 "$(timeout 30 cat "$P/ty/exit")"
	check "  stty size after resize: 30 100" grep -q '^30 100' "$P/ty/stdout"
	check_eq "  stderr is the pty's: empty" "" "$(cat "$P/ty/stderr")"
	check_eq "resize of a program without a pty: ENOTTY" ENOTTY "$(op write "$P/t1/ctl" "resize 30x100")"
	check "  error says so" err_has "$S" ENOTTY

	# tail -f while it runs
	start_line "$S" "start tf -- sh -c 'i=0; while [ \$i -lt 12 ]; do i=\$((i+1)); echo line\$i; sleep 0.25; done'" >/dev/null
	timeout 20 tail -n +1 -f "$P/tf/stdout" >"$TMP/tailf.out" 2>/dev/null &
	local tp=$!
	T_PIDS="$T_PIDS $tp"
	check "tail -f stdout shows lines as they come" until_true 15 grep -q '^line12$' "$TMP/tailf.out"
	check_eq "  all of them, in order" "$(seq -f 'line%g' 1 12 | tr '\n' ' ')" "$(tr '\n' ' ' <"$TMP/tailf.out")"
	kill "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null

	# 100 MB of output: bounded memory, and a reader who fell behind is told
	rss0=$(daemon_rss_kb)
	start_line "$S" "start tbig -- sh -c 'yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678 | head -c 104857600'" >/dev/null
	check_eq "100 MB of output: the program ends" 0 "$(timeout 120 cat "$P/tbig/exit")"
	check_eq "  stdout's size is everything it wrote" 104857600 "$(stat -c %s "$P/tbig/stdout")"
	timeout 60 cat "$P/tbig/stdout" >"$TMP/big.out"
	check "  a reader from 0 is told what was dropped" grep -qa 'bytes of output were dropped' "$TMP/big.out"
	check "  then gets the last bytes kept (at least 8 MiB)" test "$(stat -c %s "$TMP/big.out")" -ge 8388608
	check_eq "  which end as the output ended" "$(tail -c 100 "$TMP/big.out")" "$(tail -c 100 "$P/tbig/stdout")"
	rss1=$(daemon_rss_kb)
	echo "# daemon RSS: ${rss0} kB before 100 MB of output, ${rss1} kB after"
	check "  the daemon's memory stays bounded (+$((rss1 - rss0)) kB < 32 MB)" test $((rss1 - rss0)) -lt 32768
	rm -f "$TMP/big.out"
}

# files_suite SESSDIR OTHERSESSDIR: DESIGN.md's "Files", on one session (the other
# only for EXDEV). Big copies are files_bigcopy's.
files_suite() {
	local S=$1 O=$2 F=$1/files
	check "files/ is reachable by name" test -d "$F"
	check "but not listed in its session" bash -c "! ls -a '$S' | grep -qx files"
	check_eq "create a file" ok "$(op create "$F/a.txt")"
	check_eq "  a second O_EXCL create: EEXIST" EEXIST "$(op create "$F/a.txt")"
	echo hello >"$F/a.txt"
	check_eq "write and read it back" hello "$(cat "$F/a.txt")"
	echo world >>"$F/a.txt"
	check_eq "append" "hello world" "$(tr '\n' ' ' <"$F/a.txt" | sed 's/ $//')"
	printf 'HE' | dd of="$F/a.txt" bs=1 seek=0 conv=notrunc status=none
	check_eq "a write in the middle" "HEllo" "$(head -n1 "$F/a.txt")"
	check_eq "its size is real" 12 "$(stat -c %s "$F/a.txt")"
	chmod 0640 "$F/a.txt"
	check_eq "chmod" 640 "$(stat -c %a "$F/a.txt")"
	touch -d '2001-02-03 04:05:06 UTC' "$F/a.txt"
	check_eq "utimens (touch -d)" 981173106 "$(stat -c %Y "$F/a.txt")"
	truncate -s 3 "$F/a.txt"
	check_eq "truncate" HEl "$(cat "$F/a.txt")"
	: >"$F/a.txt"
	check_eq "O_TRUNC" 0 "$(stat -c %s "$F/a.txt")"
	echo abc >"$F/a.txt"

	# directories
	check_eq "mkdir" ok "$(op mkdir "$F/d")"
	check_eq "  again: EEXIST" EEXIST "$(op mkdir "$F/d")"
	check_eq "  in a missing directory: ENOENT" ENOENT "$(op mkdir "$F/nope/d")"
	check_eq "  under a file: ENOTDIR" ENOTDIR "$(op mkdir "$F/a.txt/d")"
	echo in >"$F/d/in.txt"
	check_eq "rmdir of a non-empty directory: ENOTEMPTY" ENOTEMPTY "$(op rmdir "$F/d")"
	check_eq "rmdir of a file: ENOTDIR" ENOTDIR "$(op rmdir "$F/a.txt")"
	check_eq "rmdir of nothing: ENOENT" ENOENT "$(op rmdir "$F/nope")"
	check_eq "unlink of a directory: EISDIR" EISDIR "$(op unlink "$F/d")"
	check_eq "unlink of nothing: ENOENT" ENOENT "$(op unlink "$F/nope")"
	check_eq "open of nothing: ENOENT" ENOENT "$(op open "$F/nope")"
	check_eq "ls lists a directory" "in.txt" "$(op list "$F/d")"
	check_eq "a FIFO cannot be made here: EPERM" EPERM "$(op mknod_fifo "$F/fifo")"

	# renames
	check_eq "rename a file" ok "$(op rename "$F/a.txt" "$F/b.txt")"
	check "  the old name is gone" test ! -e "$F/a.txt"
	check_eq "  the new one has its bytes" abc "$(cat "$F/b.txt")"
	echo other >"$F/c.txt"
	check_eq "rename over a file replaces it" ok "$(op rename "$F/c.txt" "$F/b.txt")"
	check_eq "  with the new bytes" other "$(cat "$F/b.txt")"
	check_eq "rename a file over a directory: EISDIR" EISDIR "$(op rename "$F/b.txt" "$F/d")"
	check_eq "rename a directory over a file: ENOTDIR" ENOTDIR "$(op rename "$F/d" "$F/b.txt")"
	op mkdir "$F/e" >/dev/null
	echo x >"$F/e/x"
	check_eq "rename a directory over a non-empty one: ENOTEMPTY" ENOTEMPTY "$(op rename "$F/d" "$F/e")"
	check_eq "rename a directory into itself: EINVAL" EINVAL "$(op rename "$F/d" "$F/d/sub")"
	check_eq "rename of nothing: ENOENT" ENOENT "$(op rename "$F/nope" "$F/nope2")"
	check_eq "rename a directory" ok "$(op rename "$F/d" "$F/d2")"
	check_eq "  its files moved with it" in "$(cat "$F/d2/in.txt")"
	check_eq "rename into another session's files/: EXDEV" EXDEV "$(op rename "$F/b.txt" "$O/files/b.txt")"
	check_eq "rename out of files/: EXDEV or EPERM, never done" 1 \
		"$(case $(op rename "$F/b.txt" "$S/procs/b.txt") in EXDEV|EPERM) echo 1 ;; *) echo 0 ;; esac)"
	echo 0123456789 >"$F/open.txt"
	check_eq "an open file follows a rename" X123456789 "$(op renamed_fd "$F/open.txt" "$F/moved.txt" | head -c 10)"
	check_eq "  (written through the old descriptor)" X123456789 "$(cat "$F/moved.txt")"
	(cd "$F/d2" && mv "$F/d2" "$F/d3" && cat in.txt) >"$TMP/cwd.out" 2>&1
	check_eq "a working directory follows a rename" in "$(cat "$TMP/cwd.out")"

	# links
	check_eq "symlink" ok "$(op symlink "$F/l" "b.txt")"
	check_eq "  readlink gives its target" b.txt "$(readlink "$F/l")"
	check_eq "  reading through it" other "$(cat "$F/l")"
	check_eq "  stat shows a link" "symbolic link" "$(stat -c %F "$F/l")"

	# where the files live: a program's cwd is files/
	start_line "$S" "start tw cwd=/ -- sh -c 'echo made > made.txt; rm -f b.txt'" >/dev/null
	timeout 30 cat "$S/procs/tw/exit" >/dev/null
	check_eq "a program in cwd=/ works in files/ (its file appears)" made "$(cat "$F/made.txt" 2>&1)"
	check "  and what it removes is gone within a second (attributes cached 1 s)" \
		until_true 3 test ! -e "$F/b.txt"

	# never walked by ls -lR, find, grep -r
	echo NEEDLE-IN-FILES >"$F/needle.txt"
	local m=${S%/*}
	check "ls -lR MOUNT never enters files/" bash -c "! timeout 60 ls -lR '$m' 2>/dev/null | grep -q needle.txt"
	check "find MOUNT never enters files/" bash -c "[ -z \"\$(timeout 60 find '$m' -name needle.txt 2>/dev/null)\" ]"
	check "grep -r MOUNT never enters files/" bash -c "! timeout 60 grep -r NEEDLE-IN-FILES '$m' 2>/dev/null | grep -q ."
	check "  (grep on the file itself finds it)" grep -q NEEDLE-IN-FILES "$F/needle.txt"
	rm -rf "$F/d3" "$F/e" "$F/l" "$F/made.txt" "$F/moved.txt" "$F/needle.txt" "$F/wd"
}

# files_bigcopy SESSDIR MB: cp of an MB random file in and out keeps its sha256; prints rates
files_bigcopy() {
	local F=$1/files mb=$2 t0 t1 t2 sum
	head -c $((mb * 1048576)) /dev/urandom >"$TMP/big.in"
	sum=$(sha256sum <"$TMP/big.in" | cut -d' ' -f1)
	t0=$(ms_now)
	check "cp of a ${mb} MB random file in" timeout 300 cp "$TMP/big.in" "$F/big.bin"
	t1=$(ms_now)
	check "  and out" timeout 300 cp "$F/big.bin" "$TMP/big.out"
	t2=$(ms_now)
	check_eq "  keeps its sha256" "$sum" "$(sha256sum <"$TMP/big.out" | cut -d' ' -f1)"
	check_eq "  and its size in files/" $((mb * 1048576)) "$(stat -c %s "$F/big.bin")"
	echo "# cp ${mb} MB in: $((t1 - t0)) ms ($((mb * 1000 / (t1 - t0 + 1))) MB/s), out: $((t2 - t1)) ms ($((mb * 1000 / (t2 - t1 + 1))) MB/s)"
	rm -f "$TMP/big.in" "$TMP/big.out" "$F/big.bin"
}
