#!/usr/bin/env bash
# Incremental screenshots: the agent re-encodes only the bands of rows that
# changed and reuses the others' compressed bytes. After every partial
# change (a small window drawn, moved, removed; the bottom rows, the top
# row, one pixel inside a band, the last row), over a plain background and
# over photo-like content, the capture must still equal the display pixel
# for pixel (an independent XGetImage), and only the bands touched may have
# been re-encoded. Then the HTTP contract, straight at the agent's socket:
# ETag: "<start>-<serial>", the same tag and a 304 while nothing changed,
# a new tag after a change.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd xsetroot "apt-get install x11-xserver-utils"
need_cmd xwininfo "apt-get install x11-utils"
need_cmd xdotool "apt-get install xdotool"
need_cmd curl "apt-get install curl"

W=800 H=600
mount_deskfs -o width=$W,height=$H
mkdir "$MNT/s"
S=$MNT/s
check "a capture right after mkdir" cp "$S/screenshot.png" "$TMP/first.png"
D=$(sess_display "$S")
SOCK=$STATE/s/agent.sock
TOK=$(tr -d '\n' <"$STATE/s/token")

# get NAME [curl args...]: GET /screenshot.png from the agent; the body in
# $TMP/NAME.png, the headers in $TMP/NAME.h
get() {
	local n=$1
	shift
	rm -f "$TMP/$n.png" "$TMP/$n.h"
	curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $TOK" -D "$TMP/$n.h" \
		-o "$TMP/$n.png" "$@" http://x/screenshot.png
	[ -e "$TMP/$n.png" ] || : >"$TMP/$n.png"
}
# hdr NAME HEADER: that response header's value
hdr() { tr -d '\r' <"$TMP/$1.h" | sed -n "s/^$2: *//Ip" | head -n1; }
code() { tr -d '\r' <"$TMP/$1.h" | head -n1 | awk '{print $2}'; }
# encoded NAME: how many bands that capture re-encoded ("3" of "3/19")
encoded() { hdr "$1" X-Deskfs-Bands | cut -d/ -f1; }
total() { hdr "$1" X-Deskfs-Bands | cut -d/ -f2; }

# noise GEOM SEED: a window of photo-like pixels at GEOM, fully drawn (and
# XSynced) when this returns; its pid in NPID
noise() {
	"$TOOLS/xnoise" "$D" "$1" "${2:-1}" >"$TMP/noise.out" &
	NPID=$!
	T_PIDS="$T_PIDS $NPID"
	wait_for ready cat "$TMP/noise.out" || { echo "# xnoise $1 did not start"; return 1; }
	wait_for "$1" bash -c "DISPLAY=$D xwininfo -root -tree"
}
tree_has() { DISPLAY=$D xwininfo -root -tree | grep -q " $1 "; }
# unnoise GEOM: stop the last noise window; returns once the server has
# destroyed it (and so repainted what it covered)
unnoise() {
	kill "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	local i
	for i in $(seq 1 200); do
		tree_has "$1" || return 0
		sleep 0.05
	done
	echo "# the window $1 is still there"
	return 1
}

# shot DESC: a capture through the mount (the daemon asks the agent,
# conditionally); it must equal the display
N=0
shot() {
	local desc=$1
	N=$((N + 1))
	cat "$S/screenshot.png" >"$TMP/m$N.png"
	check "$desc: the mount's PNG equals the display" "$TOOLS/pngtool" match "$TMP/m$N.png" "$D"
}
# agent_shot DESC WANT: one capture straight from the agent; it must equal
# the display, have re-encoded WANT bands (a number; "some": more than 0,
# fewer than all; "any") and carry an ETag other than the previous one's
agent_shot() {
	local desc=$1 want=$2 k t
	N=$((N + 1))
	get "a$N"
	PREV_ETAG=${ETAG:-}
	ETAG=$(hdr "a$N" ETag)
	k=$(encoded "a$N")
	t=$(total "a$N")
	check "$desc: the agent's PNG equals the display" "$TOOLS/pngtool" match "$TMP/a$N.png" "$D"
	case "$want" in
	some) check "$desc: some bands re-encoded, not all ($k/$t)" test "$k" -gt 0 -a "$k" -lt "$t" ;;
	any) ;;
	*) check_eq "$desc: bands re-encoded (of $t)" "$want" "$k" ;;
	esac
	check "$desc: a new ETag" test "$ETAG" != "$PREV_ETAG"
}

DISPLAY=$D xsetroot -solid '#305070'
agent_shot "a plain background" any
check "the ETag has the form \"<hex>-<hex>\": $ETAG" bash -c "[[ '$ETAG' =~ ^\\\"[0-9a-f]+-[0-9a-f]+\\\"\$ ]]"
T=$(total "a$N")
check "the image is cut into many bands ($T)" test "$T" -ge 8

# ---- partial changes over a plain background ----
noise 60x40+100+100 1
shot "a small window"
agent_shot "a small window, again from the agent" 0
W1=$(DISPLAY=$D xwininfo -root -tree | awk '/ 60x40\+100\+100 /{print $1}')
DISPLAY=$D xdotool windowmove --sync "$W1" 400 300
agent_shot "the small window moved" some
shot "the small window moved"
unnoise 60x40+400+300
agent_shot "the small window gone (back to the background)" some
shot "the small window gone"

noise "${W}x5+0+$((H - 5))" 2
agent_shot "only the bottom 5 rows changed" 1
unnoise "${W}x5+0+$((H - 5))"
agent_shot "the bottom rows restored" 1

noise "${W}x1+0+0" 3
agent_shot "only the top row changed" 1
unnoise "${W}x1+0+0"
agent_shot "the top row restored" 1

noise "1x1+$((W / 2))+$((32 * 9 + 13))" 4
agent_shot "one pixel in the middle of a band" 1
shot "one pixel in the middle of a band"
unnoise "1x1+$((W / 2))+$((32 * 9 + 13))"
agent_shot "that pixel restored" 1

noise "${W}x1+0+$((H - 1))" 5
agent_shot "only the last row of the screen changed" 1
unnoise "${W}x1+0+$((H - 1))"
agent_shot "the last row restored" 1

# ---- partial changes over photo-like content ----
noise "$((W - 100))x$((H - 150))+50+70" 6
BIGPID=$NPID
agent_shot "photo-like content over most of the screen" some
noise 1x1+333+250 7
agent_shot "one pixel inside the photo" 1
unnoise 1x1+333+250
agent_shot "the photo's pixel restored" 1
noise 90x50+600+400 8
shot "a small window over the photo's edge"
agent_shot "the same screen from the agent" 0
unnoise 90x50+600+400
agent_shot "that window gone" some
noise "${W}x2+0+$((H - 2))" 9
agent_shot "the last two rows, below the photo" 1
unnoise "${W}x2+0+$((H - 2))"
NPID=$BIGPID
unnoise "$((W - 100))x$((H - 150))+50+70"
agent_shot "the photo gone" some

# ---- the HTTP contract ----
get base
E=$(hdr base ETag)
check_eq "an unchanged screen: 200 with a body" "200" "$(code base)"
check "and it has an ETag" test -n "$E"
get again
check_eq "unchanged: the same ETag" "$E" "$(hdr again ETag)"
check "unchanged: the same bytes" cmp -s "$TMP/base.png" "$TMP/again.png"
get c304 -H "If-None-Match: $E"
check_eq "If-None-Match with the current ETag: 304" "304" "$(code c304)"
check_eq "the 304 carries the ETag" "$E" "$(hdr c304 ETag)"
check_eq "and no body" "0" "$(stat -c %s "$TMP/c304.png")"
check "and the bands header" test -n "$(hdr c304 X-Deskfs-Bands)"
get list -H "If-None-Match: \"nope\", W/$E"
check_eq "a list of tags with a weak match: 304" "304" "$(code list)"
get star -H "If-None-Match: *"
check_eq "If-None-Match: * -> 304" "304" "$(code star)"
get other -H 'If-None-Match: "0-0"'
check_eq "another tag: 200" "200" "$(code other)"
check "with the same bytes" cmp -s "$TMP/base.png" "$TMP/other.png"

# damage without a pixel change: captured again, nothing re-encoded, the
# same PNG (same tag, so still 304)
DISPLAY=$D xsetroot -solid '#305070'
get same -H "If-None-Match: $E"
check_eq "the same colour painted again: still 304" "304" "$(code same)"
check_eq "the same ETag" "$E" "$(hdr same ETag)"
check_eq "nothing re-encoded" "0" "$(encoded same)"
check_eq "though it was captured again (XDamage saw the repaint)" "fresh" "$(hdr same X-Deskfs-Capture)"

# a change: a new tag, the old one gets the new picture
noise 30x30+10+10 10
get changed -H "If-None-Match: $E"
E2=$(hdr changed ETag)
check_eq "after a change the old tag gets 200" "200" "$(code changed)"
check "and a new ETag ($E -> $E2)" test -n "$E2" -a "$E2" != "$E"
check "with the display's pixels" "$TOOLS/pngtool" match "$TMP/changed.png" "$D"
check_eq "the same ETag prefix (one agent process)" "${E%-*}" "${E2%-*}"
get c304b -H "If-None-Match: $E2"
check_eq "and the new tag gets 304" "304" "$(code c304b)"
unnoise 30x30+10+10
get back -H "If-None-Match: $E2"
check_eq "changed back to the old pixels: 200" "200" "$(code back)"
check "with yet another ETag" test "$(hdr back ETag)" != "$E2" -a "$(hdr back ETag)" != "$E"
check "and the display's pixels" "$TOOLS/pngtool" match "$TMP/back.png" "$D"
check "the screenshot through the mount still matches" bash -c "cat '$S/screenshot.png' >'$TMP/last.png' && '$TOOLS/pngtool' match '$TMP/last.png' '$D'"
finish
