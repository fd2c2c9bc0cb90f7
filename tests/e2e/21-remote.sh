#!/usr/bin/env bash
# provider=remote: a session on a deskfs-agent that already runs (here on a
# private Xvfb, listening on 127.0.0.1 TCP), through the same client as a
# VM's agent. deskfs neither starts nor stops it; the token comes from
# token_file; a wrong token or a vanished agent fails the session, saying why.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd xsetroot "apt-get install x11-xserver-utils"

jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
status_is() { [ "$(cat "$MNT/$1/status" 2>/dev/null)" = "$2" ]; }

start_xvfb 640x480
DISPLAY=$XDPY xsetroot -solid '#336699'
umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/tok"
echo wrong-token >"$TMP/badtok"
umask 022
"$BIN/deskfs-agent" --display "$XDPY" --listen tcp:127.0.0.1:0 --token-file "$TMP/tok" \
	--ready-fd 3 3>"$TMP/ready" 2>"$TMP/agent.log" &
APID=$!
T_PIDS="$T_PIDS $APID"
wait_long 10 grep -q '^ready [0-9]' "$TMP/ready"
PORT=$(awk '{print $2}' "$TMP/ready")
check "the agent listens on a TCP port" test "${PORT:-0}" -gt 0
URL=http://127.0.0.1:$PORT

mount_deskfs
check ".providers.json lists remote as available" python3 -c "
import json,sys; p={x['name']:x for x in json.load(open('$MNT/.providers.json'))['providers']}
sys.exit(0 if p['remote']['available'] else 1)"
check ".ctl create with provider=remote" bash -c "echo 'create r1 provider=remote url=$URL token_file=$TMP/tok' >'$MNT/.ctl'"
check "the session becomes ready" wait_long 15 status_is r1 ready
check_eq "session.json: remote, runtime_ready, its endpoint" "remote runtime_ready $URL" \
	"$(jget "$MNT/r1/session.json" "j['provider'],j['readiness'],j['agent']['endpoint']" | tr -d "(),'")"
check "the token is not in session.json" bash -c "! grep -q \"\$(cat '$TMP/tok')\" '$MNT/r1/session.json'"
check "screenshot.png is the remote desktop, pixel for pixel" bash -c \
	"cat '$MNT/r1/screenshot.png' >'$TMP/r1.png' && '$TOOLS/pngtool' match '$TMP/r1.png' '$XDPY'"
check "actions work" bash -c "echo 'move 200 100' >'$MNT/r1/actions'"
check_eq "observation.json shows it" "200 100" \
	"$(jget "$MNT/r1/observation.json" "j['cursor']['x'],j['cursor']['y']" | tr -d '(),')"

# refusals, in words
echo "create r2 provider=remote url=$URL token_file=$TMP/badtok" >"$MNT/.ctl"
check "a wrong token: the session fails" wait_long 15 status_is r2 failed
check "and error says the agent refused it" grep -qiE 'token|unauthor|refus|401' "$MNT/r2/error"
echo "create r3 provider=remote url=$URL token_file=$TMP/nope" >"$MNT/.ctl"
check "a missing token_file: failed" wait_long 10 status_is r3 failed
check_eq "  with bad_token" "bad_token" "$(jget "$MNT/r3/error" "j['code']")"
echo "create r4 provider=remote" >"$MNT/.ctl"
check "no url: failed, saying what is needed" wait_long 10 bash -c "grep -q 'url=' '$MNT/r4/error'"
check "url= must be http://" bash -c "! echo 'create r5 provider=remote url=ftp://x token_file=$TMP/tok' >'$MNT/.ctl' 2>/dev/null"
rmdir "$MNT/r2" "$MNT/r3" "$MNT/r4"

# deskfs does not own the agent
check "rmdir lets go of the session" rmdir "$MNT/r1"
check "but the agent keeps running" kill -0 "$APID"
echo "create r6 provider=remote url=$URL token_file=$TMP/tok" >"$MNT/.ctl"
wait_long 15 status_is r6 ready

# the daemon crashes: the same command re-attaches the remote session
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
fusermount3 -u "$MNT"
mount_deskfs
check "after kill -9 of the daemon, the remote session comes back ready" wait_long 15 status_is r6 ready
check "and drives the same agent" bash -c "echo 'move 7 8' >'$MNT/r6/actions' && [ \"\$(cat '$MNT/r6/observation.json' | python3 -c 'import json,sys; c=json.load(sys.stdin)[\"cursor\"]; print(c[\"x\"], c[\"y\"])')\" = '7 8' ]"
kill "$APID"
wait "$APID" 2>/dev/null
check "an agent that goes away: the session fails" wait_long 15 status_is r6 failed
check_eq "  with remote_unreachable" "remote_unreachable" "$(jget "$MNT/r6/error" "j['code']")"
rmdir "$MNT/r6"
finish
