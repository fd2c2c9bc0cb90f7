#!/usr/bin/env bash
# observation.json: screen size, cursor, the focused window and the
# visible windows with title, class, pid and geometry, the last receipt.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd xterm "apt-get install xterm"

mount_deskfs -o width=1024,height=768
mkdir "$MNT/s"
S=$MNT/s
D=$(sess_display "$S")
bg env DISPLAY="$D" xterm -title "deskfs-obs-test" -geometry 40x10+100+120 -e sleep 600
XT=$LAST_PID
wait_for "deskfs-obs-test" cat "$S/observation.json"
echo "move 150 160" >"$S/actions"
cat "$S/observation.json" >"$TMP/obs.json"
q() { python3 -c "import json; o=json.load(open('$TMP/obs.json')); print($1)"; }
check_eq "screen size" "1024x768" "$(q '"%dx%d" % (o["screen"]["width"], o["screen"]["height"])')"
check "a timestamp" bash -c "[ -n \"\$(python3 -c \"import json; print(json.load(open('$TMP/obs.json'))['timestamp'])\")\" ]"
check_eq "the cursor is where it was moved" "150,160" "$(q '"%d,%d" % (o["cursor"]["x"], o["cursor"]["y"])')"
W='[w for w in o["windows"] if w["title"]=="deskfs-obs-test"][0]'
check_eq "the window is listed with its title" "deskfs-obs-test" "$(q "$W[\"title\"]")"
check_eq "its WM_CLASS" "XTerm xterm" "$(q "$W[\"class\"] + ' ' + $W[\"instance\"]")"
# geometry is the content rectangle in root coordinates: X's outer corner
# (xwininfo's "Absolute upper-left") plus the border, and the inside size
XWI=$(DISPLAY=$D xwininfo -name deskfs-obs-test)
XG=$(echo "$XWI" | awk '/Absolute upper-left X/{x=$NF} /Absolute upper-left Y/{y=$NF} /Border width/{b=$NF} /Width:/{w=$NF} /Height:/{h=$NF} END{print x+b","y+b" "w"x"h}')
check_eq "its geometry is what X says" "$XG" "$(q "'%d,%d %dx%d' % ($W['x'], $W['y'], $W['width'], $W['height'])")"
check "and is where it was put (+100+120)" bash -c "case \"\$(echo '$XWI' | grep 'Absolute upper-left' | awk '{print \$NF}' | tr '\n' ,)\" in 100,120,) true ;; *) false ;; esac"
check_eq "its pid (from _NET_WM_PID)" "$XT" "$(q "$W[\"pid\"]")"
check_eq "the pointer is over it, so it has the focus" "deskfs-obs-test" "$(q 'o["focused"]["title"] if o["focused"] else None')"
check_eq "the last receipt is the move" "move" "$(q 'o["last_receipt"]["action"]')"
echo "move 900 700" >"$S/actions"
check_eq "a new open is a new observation" "900,700" "$(python3 -c "import json; o=json.load(open('$S/observation.json')); print('%d,%d' % (o['cursor']['x'], o['cursor']['y']))")"
kill "$XT"
wait "$XT" 2>/dev/null
check "a closed window leaves the list" bash -c "! grep -q deskfs-obs-test '$S/observation.json'"
finish
