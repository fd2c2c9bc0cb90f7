#!/usr/bin/env bash
# Programs in an xvfb session (procs/): run and wait, stdout and stderr
# apart, exit codes and signals, ENOENT/EINVAL/EEXIST with words in error,
# stdin and eof, a pty (tty, stty size, resize), tail -f while it runs,
# 100 MB of output with the daemon's memory bounded (tests/procs.sh's
# procs_suite, which 46-procs-qemu runs in a VM too); and what is local:
# programs run as the session's owner in its home (HOME, cwd, files/), with
# its DISPLAY and XAUTHORITY, in a process group of their own, and end with
# the session. session.json says what the session can do.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb
need_cmd xwininfo "apt-get install x11-utils"

mount_deskfs -o width=320,height=200
S=$MNT/s1
mkdir "$S"
check "procs/ is listed in the session" bash -c "ls '$S' | grep -qx procs"
check_eq "procs/ is the owner's alone (0700)" 700 "$(stat -c %a "$S/procs")"

procs_suite "$S"

# local: the owner's home
HOME_DIR=$(jfield "$S/session.json" home)
check "session.json names the home" test -n "$HOME_DIR"
check_eq "the home is a directory of the owner's, 0700" "0 700 directory" "$(stat -c '%u %a %F' "$HOME_DIR")"
check_eq "programs' HOME is the home, and their working directory" "$HOME_DIR $HOME_DIR" \
	"$(run_wait "$S" th sh -c 'echo $HOME $(pwd)' >/dev/null; cat "$S/procs/th/stdout")"
run_wait "$S" tn sh -c 'echo from-a-program > note.txt' >/dev/null
check_eq "files/ is the home: a program's file is there" from-a-program "$(cat "$S/files/note.txt")"
check_eq "  and in the home itself" from-a-program "$(cat "$HOME_DIR/note.txt")"
check_eq "programs run as the session's owner (root here)" 0 \
	"$(run_wait "$S" tu sh -c 'id -u' >/dev/null; cat "$S/procs/tu/stdout")"
run_wait "$S" tx sh -c 'echo $DISPLAY; xwininfo -root | grep -c Width' >/dev/null
check_eq "programs get the session's DISPLAY" "$(jfield "$S/session.json" display)" "$(head -n1 "$S/procs/tx/stdout")"
check_eq "  and its X cookie (an X client connects)" 1 "$(tail -n1 "$S/procs/tx/stdout")"
check "  the cookie is HOME/.Xauthority" test -s "$HOME_DIR/.Xauthority"
start_line "$S" "start tg -- sleep 1000" >/dev/null
PG=$(python3 -c "import json;print(json.load(open('$S/procs/tg/status'))['pid'])")
check "a program is in a process group of its own" bash -c "[ \"\$(ps -o pgid= -p $PG | tr -d ' ')\" = $PG ]"
check_eq "session.json's capabilities say procs, files and pty (and firkin's names)" \
	"True True True True True" "$(python3 -c "
import json; c=json.load(open('$S/session.json'))['capabilities']
print('procs' in c, 'files' in c, 'pty' in c, 'run_process' in c, 'read_file' in c)")"

# programs end with their session, and so does its home
check "rmdir of the session" rmdir "$S"
check "its programs are gone" until_true 5 bash -c "! kill -0 $PG 2>/dev/null"
check "its home is gone" test ! -e "$HOME_DIR"
finish
