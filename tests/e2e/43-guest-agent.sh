#!/usr/bin/env bash
# The VM guest's agent serves procs and files (issue 9): one qemu session,
# then its agent asked directly (the forwarded port in session.json, the
# session's token): busybox programs (sh, cat, sleep, tty, stty, sha256sum)
# with pipes and a pty, programs start in /root as root, files/ is the
# guest's whole tree (absolute symlinks resolve from its /), and a 64 MiB
# file crosses both ways with its sha256 (throughput printed as "# ...").
. "$(dirname "$0")/../lib.sh"
need_fuse
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
need_cmd curl
GUEST=$TOP/build/guest
[ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio" ] ||
	skip_all "no VM guest in build/guest (make guest runs contrib/build-guest.sh)"

wait_until() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
jf() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)" 2>/dev/null; }
status_is() { [ "$(cat "$MNT/$1/status" 2>/dev/null)" = "$2" ]; }

# 512 MB: a 64 MiB file lives in the guest's RAM beside its agent (an ASan
# build of it, with make SANITIZE=1 check, was killed by the guest's OOM at 256)
mount_deskfs -o provider=qemu,width=800,height=600,memory=512
mkdir "$MNT/vm"
check "the VM session becomes ready" wait_until 120 status_is vm ready
URL=$(jf 'j.get("agent_endpoint") or j.get("agent",{}).get("endpoint","")' <"$MNT/vm/session.json")
TOK=$(cat "$STATE/vm/token" 2>/dev/null)
check "session.json names the agent's endpoint, and the token is there" test -n "$URL" -a -n "$TOK"
c() { curl -s --max-time 60 -H "Authorization: Bearer $TOK" "$@"; }
code() { c -o /dev/null -w '%{http_code}' "$@"; }
start() { c -o "$TMP/start.out" -w '%{http_code}' -d "{\"tag\":\"$1\",$2}" "$URL/v1/procs"; }
ex() { c "$URL/v1/procs/$1/exit?wait_ms=${2:-30000}"; }
out() { c "$URL/v1/procs/$1/${2:-stdout}"; }

check "the guest's health lists procs and files" bash -c "curl -s -H 'Authorization: Bearer $TOK' '$URL/v1/health' | grep -q '\"procs\",\"files\"'"
check_eq "a program: stdout, stderr and the exit code" "201 3 out err" \
	"$(start t1 '"argv":["sh","-c","echo out; echo err >&2; exit 3"]') $(ex t1) $(out t1) $(out t1 stderr)"
check_eq "as root, in /root, with HOME=/root" "0 /root /root" \
	"$(start t2 '"argv":["sh","-c","echo $(id -u) $(pwd) $HOME"]' >/dev/null; ex t2 >/dev/null; out t2)"
start cat '"argv":["cat"]' >/dev/null
c --data-binary $'in the guest\n' "$URL/v1/procs/cat/stdin" >/dev/null
c -d eof "$URL/v1/procs/cat/ctl" >/dev/null
check_eq "stdin and eof: cat echoes, ends 0" "0 in the guest" "$(ex cat) $(out cat)"
check_eq "signal KILL of sleep: signal 9" "signal 9" \
	"$(start sl '"argv":["sleep","100"]' >/dev/null; c -d 'signal KILL' "$URL/v1/procs/sl/ctl" >/dev/null; ex sl)"
check_eq "a pty: tty and stty size" "/dev/pts/0 24 80" \
	"$(start ty '"argv":["sh","-c","tty; stty size"],"pty":"24x80"' >/dev/null; ex ty >/dev/null; out ty | tr -d '\r' | tr '\n' ' ' | sed 's/ $//')"
# (not an interactive shell: busybox ash's line editor asks the terminal where
# its cursor is, and eats what was typed ahead while it waits for the answer)
start ty2 '"argv":["sh","-c","read a; stty size"],"pty":"24x80"' >/dev/null
c -d 'resize 30x100' "$URL/v1/procs/ty2/ctl" >/dev/null
c --data-binary $'\n' "$URL/v1/procs/ty2/stdin" >/dev/null
check_eq "  after resize: 30 100" "0 30 100" "$(ex ty2) $(out ty2 | tr -d '\r' | tail -n1)"
check_eq "no such program: 404" 404 "$(start x '"argv":["no-such"]')"
check_eq "the guest's eth0 has the large MTU" 65520 \
	"$(start mtu '"argv":["cat","/sys/class/net/eth0/mtu"]' >/dev/null; ex mtu >/dev/null; out mtu)"

# files: the guest's /
check_eq "files: / is the guest's root (it has /init)" "file" "$(c "$URL/v1/files/stat?path=/init" | jf 'j["type"]')"
check_eq "  and /bin is its relative symlink, followed" "dir" \
	"$(c "$URL/v1/files/list?path=/bin/" | jf '"dir" if any(e["name"] == "busybox" for e in j["entries"]) else "no"')"
check_eq "  an absolute symlink resolves from the guest's /" "root:x:0:0:root:/root:/bin/sh" \
	"$(c -d '{"op":"symlink","path":"/tmp/pw","target":"/etc/passwd"}' "$URL/v1/files/op" >/dev/null; c "$URL/v1/files/read?path=/tmp/pw&offset=0&len=100" | head -n1)"
head -c 67108864 /dev/urandom >"$TMP/r.bin"
c -d '{"op":"create","path":"/tmp/r.bin","mode":420}' "$URL/v1/files/op" >/dev/null
t0=$(date +%s%N)
check_eq "64 MiB into the guest" '{"written":67108864}' "$(c -T "$TMP/r.bin" "$URL/v1/files/write?path=/tmp/r.bin&offset=0")"
t1=$(date +%s%N)
check_eq "  sha256sum inside the guest agrees" "$(sha256sum <"$TMP/r.bin" | cut -c1-64)" \
	"$(start sum '"argv":["sha256sum","/tmp/r.bin"]' >/dev/null; ex sum 120000 >/dev/null; out sum | cut -c1-64)"
t2=$(date +%s%N)
: >"$TMP/r.back"
for off in $(seq 0 4194304 67108863); do
	c "$URL/v1/files/read?path=/tmp/r.bin&offset=$off&len=4194304" >>"$TMP/r.back"
done
t3=$(date +%s%N)
check_eq "  and out again, in 4 MiB reads" "$(sha256sum <"$TMP/r.bin" | cut -c1-64)" "$(sha256sum <"$TMP/r.back" | cut -c1-64)"
echo "# guest ($(jf 'j["vm"]["accel"]' <"$MNT/vm/session.json")): 64 MiB in $(((t1 - t0) / 1000000)) ms ($((64000 / ((t1 - t0) / 1000000 + 1))) MB/s), out $(((t3 - t2) / 1000000)) ms ($((64000 / ((t3 - t2) / 1000000 + 1))) MB/s)"
c -d '{"op":"unlink","path":"/tmp/r.bin"}' "$URL/v1/files/op" >/dev/null
rmdir "$MNT/vm"
finish
