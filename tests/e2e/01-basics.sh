#!/usr/bin/env bash
# The tree and the session lifecycle through a real mount: mkdir, ls,
# rmdir, names, EEXIST races, EPERM, the control plane, the daemon's CLI.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb

check "--version prints the version" bash -c "'$BIN/deskfs' --version | grep -q '^deskfs [0-9]'"
check "--help documents provider=" bash -c "'$BIN/deskfs' --help | grep -q -- '-o provider=S'"
check "no mountpoint is a usage error" bash -c "! '$BIN/deskfs' 2>/dev/null"
check "a bad -o value is refused" bash -c "! '$BIN/deskfs' -o width=12 $TMP 2>/dev/null"

mount_deskfs -o width=640,height=480
check_eq "empty mount lists nothing" "" "$(ls "$MNT")"
check ".ctl names the version" grep -q '^deskfs ' "$MNT/.ctl"
check ".providers.json says xvfb is available" python3 -c "
import json,sys; j=json.load(open('$MNT/.providers.json'))
p={x['name']:x for x in j['providers']}; sys.exit(0 if p['xvfb']['available'] and 'why' in p['display'] else 1)"

# mkdir returns at once; the first capture waits for readiness
check "mkdir creates a session" mkdir "$MNT/s1"
check_eq "ls lists it" "s1" "$(ls "$MNT")"
check "screenshot right after mkdir works" bash -c "cat '$MNT/s1/screenshot.png' > $TMP/a.png && test -s $TMP/a.png"
check_eq "status is ready" "ready" "$(cat "$MNT/s1/status")"
check_eq "session.json is complete" "s1 xvfb 640 480 ready runtime_ready" "$(python3 -c "
import json; j=json.load(open('$MNT/s1/session.json'))
assert len(j['id'])==36 and j['display'].startswith(':') and j['created_at'] and 'capabilities' in j
print(j['name'], j['provider'], j['width'], j['height'], j['status'], j['readiness'])")"
check_eq "error is empty when all is well" "" "$(cat "$MNT/s1/error")"
check_eq "session lists its files (files/ is reachable, not listed)" "actions artifacts checkpoints ctl error events observation.json procs screenshot.png session.json status xauthority" "$(ls "$MNT/s1" | tr '\n' ' ' | sed 's/ $//')"
check "artifacts holds the Xvfb and agent logs" bash -c "ls '$MNT/s1/artifacts' | grep -q xvfb.log && ls '$MNT/s1/artifacts' | grep -q agent.log"

# names and refusals
check "second mkdir of a name fails with EEXIST" bash -c "mkdir '$MNT/s1' 2>&1 | grep -q 'File exists'"
for bad in ".hidden" "-x" "a b" "$(printf 'x%.0s' $(seq 1 65))" "a/b"; do
	check "mkdir '$bad' is refused" bash -c "! mkdir '$MNT/$bad' 2>/dev/null"
done
check "mkdir of a bad name gives EINVAL" bash -c "mkdir '$MNT/a:b' 2>&1 | grep -q 'Invalid argument'"
check "a 64-character name is fine" mkdir "$MNT/$(printf 'n%.0s' $(seq 1 64))"
rmdir "$MNT/$(printf 'n%.0s' $(seq 1 64))"
check "files in a session cannot be unlinked (EPERM)" bash -c "rm -f '$MNT/s1/status' 2>&1 | grep -q 'not permitted'"
check "no new files can be created" bash -c "! touch '$MNT/s1/new' 2>/dev/null && ! touch '$MNT/new' 2>/dev/null"
check "screenshot.png cannot be opened for writing" bash -c "! echo x > '$MNT/s1/screenshot.png' 2>/dev/null"
check "rmdir of a missing session is ENOENT" bash -c "rmdir '$MNT/nope' 2>&1 | grep -q 'No such file'"

# racing mkdir: exactly one winner
pids=""
for i in $(seq 1 8); do (mkdir "$MNT/race" 2>/dev/null && echo won >>"$TMP/race") & pids="$pids $!"; done
wait $pids
check_eq "8 racing mkdirs have exactly one winner" "1" "$(wc -l <"$TMP/race")"

# .ctl create with settings, destroy
check ".ctl create with settings" bash -c "echo 'create c1 width=800 height=600' > '$MNT/.ctl'"
check_eq "the setting is honoured" "800x600" "$(python3 -c "
import json; j=json.load(open('$MNT/c1/session.json')); print('%dx%d'%(j['width'],j['height']))")"
check ".ctl rejects an unknown setting with EINVAL" bash -c "{ echo 'create c2 colour=red' > '$MNT/.ctl'; } 2>&1 | grep -q 'Invalid argument'"
check "and creates nothing" test ! -e "$MNT/c2"
check ".ctl rejects a bad provider" bash -c "! echo 'create c3 provider=nope' > '$MNT/.ctl' 2>/dev/null"
check ".ctl rejects junk" bash -c "! echo 'hello' > '$MNT/.ctl' 2>/dev/null"
check ".ctl destroy removes a session" bash -c "echo 'destroy c1' > '$MNT/.ctl' && test ! -e '$MNT/c1'"

# rmdir: the session's processes are gone
XPID=$(python3 -c "import json; print(json.load(open('$MNT/s1/session.json'))['pids']['xvfb'])")
APID=$(python3 -c "import json; print(json.load(open('$MNT/s1/session.json'))['pids']['agent'])")
check "rmdir destroys the session" rmdir "$MNT/s1"
check "its Xvfb is gone" bash -c "! kill -0 $XPID 2>/dev/null"
check "its agent is gone" bash -c "! kill -0 $APID 2>/dev/null"
check "its state directory is gone" test ! -e "$STATE/s1"
rmdir "$MNT/race"
check_eq "the mount is empty again" "" "$(ls "$MNT")"
finish
