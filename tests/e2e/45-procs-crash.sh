#!/usr/bin/env bash
# Programs belong to the agent, like the desktop: kill -9 the daemon while
# programs run, start it again (in the foreground, then daemonized), and
# procs/TAG/{status,stdout,stderr,exit} are all there, output written while
# the daemon was down included, a program that ended meanwhile has its
# exit, and signal still works. The home (files/) is where it was.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb

mount_deskfs -o width=320,height=200
S=$MNT/s1
mkdir "$S"
start_line "$S" "start run -- sh -c 'i=0; while :; do i=\$((i+1)); echo tick\$i; echo err\$i >&2; sleep 0.2; done'" >/dev/null
start_line "$S" "start soon -- sh -c 'sleep 1; exit 7'" >/dev/null
echo kept >"$S/files/kept.txt"
until_true 10 grep -q tick3 "$S/procs/run/stdout"
RUNPID=$(python3 -c "import json;print(json.load(open('$S/procs/run/status'))['pid'])")
HOME_DIR=$(jfield "$S/session.json" home)

crash_deskfs
check "the program keeps running while the daemon is down" kill -0 "$RUNPID"
sleep 1.5 # 'soon' ends while nobody watches
fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
mount_deskfs -o width=320,height=200

check_eq "the session is back" ready "$(timeout 30 cat "$S/screenshot.png" >/dev/null; cat "$S/status")"
check_eq "procs/ lists its programs again" "ctl run soon" "$(op list "$S/procs")"
check_eq "status: still running, same pid" "running $RUNPID" \
	"$(python3 -c "import json;j=json.load(open('$S/procs/run/status'));print(j['state'],j['pid'])")"
check "stdout has what it wrote while the daemon was down" until_true 5 grep -q tick15 "$S/procs/run/stdout"
check "stderr too" grep -q err10 "$S/procs/run/stderr"
check_eq "a program that ended meanwhile has its exit" 7 "$(timeout 10 cat "$S/procs/soon/exit")"
check_eq "files/ is where it was" kept "$(cat "$S/files/kept.txt")"
check_eq "  the same home" "$HOME_DIR" "$(jfield "$S/session.json" home)"
check_eq "signal works after re-attach" ok "$(op write "$S/procs/run/ctl" "signal TERM")"
check_eq "  its exit" "signal 15" "$(timeout 30 cat "$S/procs/run/exit")"

# once more, daemonized (as users run it), with a program parked on exit
start_line "$S" "start again -- sleep 1000" >/dev/null
timeout 60 cat "$S/procs/again/exit" >"$TMP/again.exit" 2>/dev/null &
T_PIDS="$T_PIDS $!"
crash_deskfs
fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
mount_deskfs_daemon -o width=320,height=200
check_eq "daemonized: the program is there" running \
	"$(timeout 30 python3 -c "import json;print(json.load(open('$S/procs/again/status'))['state'])")"
op write "$S/procs/again/ctl" "signal KILL" >/dev/null
check_eq "  and signal works" "signal 9" "$(timeout 30 cat "$S/procs/again/exit")"
finish
