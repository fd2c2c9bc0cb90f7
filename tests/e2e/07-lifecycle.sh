#!/usr/bin/env bash
# Nothing is left running: unmount and SIGTERM destroy every session and
# exit 0; the display provider never kills its display; a dead part fails
# its session within a second and names it; ctl stop/start/restart/resize.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb

pids_of() { python3 -c "import json; p=json.load(open('$1/session.json'))['pids']; print(' '.join(str(v) for v in p.values()))"; }

# unmount destroys everything
mount_deskfs -o width=320,height=240
mkdir "$MNT/a" "$MNT/b"
cat "$MNT/a/status" "$MNT/b/status" >/dev/null
echo "wait 1" >"$MNT/a/actions"; echo "wait 1" >"$MNT/b/actions"
P=$(pids_of "$MNT/a") Q=$(pids_of "$MNT/b")
check "two sessions run 4 processes" test "$(echo $P $Q | wc -w)" -eq 4
unmount_deskfs
check_eq "fusermount3 -u: the daemon exits 0" "0" "$DMN_STATUS"
check "and no Xvfb or agent of it is left" all_dead $P $Q
check "and the mount is gone" bash -c "! grep -q ' $MNT fuse' /proc/mounts"

# SIGTERM destroys everything
mount_deskfs -o width=320,height=240
mkdir "$MNT/a"
echo "wait 1" >"$MNT/a/actions"
P=$(pids_of "$MNT/a")
kill -TERM "$DPID"
for i in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
wait "$DPID"
check_eq "SIGTERM: the daemon exits 0" "0" "$?"
DPID=""
check "and leaves no process" all_dead $P
check "and no mount" bash -c "! grep -q ' $MNT fuse' /proc/mounts"

# the display provider attaches to a display it never kills
start_xvfb 400x300
mount_deskfs -o provider=display,display=$XDPY
check ".providers.json: display is available, on $XDPY" python3 -c "
import json,sys; p={x['name']:x for x in json.load(open('$MNT/.providers.json'))['providers']}
sys.exit(0 if p['display']['available'] and '$XDPY' in p['display']['why'] else 1)"
mkdir "$MNT/d"
check "a display session captures that display" bash -c "cat '$MNT/d/screenshot.png' > $TMP/d.png && [ \"\$('$TOOLS/pngtool' size $TMP/d.png)\" = '400 300' ]"
check_eq "session.json names the display" "$XDPY display" "$(python3 -c "import json; j=json.load(open('$MNT/d/session.json')); print(j['display'], j['provider'])")"
A=$(pids_of "$MNT/d")
rmdir "$MNT/d"
check "rmdir ends its agent" all_dead $A
check "but never the display" kill -0 "$XVFB_PID"
mkdir "$MNT/d2"
cat "$MNT/d2/status" >/dev/null
echo "wait 1" >"$MNT/d2/actions"
unmount_deskfs
check "unmount leaves the display running too" kill -0 "$XVFB_PID"

# faults: a dead part fails its session, names it, leaves others alone
mount_deskfs -o width=320,height=240
mkdir "$MNT/f" "$MNT/g"
echo "wait 1" >"$MNT/f/actions"; echo "wait 1" >"$MNT/g/actions"
AG=$(python3 -c "import json; print(json.load(open('$MNT/f/session.json'))['pids']['agent'])")
XV=$(python3 -c "import json; print(json.load(open('$MNT/f/session.json'))['pids']['xvfb'])")
t0=$(date +%s%N)
kill -9 "$AG"
wait_for failed cat "$MNT/f/status"
t1=$(date +%s%N)
check "killing the agent fails the session within 1 s" test $(((t1 - t0) / 1000000)) -lt 1000
check "error names the agent" python3 -c "import json,sys; e=json.load(open('$MNT/f/error')); sys.exit(0 if e['code']=='agent_died' and 'signal 9' in e['message'] else 1)"
check "the failed session's Xvfb is stopped too" bash -c "sleep 0.3; ! kill -0 $XV 2>/dev/null"
check "a read on a failed session fails with EIO" bash -c "! cat '$MNT/f/screenshot.png' >/dev/null 2>&1"
check_eq "the other session keeps working" "ready" "$(echo 'click 1 1' >"$MNT/g/actions" && cat "$MNT/g/status")"
check "ctl restart brings the failed session back" bash -c "echo restart > '$MNT/f/ctl' && [ \"\$(cat '$MNT/f/status')\" = ready ] && cat '$MNT/f/screenshot.png' >/dev/null"
XV=$(python3 -c "import json; print(json.load(open('$MNT/g/session.json'))['pids']['xvfb'])")
kill -9 "$XV"
wait_for failed cat "$MNT/g/status"
check "killing Xvfb fails the session and names it" python3 -c "import json,sys; e=json.load(open('$MNT/g/error')); sys.exit(0 if e['code']=='xvfb_died' else 1)"

# ctl: stop, start, resize, bad commands
check "ctl stop" bash -c "echo stop > '$MNT/f/ctl' && [ \"\$(cat '$MNT/f/status')\" = stopped ]"
check "a stopped session refuses actions with EAGAIN" bash -c "{ echo 'click 1 1' > '$MNT/f/actions'; } 2>&1 | grep -q 'Resource temporarily unavailable'"
check "and says so in error" grep -q session_stopped "$MNT/f/error"
check "ctl start" bash -c "echo start > '$MNT/f/ctl' && [ \"\$(cat '$MNT/f/status')\" = ready ]"
check "ctl resize 640x360" bash -c "echo 'resize 640x360' > '$MNT/f/ctl' && cat '$MNT/f/screenshot.png' > $TMP/r.png && [ \"\$('$TOOLS/pngtool' size $TMP/r.png)\" = '640 360' ]"
check "a bad ctl command gives EINVAL" bash -c "{ echo 'fly away' > '$MNT/f/ctl'; } 2>&1 | grep -q 'Invalid argument'"
check "and error says what is accepted" grep -q "resize WxH" "$MNT/f/error"
check_eq "the session is untouched by it" "ready" "$(cat "$MNT/f/status")"
finish
