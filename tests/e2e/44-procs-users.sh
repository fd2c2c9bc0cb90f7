#!/usr/bin/env bash
# Who runs programs and owns files, on an allow_other mount: another uid
# gets EACCES on procs/ and files/ of a session not its own; a session made
# by an unprivileged uid runs its programs as that uid (id -u), in a home
# of its own (0700), and serves files/ with its credentials; a symbolic
# link out of the home gives nothing the uid could not read without deskfs;
# homes live in a base only the daemon writes, and go with their session.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb
need_cmd setpriv "apt-get install util-linux"
need_cmd curl
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount with allow_other and switch uids"

chmod 0755 "$TMP" # the mountpoint must be reachable by the other uid
as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
op_other() { as_other /usr/bin/python3 "$P_PY" "$@"; }

mount_deskfs -o allow_other,width=320,height=200
mkdir "$MNT/mine"
check "another uid makes its own session" as_other mkdir "$MNT/theirs"
M=$MNT/mine T=$MNT/theirs
cat "$M/screenshot.png" >/dev/null
as_other cat "$T/screenshot.png" >/dev/null

# the other uid's session: its programs are its own
check_eq "an unprivileged uid's program runs as that uid (id -u)" 65534 \
	"$(as_other bash -c "echo 'start t -- id -u' > '$T/procs/ctl' && cat '$T/procs/t/exit' >/dev/null && cat '$T/procs/t/stdout'")"
check_eq "  with its group" 65534 \
	"$(as_other bash -c "echo 'start g -- id -g' > '$T/procs/ctl' && cat '$T/procs/g/exit' >/dev/null && cat '$T/procs/g/stdout'")"
H=$(jfield "$T/session.json" home)
check_eq "its home is the uid's own, 0700" "65534 700" "$(stat -c '%u %a' "$H")"
check_eq "  in a base only the daemon writes (root, 0711)" "0 711" "$(stat -c '%u %a' "$(dirname "$H")")"
check_eq "its files/ is that home, the uid's" "65534 700" "$(as_other stat -c '%u %a' "$T/files")"
check_eq "the uid writes there" ok "$(op_other put "$T/files/own.txt" mine)"
check_eq "  and the file is the uid's" 65534 "$(stat -c %u "$H/own.txt")"

# nobody else's
for p in procs procs/ctl procs/t/stdout procs/t/status procs/t/exit files files/own.txt; do
	case $p in procs | files) mode=list ;; *) mode=read ;; esac
	check_eq "root's session: another uid gets EACCES on $p" EACCES "$(op_other $mode "$M/$p")"
done
check_eq "  nor can it start a program there" EACCES "$(op_other write "$M/procs/ctl" "start x -- true")"
check_eq "  nor write its files" EACCES "$(op_other put "$M/files/x" x)"
check_eq "(root may use its own: start)" ok "$(op write "$M/procs/ctl" "start r -- id -u")"
check_eq "(and root's program runs as root)" 0 "$(cat "$M/procs/r/exit" >/dev/null; cat "$M/procs/r/stdout")"

# a symbolic link out of the home lends nothing
check_eq "a link to /etc/shadow (made through files/)" ok "$(op_other symlink "$T/files/shadow" /etc/shadow)"
check_eq "  read through it: EACCES (the uid's own rights)" EACCES "$(op_other read "$T/files/shadow")"
as_other bash -c "echo 'start l -- ln -s ../../../../../../../etc/shadow esc' > '$T/procs/ctl' && cat '$T/procs/l/exit'" >/dev/null
check_eq "a relative link made by a program: EACCES too" EACCES "$(op_other read "$T/files/esc")"
check_eq "a program cannot read it either" 1 \
	"$(as_other bash -c "echo 'start c -- cat esc' > '$T/procs/ctl' && cat '$T/procs/c/exit'")"
# the agent itself never follows a link out of the home (RESOLVE_BENEATH)
SOCK=$(python3 -c "import json;print(json.load(open('$T/session.json'))['agent']['endpoint'][5:])")
TOK=$(cat "$STATE/theirs/token")
out=$(curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $TOK" -D - \
	"http://x/v1/files/read?path=/esc&offset=0&len=100")
check "the agent refuses a path through a link out of the home (EXDEV/ELOOP)" \
	grep -qiE '^X-Deskfs-Errno: (18|40)' <<<"$(tr -d '\r' <<<"$out")"
check "  and sends no byte of the target" bash -c "! grep -q 'root:' <<<'$out'"

# homes go with their sessions
check "the other uid removes its session" as_other rmdir "$T"
check "  and its home is gone" test ! -e "$H"
finish
