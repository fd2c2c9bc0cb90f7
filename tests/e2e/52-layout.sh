#!/usr/bin/env bash
# A keyboard layout changed during a session (issue 12): the agent re-reads
# the keymap when the X server says it changed (XKB map and keyboard
# notifications, MappingNotify), so text comes out as written under any
# layout. An xterm runs `cat > FILE`; the lines it gets are compared:
#   us: "a";  setxkbmap de: "z@y" (z and y swap places, @ is AltGr+q),
#   "äöüß" (on the German keys), Greek bound to spare keycodes before and
#   after the change; setxkbmap us again: "z@y".
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd setxkbmap "apt-get install x11-xkb-utils"
need_cmd xterm

mount_deskfs -o width=800,height=600
mkdir "$MNT/s"
S=$MNT/s
cat "$S/status" >/dev/null
D=$(sess_display "$S")
OUT=$TMP/typed.txt
: >"$OUT"
bg env DISPLAY="$D" xterm -geometry 60x10+0+0 -e sh -c 'exec cat >"$1"' sh "$OUT"
wait_for "xterm" bash -c "DISPLAY=$D xwininfo -root -tree"
sleep 0.5

act() { printf '%s\n' "$@" >"$S/actions"; }
# line N of what cat wrote, once it is there
line() { local i; for i in $(seq 1 200); do [ "$(wc -l <"$OUT")" -ge "$1" ] && break; sleep 0.05; done; sed -n "${1}p" "$OUT"; }

act "click 200 60" "type a" "key Return"
check_eq "us layout: a" "a" "$(line 1)"
act "type α" "key Return"
check_eq "us layout: α (a spare keycode)" "α" "$(line 2)"
DISPLAY=$D setxkbmap -layout de
check_eq "setxkbmap -layout de took effect" "de" "$(DISPLAY=$D setxkbmap -query | awk '$1 == "layout:" { print $2 }')"
act "type z@y" "key Return"
check_eq "de layout set during the session: z@y typed exactly" "z@y" "$(line 3)"
act "type äöüß" "key Return"
check_eq "de layout: äöüß" "äöüß" "$(line 4)"
act "type αβ" "key Return"
check_eq "de layout: αβ (bindings made again after the change)" "αβ" "$(line 5)"
act '{"action":"type","text":"Zürich @ 10€"}' "key Return"
check_eq "de layout, JSON: Zürich @ 10€" "Zürich @ 10€" "$(line 6)"
DISPLAY=$D setxkbmap -layout us
act "type z@y" "key Return"
check_eq "back to us: z@y" "z@y" "$(line 7)"
act "key ctrl+d"
finish
