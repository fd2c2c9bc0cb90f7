#!/usr/bin/env bash
# actions: what a write does arrives at a real X client (xev), exactly:
# coordinates and buttons, Unicode text, chords, wheel buttons, drags, and
# the three JSON dialects. Bad input is refused whole and changes nothing.
# "Nothing" is proved against a marker: a click written after the refused
# input; X delivers in order, so once xev has printed the marker, anything
# the refused write had done would be in the file before it.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd xev "apt-get install x11-utils"

mount_deskfs -o width=800,height=600
mkdir "$MNT/s"
S=$MNT/s
D=$(sess_display "$S")
XEV=$TMP/xev.out
bg env DISPLAY="$D" stdbuf -oL xev -geometry 800x600+0+0 -event mouse -event keyboard -event button >"$XEV" 2>&1
wait_for "Event Tester" bash -c "DISPLAY=$D xwininfo -root -tree"

act() { printf '%s\n' "$@" >"$S/actions"; }
# the n-th event of a type, as "x,y button" (root coordinates)
ev() { python3 "$TOP/tests/tools/xevparse.py" "$XEV" "$@"; }
# sync_xev: the marker, a middle click at (797,3); returns once xev printed
# its release, so all that was written before has arrived too.
sync_xev() {
	act "click 797 3 middle"
	wait_for "ButtonRelease 797,3" ev last ButtonRelease
}
# mark: a fresh window of events (late events of the previous action stay out)
mark() { sync_xev; : >"$XEV"; }
# only_marker: since the last mark, xev saw the marker and nothing else
only_marker() {
	sync_xev &&
		[ "$(ev ButtonPress 1)|$(ev count ButtonPress)|$(ev count KeyPress)" = "ButtonPress 797,3 2|1|0" ]
}

# xev is live once it prints a marker (its window may map before it listens)
live=0
for i in 1 2 3 4 5; do
	act "click 797 3 middle"
	for j in $(seq 1 20); do
		[ "$(ev last ButtonRelease)" = "ButtonRelease 797,3" ] && live=1 && break 2
		sleep 0.05
	done
done
check "xev receives input" test "$live" = 1

mark; act "click 100 150"
check_eq "click arrives at (100,150) with button 1" "ButtonPress 100,150 1" "$(ev ButtonPress 1)"
check_eq "and is released there" "ButtonRelease 100,150 1" "$(ev ButtonRelease 1)"
mark; act "click 200 250 right"
check_eq "right click is button 3" "ButtonPress 200,250 3" "$(ev ButtonPress 1)"
mark; act "click 300 350 middle"
check_eq "middle click is button 2" "ButtonPress 300,350 2" "$(ev ButtonPress 1)"
mark; act "click 0 0"
check_eq "a click at 0 0 is a click at 0,0" "ButtonPress 0,0 1" "$(ev ButtonPress 1)"
mark; act "click 799 599"
check_eq "the last pixel is on the screen" "ButtonPress 799,599 1" "$(ev ButtonPress 1)"
mark; act "double_click 50 60"
check_eq "double_click gives two presses" "2" "$(ev count ButtonPress)"
mark; act "triple_click 50 60"
check_eq "triple_click gives three presses" "3" "$(ev count ButtonPress)"
mark; act "scroll 400 300 0 3"
check_eq "scroll down 3 is three button-5 presses" "3 5" "$(ev countbutton ButtonPress 5)"
mark; act "scroll 400 300 0 -2"
check_eq "scroll up 2 is two button-4 presses" "2 4" "$(ev countbutton ButtonPress 4)"
mark; act "scroll down 4"
check_eq "'scroll down 4' at the cursor" "4 5" "$(ev countbutton ButtonPress 5)"
mark; act "drag 10 20 300 310"
check_eq "drag presses at the start" "ButtonPress 10,20 1" "$(ev ButtonPress 1)"
check_eq "and releases at the end" "ButtonRelease 300,310 1" "$(ev ButtonRelease 1)"
mark; act "move 123 321"
check_eq "move puts the pointer there" "MotionNotify 123,321" "$(ev last MotionNotify)"
mark; act "down left 40 40" "up left 60 60"
check_eq "down/up with points" "ButtonPress 40,40 1 ButtonRelease 60,60 1" "$(ev ButtonPress 1) $(ev ButtonRelease 1)"

# keyboard: the pointer is inside xev's window, which therefore has focus
mark; act "type Hello, wörld €✓ αβ"
check_eq "typed Unicode arrives as those characters" "Hello, wörld €✓ αβ" "$(ev text)"
mark; act "key ctrl+a"
check_eq "ctrl+a arrives as a chord" "Control_L a+ctrl" "$(ev keys)"
mark; act "key ctrl+shift+t Return"
check_eq "chords in sequence" "Control_L Shift_L T+ctrl+shift Return" "$(ev keys)"
mark; act "keydown shift" "type a" "keyup shift"
check_eq "keydown holds a modifier across actions" "Shift_L A+shift" "$(ev keys)"
mark; act "hold ctrl 50"
check_eq "hold presses and releases" "Control_L" "$(ev keys)"

# the JSON dialects
mark; act '{"action":"left_click","coordinate":[410,220]}'
check_eq "Anthropic left_click" "ButtonPress 410,220 1" "$(ev ButtonPress 1)"
mark; act '{"action":"scroll","coordinate":[400,300],"scroll_direction":"up","scroll_amount":2}'
check_eq "Anthropic scroll" "2 4" "$(ev countbutton ButtonPress 4)"
mark; act '{"action":"type","text":"ok€"}'
check_eq "Anthropic type" "ok€" "$(ev text)"
mark; act '{"type":"click","x":77,"y":88,"button":"right"}'
check_eq "OpenAI click right" "ButtonPress 77,88 3" "$(ev ButtonPress 1)"
mark; act '{"type":"scroll","x":400,"y":300,"scroll_x":0,"scroll_y":240}'
check_eq "OpenAI scroll: 240 px is two wheel clicks down" "2 5" "$(ev countbutton ButtonPress 5)"
mark; act '{"type":"keypress","keys":["CTRL","A"]}'
check_eq "OpenAI keypress chord" "Control_L a+ctrl" "$(ev keys)"
mark; act '{"type":"drag","path":[{"x":5,"y":6},{"x":50,"y":60},{"x":90,"y":95}]}'
check_eq "OpenAI drag along a path" "ButtonPress 5,6 1 ButtonRelease 90,95 1" "$(ev ButtonPress 1) $(ev ButtonRelease 1)"
mark; act '{"method":"right_click","x":31,"y":41}'
check_eq "E2B right_click" "ButtonPress 31,41 3" "$(ev ButtonPress 1)"
mark; act '{"method":"write","text":"e2b"}'
check_eq "E2B write" "e2b" "$(ev text)"

# bad input: EINVAL, nothing performed, error says why, session fine after
mark
check "an off-screen coordinate gives EINVAL (one write of two lines)" python3 -c "
import os,sys; fd=os.open('$S/actions', os.O_WRONLY)
try: os.write(fd, b'click 10 10\\nclick 800 10\\n')
except OSError as e: sys.exit(0 if e.errno==22 else 1)
finally: os.close(fd)
sys.exit(1)"
check "and nothing of that write is performed (xev saw only the marker written after it)" only_marker
check "error names the line and says why" python3 -c "
import json,sys; e=json.load(open('$S/error')); print(e['message'], file=sys.stderr)
sys.exit(0 if e['code']=='invalid_action' and 'line 2' in e['message'] and e['category']=='input' and e['retryable'] is False and 'details' in e else 1)"
mark
for bad in 'jump 1 2' 'click 10' 'click -1 5' 'click 99999999999 1' 'click 1x 2' 'key ctrl+nosuchkey' 'wait -5' '{"action":"left_click","coordinate":[1]}' '{"type":' '{"method":"fly"}'; do
	check "'$bad' is refused with EINVAL" bash -c "{ printf '%s\n' '$bad' > '$S/actions'; } 2>&1 | grep -q 'Invalid argument'"
done
check "invalid UTF-8 is refused" bash -c "{ printf 'type \xff\xfe\n' > '$S/actions'; } 2>&1 | grep -q 'Invalid argument'"
check "a NUL byte is refused" bash -c "{ printf 'click 1 1\0\n' > '$S/actions'; } 2>&1 | grep -q 'Invalid argument'"
check "none of the refused writes performed anything (only the marker arrived)" only_marker
mark; act "click 11 12"
check_eq "the session still works afterwards" "ButtonPress 11,12 1" "$(ev ButtonPress 1)"
check_eq "and is still ready" "ready" "$(cat "$S/status")"

# a line split over several write(2) calls, and one without a newline
mark
python3 -c "
import os; fd=os.open('$S/actions', os.O_WRONLY)
os.write(fd, b'cli'); os.write(fd, b'ck 21 '); os.write(fd, b'22\n'); os.close(fd)"
check_eq "a line split across writes is one action" "ButtonPress 21,22 1" "$(ev ButtonPress 1)"
mark; printf 'click 23 24' >"$S/actions"
check_eq "a last line without newline runs at close" "ButtonPress 23,24 1" "$(ev ButtonPress 1)"
check "a bad last line without newline fails close()" python3 -c "
import os,sys; fd=os.open('$S/actions', os.O_WRONLY); os.write(fd, b'jump 1')
try: os.close(fd)
except OSError as e: sys.exit(0 if e.errno==22 else 1)
sys.exit(1)"
mark
python3 -c "
import os; fd=os.open('$S/actions', os.O_WRONLY); os.write(fd, b'click 1 1 sideways')
try: os.close(fd)
except OSError: pass"
check "and performs nothing (only the marker arrived)" only_marker
check "receipts are readable from actions" bash -c "tail -n1 '$S/actions' | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); sys.exit(0 if r[\"type\"]==\"receipt\" and r[\"action\"]==\"click\" else 1)'"
check "actions reports its growing size" bash -c "[ \$(stat -c %s '$S/actions') -gt 100 ]"
finish
