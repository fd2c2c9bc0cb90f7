#!/usr/bin/env bash
# demo.sh - what `make demo` shows: mount deskfs, make a session, look at
# it, drive it, read it back, and leave nothing running.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
DEMO=$(mktemp -d /tmp/deskfs-demo.XXXXXX)
M=$DEMO/mnt
mkdir -p "$M"
DPID="" XT=""
cleanup() {
	[ -n "$XT" ] && kill "$XT" 2>/dev/null
	if [ -n "$DPID" ]; then
		fusermount3 -u "$M" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	rm -rf "$DEMO"
}
trap cleanup EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; eval "$@"; }

say "deskfs -f -o provider=xvfb,width=1280,height=800 $M &"
"$TOP/bin/deskfs" -f -o provider=xvfb,width=1280,height=800,statedir="$DEMO/state" "$M" 2>"$DEMO/deskfs.log" &
DPID=$!
for i in $(seq 1 100); do grep -q " $M fuse" /proc/mounts && break; sleep 0.05; done

t0=$(date +%s%N)
run mkdir "$M/s1"
run cat "$M/s1/status"
until [ "$(cat "$M/s1/status")" = ready ]; do sleep 0.005; done
t1=$(date +%s%N)
echo "(ready $(((t1 - t0) / 1000000)) ms after mkdir)"
run ls "$M/s1"

D=$(python3 -c "import json; print(json.load(open('$M/s1/session.json'))['display'])")
# the session's display wants its cookie: session.json names the file
export XAUTHORITY=$(python3 -c "import json; print(json.load(open('$M/s1/session.json'))['xauthority'])")
say "XAUTHORITY=$XAUTHORITY DISPLAY=$D xterm -title demo-terminal &      # something to look at"
DISPLAY=$D xterm -title demo-terminal -geometry 80x24+40+40 -e env PS1='demo$ ' bash --norc -i 2>/dev/null &
XT=$!
for i in $(seq 1 100); do grep -q demo-terminal "$M/s1/observation.json" && break; sleep 0.05; done

run "cat $M/s1/screenshot.png > $DEMO/now.png"
python3 - "$DEMO/now.png" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", d[16:24])
print("(%s: PNG %dx%d, %d bytes)" % ("now.png", w, h, len(d)))
PY
run "echo 'click 200 100' > $M/s1/actions"
run "echo 'type echo typed by deskfs' > $M/s1/actions"
run "echo 'key Return' > $M/s1/actions"
run "tail -n 3 $M/s1/actions"
sleep 0.3 # let the shell in the terminal answer
run "cat $M/s1/screenshot.png > $DEMO/after.png"
mkdir -p "$TOP/build" && cp "$DEMO/after.png" "$TOP/build/demo.png" && echo "(saved as build/demo.png: the terminal shows the typed command and its output)"
run "python3 -m json.tool $M/s1/observation.json"

say "echo 'click 5000 5000' > $M/s1/actions      # bad input: an errno, and words in error"
echo 'click 5000 5000' >"$M/s1/actions" || true
run "cat $M/s1/error"

run rmdir "$M/s1"
kill "$XT" 2>/dev/null || true
XT=""
run fusermount3 -u "$M"
wait "$DPID"
DPID=""
left=$(pgrep -af "$DEMO" || true)
if [ -n "$left" ]; then
	echo "demo: left running: $left" >&2
	exit 1
fi
printf '\nDone: mounted, created a session, captured it, clicked and typed, read the\nobservation, destroyed it and unmounted. Nothing is left running.\n'
