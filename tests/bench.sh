#!/usr/bin/env bash
# bench.sh - deskfs against scrot, ImageMagick import and xdotool, in one run,
# on the same displays, with realistic content. Prints one table of medians
# (also written to build/bench.txt). Run through `make bench`.
#
#	BENCH_N=40 tests/bench.sh      # timed repetitions per screenshot row
#
# The table REPORTS: it exits 0 when targets are missed, and non-zero only
# when something broke (no mount, a tool missing, a session that fails).
#
# Content: an xterm with a directory listing (DejaVu Sans Mono 11, anti-
# aliased), a photo-like plasma image over ~1/3 of the screen (ImageMagick
# display), and an xterm that keeps scrolling. Before every timed capture,
# benchtool also redraws a small window and XSyncs, so that no capture
# (deskfs, scrot or import) can be served from a cache: every one is fresh.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$TOP/bin
BT=$TOP/build/tests/benchtool
N=${BENCH_N:-40}
OUT=$TOP/build/bench.txt

TMP=$(mktemp -d /tmp/deskfs-bench.XXXXXX)
MNT=$TMP/mnt
STATE=$TMP/state
SHM=/dev/shm/deskfs-bench.$$.png
DPID=""
CLIENTS="" # X clients we started (xterm, display)

say() { echo "bench: $*" >&2; }
fail() {
	say "ERROR: $*"
	if [ -n "$DPID" ] && ! kill -0 "$DPID" 2>/dev/null; then
		wait "$DPID" 2>/dev/null
		say "deskfs itself is gone (exit status $?)"
	fi
	if [ -s "$TMP/deskfs.log" ]; then
		mkdir -p "$TOP/build"
		cp "$TMP/deskfs.log" "$TOP/build/bench-deskfs.log"
		say "last lines of the daemon's log (all of it in build/bench-deskfs.log):"
		tail -n 15 "$TMP/deskfs.log" >&2
	fi
	exit 1
}

# ---- clean-up: only what this script started, by PID ----

alive() { kill -0 "$1" 2>/dev/null; }

cleanup() {
	set +e
	local p f i rec
	# the scrolling loops (their command line names our temporary directory)
	for f in "$TMP"/pid-*; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		case "$p" in '' | *[!0-9]*) continue ;; esac
		if alive "$p" && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$TMP"; then
			kill "$p" 2>/dev/null
		fi
	done
	for p in $CLIENTS; do
		alive "$p" || continue
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	for p in $CLIENTS; do wait "$p" 2>/dev/null; done
	if [ -n "$DPID" ]; then
		for f in "$MNT"/*; do
			[ -d "$f" ] && rmdir "$f" 2>/dev/null
		done
		fusermount3 -u "$MNT" 2>/dev/null
		for i in $(seq 1 100); do
			alive "$DPID" || break
			sleep 0.05
		done
		if alive "$DPID"; then
			say "deskfs did not exit after unmount; killing it"
			kill -9 "$DPID" 2>/dev/null
			fusermount3 -uz "$MNT" 2>/dev/null
		fi
		wait "$DPID" 2>/dev/null
		# sessions the daemon left behind (it should leave none): their
		# records name the pids and start times of what it spawned for us
		for rec in "$STATE"/*/record.json; do
			[ -f "$rec" ] || continue
			python3 - "$rec" <<'EOF' 2>/dev/null
import json, os, signal, sys
for p in json.load(open(sys.argv[1])).get("procs", []):
    try:
        st = open("/proc/%d/stat" % p["pid"]).read().rsplit(")", 1)[1].split()
        if int(st[19]) == int(p["start"]):
            os.kill(p["pid"], signal.SIGKILL)
            print("bench: killed leftover %s %d" % (p["role"], p["pid"]), file=sys.stderr)
    except (OSError, ValueError, KeyError, IndexError):
        pass
EOF
		done
	fi
	rm -rf "$TMP" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- prerequisites ----

missing=""
for t in scrot import xdotool xterm display convert Xvfb fusermount3 python3 xwininfo mousepad; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
[ -z "$missing" ] || fail "missing:$missing (contrib/install-deps.sh bench installs them)"
[ -c /dev/fuse ] || fail "no /dev/fuse"
[ -x "$BIN/deskfs" ] && [ -x "$BIN/deskfs-agent" ] || fail "bin/deskfs not built (run make)"
[ -x "$BT" ] || fail "$BT not built (run make)"
fc-list 2>/dev/null | grep -q 'DejaVu Sans Mono' || say "note: DejaVu Sans Mono not found; xterm falls back"

# ---- helpers ----

# field FILE LABEL KEY: KEY=VALUE from benchtool's line for LABEL
field() {
	awk -v l="$2" -v k="$3" '$1 == l { for (i = 2; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }' "$1" | head -n1
}
med() { field "$1" "$2" median; }

bt() { # bt OUTFILE ARGS...: run benchtool, keep its lines, stop on failure
	local out=$1
	shift
	"$BT" "$@" >"$out" || fail "benchtool $1 failed: $(cat "$out")"
}

wait_ready() {
	local i s
	for i in $(seq 1 400); do
		s=$(cat "$MNT/$1/status" 2>/dev/null)
		[ "$s" = ready ] && return 0
		[ "$s" = failed ] && fail "session $1 failed: $(cat "$MNT/$1/error")"
		sleep 0.05
	done
	fail "session $1 not ready after 20 s"
}

# each session's X display wants its cookie: merge them all into one file
export XAUTHORITY=$TMP/Xauthority
: >"$XAUTHORITY"
sdisplay() { # sdisplay NAME: the session's display, its cookie merged into $XAUTHORITY
	local xa
	xa=$(sjson "$1" 'j["xauthority"] or ""')
	[ -n "$xa" ] && xauth -q -f "$XAUTHORITY" merge "$xa" 2>/dev/null
	sjson "$1" 'j["display"]'
}
sjson() { # sjson NAME EXPR: a value of session.json (python expression on j)
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$MNT/$1/session.json"
}

# privkb [FIELDS] PIDS: private memory (Private_Clean + Private_Dirty unless
# FIELDS, a regex such as Dirty, says otherwise) of PIDS, in kB
privkb() {
	local p t=0 v f='(Clean|Dirty)'
	case "$1" in [A-Z]*) f=$1; shift ;; esac
	for p in "$@"; do
		v=$(awk -v f="^Private_$f:" '$0 ~ f { s += $2 } END { print s + 0 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# start_content TAG DISPLAY W H: two terminals and a photo on DISPLAY
start_content() {
	local tag=$1 dpy=$2 W=$3 H=$4
	local pw=$((W * 55 / 100)) ph=$((H * 62 / 100))
	local px=$((W - pw - 20))
	local c1=$(((px - 24) / 9)) r1=$(((H - 30) / 18))
	local cy=$((ph + 12))
	local c2=$(((W - px - 60) / 9)) r2=$(((H - cy - 30) / 18))
	convert -seed 7 -size "${pw}x${ph}" plasma:fractal "$TMP/photo-$tag.png" ||
		fail "convert could not make the photo"
	DISPLAY=$dpy xterm -hold -geometry "${c1}x${r1}+0+0" -fa 'DejaVu Sans Mono' -fs 11 \
		-e sh -c 'ls -la /usr/lib/x86_64-linux-gnu | head -n 80' 2>>"$TMP/clients.log" &
	CLIENTS="$CLIENTS $!"
	DISPLAY=$dpy display -geometry "+$px+0" -title photo "$TMP/photo-$tag.png" 2>>"$TMP/clients.log" &
	CLIENTS="$CLIENTS $!"
	# shellcheck disable=SC2016
	DISPLAY=$dpy xterm -geometry "${c2}x${r2}+$px+$cy" -fa 'DejaVu Sans Mono' -fs 11 \
		-e sh -c 'echo $$ > "$1"; while :; do date +%N; ls -la /usr/lib | shuf -n 30; sleep 0.01; done' \
		sh "$TMP/pid-$tag" 2>>"$TMP/clients.log" &
	CLIENTS="$CLIENTS $!"
	eval "CHANGER_$tag=$!"
	eval "PHOTO_X_$tag=$px"
	local i
	for i in $(seq 1 200); do
		[ -s "$TMP/pid-$tag" ] && DISPLAY=$dpy xwininfo -root -tree 2>/dev/null | grep -q '"photo"' && break
		sleep 0.05
	done
	[ -s "$TMP/pid-$tag" ] || fail "the X clients did not start on $dpy: $(tail -n 5 "$TMP/clients.log")"
	sleep 1 # let them draw
}

# changer TAG stop|cont: freeze or resume the scrolling terminal
changer() {
	local v="CHANGER_$1"
	kill "-${2^^}" "${!v}" 2>/dev/null
}

# ---- table ----

ROWS=$TMP/rows
NOTES=$TMP/notes
: >"$ROWS"
: >"$NOTES"
note() { echo "- $*" >>"$NOTES"; }
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }
ms() { awk -v v="$1" 'BEGIN { printf(v < 10 ? "%.2f ms" : v < 100 ? "%.1f ms" : "%.0f ms", v) }'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf("%.1fx", a / b); else print "-" }'; }
x2() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf("%.2fx", a / b); else print "-" }'; }
# verdict COND...: each "A <= B" or "A >= B"; meets when all hold
verdict() {
	local c ok=1
	for c in "$@"; do
		awk "BEGIN { exit !($c) }" || ok=0
	done
	[ "$ok" = 1 ] && echo meets || echo misses
}

# ---- mount ----

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "building content and mounting (N=$N)"
mkdir -p "$MNT" "$TOP/build"
"$BIN/deskfs" -f -o "statedir=$STATE,width=1280,height=800" "$MNT" 2>"$TMP/deskfs.log" &
DPID=$!
for i in $(seq 1 100); do
	grep -q " $MNT fuse" /proc/mounts && break
	alive "$DPID" || break
	sleep 0.05
done
grep -q " $MNT fuse" /proc/mounts || fail "mount failed: $(cat "$TMP/deskfs.log")"

mkdir "$MNT/s" || fail "mkdir $MNT/s failed"
echo 'create big width=1920 height=1080' >"$MNT/.ctl" || fail "create big failed"
wait_ready s
wait_ready big
D1=$(sdisplay s)
D2=$(sdisplay big)
[ "$(sjson big '"%dx%d" % (j["width"], j["height"])')" = 1920x1080 ] || fail "big is not 1920x1080"
start_content s "$D1" 1280 800
start_content big "$D2" 1920 1080

# ---- 1. fresh screenshots, 1280x800 ----

say "screenshots 1280x800 (changing content)"
export DISPLAY=$D1
bt "$TMP/r.shot1" spawn -n "$N" -w 5 -t "$D1" -- \
	deskfs cat "$MNT/s/screenshot.png" --- \
	scrot scrot -o "$TMP/x.png" --- \
	scrot_shm scrot -o "$SHM" --- \
	import import -window root "$TMP/y.png"
bt "$TMP/r.fresh1" read -n "$N" -w 3 -t "$D1" "$MNT/s/screenshot.png"
bt "$TMP/r.nt1" read -n 30 -w 0 "$MNT/s/screenshot.png"

# ---- 2. fresh screenshots, 1920x1080 ----

say "screenshots 1920x1080 (changing content)"
export DISPLAY=$D2
bt "$TMP/r.shot2" spawn -n "$N" -w 5 -t "$D2" -- \
	deskfs cat "$MNT/big/screenshot.png" --- \
	scrot scrot -o "$TMP/x.png" --- \
	scrot_shm scrot -o "$SHM"
bt "$TMP/r.fresh2" read -n "$N" -w 3 -t "$D2" "$MNT/big/screenshot.png"

say "screenshots 1920x1080 scaled to a 1024x768 frame (scale=1024x768)"
echo 'scale 1024x768' >"$MNT/big/ctl" || fail "scale 1024x768 failed"
bt "$TMP/r.shot2s" spawn -n "$N" -w 5 -t "$D2" -- deskfs cat "$MNT/big/screenshot.png"
bt "$TMP/r.fresh2s" read -n "$N" -w 3 -t "$D2" "$MNT/big/screenshot.png"
changer big stop
sleep 0.3
cat "$MNT/big/screenshot.png" >"$TMP/scaled.png" || fail "scaled screenshot failed"
SCALEMATCH=$(DISPLAY=$D2 "$TOP/build/tests/pngtool" scalematch "$TMP/scaled.png" "$D2" 2>&1 | head -n1)
changer big cont
echo 'scale none' >"$MNT/big/ctl" || fail "scale none failed"

# ---- 3. static screen: cache, sizes, staleness ----

say "static screen: cached reads, PNG sizes, stale check"
changer s stop
changer big stop
sleep 0.5
export DISPLAY=$D1
bt "$TMP/r.static" spawn -n 100 -w 5 -- deskfs cat "$MNT/s/screenshot.png" --- true true
bt "$TMP/r.static_ip" read -n 100 -w 5 "$MNT/s/screenshot.png"
cat "$MNT/s/screenshot.png" >"$TMP/d1.png" || fail "screenshot of s failed"
scrot -o "$TMP/s1.png" || fail "scrot failed"
import -window root "$TMP/i1.png" || fail "import failed"
bt "$TMP/r.cmp1" pngcmp "$TMP/d1.png" "$TMP/s1.png"
bt "$TMP/r.cmp1i" pngcmp "$TMP/d1.png" "$TMP/i1.png"
eval "PX=\$PHOTO_X_s"
bt "$TMP/r.stale" stale -n 30 "$D1" $((PX + 60)) 60 "$MNT/s/screenshot.png"
bt "$TMP/r.settle" write -n 20 -w 2 "$MNT/s/actions" "settle"
bt "$TMP/r.settle300" write -n 10 -w 1 "$MNT/s/actions" "settle 300"
cat "$MNT/big/screenshot.png" >"$TMP/d2.png" || fail "screenshot of big failed"
DISPLAY=$D2 scrot -o "$TMP/s2.png" || fail "scrot failed"
bt "$TMP/r.cmp2" pngcmp "$TMP/d2.png" "$TMP/s2.png"

# ---- 4. input ----

say "input: click and type"
read -r FX FY < <("$BT" freepoint "$D1") || fail "no free point on $D1"
bt "$TMP/r.click" write -n 200 -w 10 "$MNT/s/actions" "click $FX $FY"
export BT_ACT=$MNT/s/actions BT_LINE="click $FX $FY"
bt "$TMP/r.click2" spawn -n "$N" -w 3 -- \
	sh_click sh -c 'echo "$BT_LINE" > "$BT_ACT"' --- \
	xdotool xdotool mousemove "$FX" "$FY" click 1 --- \
	xdotool_d0 xdotool mousemove "$FX" "$FY" click --delay 0 1
bt "$TMP/r.dclick" write -n 100 -w 10 "$MNT/s/actions" "double_click $FX $FY"
bt "$TMP/r.dclick2" spawn -n "$N" -w 3 -- \
	xdotool xdotool mousemove "$FX" "$FY" click --repeat 2 1
# 100 characters, upper and lower case, digits, punctuation (no newline)
TEXT='The quick brown fox jumps over the lazy dog; PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS! 0123456789 ok.'
[ ${#TEXT} -eq 100 ] || fail "TEXT is ${#TEXT} characters"
bt "$TMP/r.type" write -n 30 -w 3 "$MNT/s/actions" "type $TEXT"
BT_LINE="type $TEXT"
bt "$TMP/r.type2" spawn -n 20 -w 2 -- \
	sh_type sh -c 'echo "$BT_LINE" > "$BT_ACT"' --- \
	xdotool_d0 xdotool type --delay 0 "$TEXT"
bt "$TMP/r.type3" spawn -n 5 -w 1 -- xdotool xdotool type "$TEXT"
# the typing really arrives: into an xterm running cat > file
xterm -geometry 40x4+0+0 -e sh -c 'echo $$ > "$1"; exec cat > "$1.txt"' sh "$TMP/pid-typed" 2>>"$TMP/clients.log" &
CLIENTS="$CLIENTS $!"
for i in $(seq 1 100); do [ -s "$TMP/pid-typed" ] && break; sleep 0.05; done
sleep 0.5
printf 'click 20 20\ntype %s\nkey Return\n' "$TEXT" >"$MNT/s/actions" || fail "actions write failed"
sleep 0.3
TYPED=$(cat "$TMP/pid-typed.txt" 2>/dev/null)
[ "$TYPED" = "$TEXT" ] && TYPED_OK=yes || TYPED_OK="NO (got '${TYPED:0:40}...')"
# 100 non-ASCII characters (60 distinct Greek and Cyrillic letters): spare
# keycodes, bound a batch at a time, into a GTK editor (it answers
# _NET_WM_PING, which ends each keymap delay as soon as it has caught up) and
# into the xterm (it does not: each delay is waited in full)
UTEXT=$(python3 -c 'g = "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝ" + "абвгдежзийклмнопрстуфхцчш"; print((g[:60] + g[:40])[:100])')
printf 'type %s\nkey Return\n' "$UTEXT" >"$MNT/s/actions" || fail "actions write failed"
sleep 0.3
UTYPED=$(sed -n 2p "$TMP/pid-typed.txt" 2>/dev/null)
[ "$UTYPED" = "$UTEXT" ] && UTYPED_OK=yes || UTYPED_OK="NO (got '${UTYPED:0:20}...')"
bt "$TMP/r.utype_x" write -n 5 -w 1 "$MNT/s/actions" "type $UTEXT"
HOME=$TMP mousepad "$TMP/bench-mousepad.txt" >>"$TMP/clients.log" 2>&1 &
CLIENTS="$CLIENTS $!"
for i in $(seq 1 200); do xwininfo -root -tree 2>/dev/null | grep -q 'bench-mousepad' && break; sleep 0.05; done
sleep 1
printf 'click 300 300\n' >"$MNT/s/actions"
bt "$TMP/r.utype_g" write -n 10 -w 2 "$MNT/s/actions" "type $UTEXT"
bt "$TMP/r.utype_xd" spawn -n 3 -w 1 -- xdotool xdotool type "$UTEXT"
echo "click $FX $FY" >"$MNT/s/actions" # leave the pointer on the free point

# ---- 5. mkdir until ready ----

say "session start: mkdir until ready vs Xvfb alone"
bt "$TMP/r.ready" ready -n 10 -w 1 "$MNT" rdy
bt "$TMP/r.xvfb" xvfb -n 10 -w 1 1280x800

# ---- 6. memory ----

say "memory of idle sessions"
mkdir "$MNT/idle" || fail "mkdir idle failed"
echo 'create idleglx glx=1' >"$MNT/.ctl" || fail "create idleglx failed"
wait_ready idle
wait_ready idleglx
cat "$MNT/idle/screenshot.png" >/dev/null
cat "$MNT/idleglx/screenshot.png" >/dev/null
sleep 1
read -r MX MA < <(sjson idle '"%d %d" % (j["pids"]["xvfb"], j["pids"]["agent"])')
read -r GX GA < <(sjson idleglx '"%d %d" % (j["pids"]["xvfb"], j["pids"]["agent"])')
MEM_X=$(privkb "$MX") MEM_A=$(privkb "$MA")
MEM_GX=$(privkb "$GX") MEM_GA=$(privkb "$GA")
MEM_DIRTY=$(privkb Dirty "$MX" "$MA") MEM_GDIRTY=$(privkb Dirty "$GX" "$GA")
MEM_GPSS=$(awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$GX/smaps_rollup" "/proc/$GA/smaps_rollup")
read -r SX SA < <(sjson s '"%d %d" % (j["pids"]["xvfb"], j["pids"]["agent"])')
MEM_SX=$(privkb "$SX") MEM_SA=$(privkb "$SA")
rmdir "$MNT/idle" "$MNT/idleglx" || fail "rmdir idle failed"

# ---- 7. 20 sessions at once ----

say "20 sessions in parallel"
# the big session and its clients are done; free their CPU and memory
rmdir "$MNT/big" || fail "rmdir big failed"
t0=$(date +%s%N)
names=""
for i in $(seq -w 1 20); do
	mkdir "$MNT/p$i" || fail "mkdir p$i failed"
	names="$names p$i"
done
for n in $names; do wait_ready "$n"; done
t1=$(date +%s%N)
ALL20_MS=$(((t1 - t0) / 1000000))
pargs=""
for n in $names; do pargs="$pargs $n=$(sdisplay "$n")"; done
# shellcheck disable=SC2086
bt "$TMP/r.par1" par -n 30 -w 3 "$MNT" "$TMP/d1.png" ${pargs%% p02=*}
# shellcheck disable=SC2086
bt "$TMP/r.par20" par -n 15 -w 2 "$MNT" "$TMP/d1.png" $pargs
t0=$(date +%s%N)
rpids=""
for n in $names; do
	rmdir "$MNT/$n" &
	rpids="$rpids $!"
done
# shellcheck disable=SC2086
wait $rpids
t1=$(date +%s%N)
RM20_MS=$(((t1 - t0) / 1000000))
for n in $names; do [ ! -e "$MNT/$n" ] || fail "rmdir $n failed"; done

# ---- the table ----

d=$(med "$TMP/r.shot1" deskfs)
s=$(med "$TMP/r.shot1" scrot)
s2=$(med "$TMP/r.shot1" scrot_shm)
im=$(med "$TMP/r.shot1" import)
row "screenshot 1280x800, fresh: cat vs scrot -o /tmp/x.png" "$(ms "$d")" "$(ms "$s")" "$(x "$s" "$d") faster" "<=12 ms, >=7x" \
	"$(verdict "$d <= 12" "$s / $d >= 7")"
row "  same, vs scrot -o /dev/shm/x.png (tmpfs)" "$(ms "$d")" "$(ms "$s2")" "$(x "$s2" "$d") faster" "-" "info"
row "  same, vs import -window root /tmp/x.png" "$(ms "$d")" "$(ms "$im")" "$(x "$im" "$d") faster" "-" "info"
d=$(med "$TMP/r.shot2" deskfs)
s=$(med "$TMP/r.shot2" scrot)
s2=$(med "$TMP/r.shot2" scrot_shm)
row "screenshot 1920x1080, fresh: cat vs scrot -o /tmp/x.png" "$(ms "$d")" "$(ms "$s")" "$(x "$s" "$d") faster" "<=20 ms, >=6x" \
	"$(verdict "$d <= 20" "$s / $d >= 6")"
row "  same, vs scrot -o /dev/shm/x.png (tmpfs)" "$(ms "$d")" "$(ms "$s2")" "$(x "$s2" "$d") faster" "-" "info"
ds=$(med "$TMP/r.shot2s" deskfs)
row "screenshot 1920x1080 scaled to 1024x768 (scale=): cat vs unscaled cat" "$(ms "$ds")" "$(ms "$d") (unscaled)" "$(x2 "$ds" "$d")" "<=1x" \
	"$(verdict "$ds <= $d")"
a=$(med "$TMP/r.fresh2s" read)
b=$(med "$TMP/r.fresh2" read)
row "  same, in-process open+read+close, fresh" "$(ms "$a")" "$(ms "$b") (unscaled)" "$(x2 "$a" "$b")" "<=1x" "$(verdict "$a <= $b")"
for k in 1 2; do
	a=$(field "$TMP/r.cmp$k" pngcmp a_bytes)
	b=$(field "$TMP/r.cmp$k" pngcmp b_bytes)
	[ $k = 1 ] && sz=1280x800 || sz=1920x1080
	row "PNG size $sz, same pixels: deskfs vs scrot" "$((a / 1024)) KiB" "$((b / 1024)) KiB" "$(x2 "$a" "$b") size" "<=1.15x" \
		"$(verdict "$a / $b <= 1.15")"
done
d=$(med "$TMP/r.static" deskfs)
row "unchanged screen: cat screenshot.png (whole command)" "$(ms "$d")" "-" "-" "<=1 ms" "$(verdict "$d <= 1")"
d=$(med "$TMP/r.static_ip" read)
row "  same, in-process open+read+close" "$(ms "$d")" "-" "-" "<=1 ms" "$(verdict "$d <= 1")"
d=$(med "$TMP/r.click" write)
s=$(med "$TMP/r.click2" xdotool)
s2=$(med "$TMP/r.click2" xdotool_d0)
row "click: open+write+close in-process vs xdotool mousemove X Y click 1" "$(ms "$d")" "$(ms "$s")" "$(x "$s" "$d") faster" "<=1 ms, >=100x" \
	"$(verdict "$d <= 1" "$s / $d >= 100")"
row "  same, vs xdotool mousemove X Y click --delay 0 1" "$(ms "$d")" "$(ms "$s2")" "$(x "$s2" "$d") faster" "<=1 ms, >=100x" \
	"$(verdict "$d <= 1" "$s2 / $d >= 100")"
d=$(med "$TMP/r.dclick" write)
s=$(med "$TMP/r.dclick2" xdotool)
row "double click: in-process write vs xdotool click --repeat 2 1" "$(ms "$d")" "$(ms "$s")" "$(x "$s" "$d") faster" "<=5 ms" \
	"$(verdict "$d <= 5")"
d=$(med "$TMP/r.click2" sh_click)
row "  click as a whole shell command (sh -c \"echo ... > actions\")" "$(ms "$d")" "$(ms "$s2")" "$(x "$s2" "$d") faster" "-" "info"
d=$(med "$TMP/r.type" write)
s=$(med "$TMP/r.type3" xdotool)
s2=$(med "$TMP/r.type2" xdotool_d0)
row "type 100 chars: in-process write vs xdotool type" "$(ms "$d")" "$(ms "$s")" "$(x "$s" "$d") faster" "<=5 ms" "$(verdict "$d <= 5")"
row "  same, vs xdotool type --delay 0" "$(ms "$d")" "$(ms "$s2")" "$(x "$s2" "$d") faster" "<=5 ms" "$(verdict "$d <= 5")"
d=$(med "$TMP/r.type2" sh_type)
row "  type as a whole shell command vs xdotool --delay 0" "$(ms "$d")" "$(ms "$s2")" "$(x "$s2" "$d") faster" "-" "info"
d=$(med "$TMP/r.utype_g" write)
s=$(med "$TMP/r.utype_xd" xdotool)
row "type 100 non-ASCII (60 distinct) into GTK vs xdotool type" "$(ms "$d")" "$(ms "$s")" "$(x "$s" "$d") faster" "<=xdotool" \
	"$(verdict "$d <= $s")"
d=$(med "$TMP/r.utype_x" write)
row "  same into xterm (no ping answers: full keymap_delay waits)" "$(ms "$d")" "$(ms "$s")" "$(x "$s" "$d") faster" "-" "info"
d=$(med "$TMP/r.settle" write)
row "settle on a still screen (100 ms quiet): write time - 100 ms" "$(ms "$(awk -v v="$d" 'BEGIN { print v - 100 }')")" "-" "-" "<=5 ms" \
	"$(verdict "$d - 100 <= 5")"
d=$(med "$TMP/r.settle300" write)
row "  settle 300 on a still screen: write time - 300 ms" "$(ms "$(awk -v v="$d" 'BEGIN { print v - 300 }')")" "-" "-" "<=5 ms" \
	"$(verdict "$d - 300 <= 5")"
d=$(med "$TMP/r.ready" ready)
s=$(med "$TMP/r.xvfb" xvfb)
row "mkdir until status=ready vs Xvfb alone (-displayfd)" "$(ms "$d")" "$(ms "$s")" "$(x "$d" "$s") slower" "<=100 ms" "$(verdict "$d <= 100")"
m=$(((MEM_X + MEM_A) / 1024))
row "private memory, idle session (Xvfb + agent)" "$m MB" "-" "-" "<=60 MB" "$(verdict "$m <= 60")"
m=$(((MEM_GX + MEM_GA) / 1024))
row "  same, glx=1" "$m MB" "-" "-" "<=60 MB" "$(verdict "$m <= 60")"
d=$(med "$TMP/r.par20" par)
s=$(med "$TMP/r.par1" par)
row "20 sessions screenshotting at once: cat median vs 1 session" "$(ms "$d")" "$(ms "$s") (1 sess.)" "$(x2 "$d" "$s") slower" "<=2x" \
	"$(verdict "$d / $s <= 2")"

# ---- notes ----

note "fresh rows: before every timed command benchtool redraws a small window and XSyncs, so every capture by every tool is of a changed screen; interleaved round-robin, $N timed rounds after 5 warm-up rounds"
note "freshness proof, in-process reads after a change: $(field "$TMP/r.fresh1" read distinct)/$N distinct images at 1280x800 (median $(ms "$(med "$TMP/r.fresh1" read)")), $(field "$TMP/r.fresh2" read distinct)/$N at 1920x1080 (median $(ms "$(med "$TMP/r.fresh2" read)")); with the terminal alone scrolling (no redraw helper), $(field "$TMP/r.nt1" read distinct)/30 reads were distinct (the others were served from the damage cache)"
note "stale check (draw a colour, XSync, read): $(field "$TMP/r.stale" after_change fresh) showed the new colour (median $(ms "$(med "$TMP/r.stale" after_change)")); an immediate re-read with no change returned identical bytes $(field "$TMP/r.stale" no_change same) (median $(ms "$(med "$TMP/r.stale" no_change)"))"
note "pixels: deskfs vs scrot differ in $(field "$TMP/r.cmp1" pngcmp diff_pixels) pixels at 1280x800 and $(field "$TMP/r.cmp2" pngcmp diff_pixels) at 1920x1080; vs import $(field "$TMP/r.cmp1i" pngcmp diff_pixels); import's PNG is $(($(field "$TMP/r.cmp1i" pngcmp b_bytes) / 1024)) KiB"
note "fork+exec of \`true\` alone costs $(ms "$(med "$TMP/r.static" true)") here: the floor of any whole-command row"
note "/tmp is $(stat -f -c %T /tmp) here; /dev/shm is $(stat -f -c %T /dev/shm)"
note "xdotool's click waits its --delay (default 100 ms) even without --repeat; type's default delay is 12 ms per key"
note "typed text reached an xterm intact: $TYPED_OK; 100 non-ASCII characters too: $UTYPED_OK"
note "scaled 1024x768 PNG: $(($(stat -c %s "$TMP/scaled.png") / 1024)) KiB; against the exact area average of the screen: $SCALEMATCH"
note "xdotool click --repeat 2 waits its --delay (100 ms) between the clicks; deskfs's double click has the X server stamp the second press 1 ms after the first (click_gap $(awk '/^#define ACT_CLICK_GAP_MS/ { print $3 }' "$TOP/common/act.h") ms between them)"
note "rmdir of a session: median $(ms "$(med "$TMP/r.ready" rmdir)")"
note "memory: idle Xvfb $((MEM_X / 1024)) MB + agent $((MEM_A / 1024)) MB (of which Private_Dirty $((MEM_DIRTY / 1024)) MB); glx=1: Xvfb $((MEM_GX / 1024)) MB + agent $((MEM_GA / 1024)) MB (Private_Dirty $((MEM_GDIRTY / 1024)) MB: the rest is Private_Clean, mostly the GL libraries that only this one Xvfb maps, which a second glx session would share; Pss $((MEM_GPSS / 1024)) MB); the 1280x800 session with its clients: Xvfb $((MEM_SX / 1024)) MB + agent $((MEM_SA / 1024)) MB"
note "20 sessions: all ready $ALL20_MS ms after the first mkdir; $(field "$TMP/r.par20" par shots_per_s) screenshots/s in aggregate vs $(field "$TMP/r.par1" par shots_per_s) with one session; per-session medians $(ms "$(field "$TMP/r.par20" par psmin)")..$(ms "$(field "$TMP/r.par20" par psmax)"); p90 $(ms "$(field "$TMP/r.par20" par p90)"); content = the 1280x800 screenshot shown full screen plus a changing window; 20 rmdirs in parallel took $RM20_MS ms"
note "with $(nproc) cores, 20 CPU-bound encoders share $(nproc) CPUs: the 20-session row measures queueing as much as deskfs"

# ---- print ----

{
	echo "deskfs bench - $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf("%.0f GB", $2 / 1048576) }' /proc/meminfo), kernel $(uname -r)"
	echo "load average at start: $LOAD0, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every row)"
	echo "deskfs $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?'); $(scrot --version 2>/dev/null | head -n1); $(DISPLAY=$D1 xdotool version 2>/dev/null | head -n1); $(import -version | head -n1 | cut -d' ' -f2-3)"
	echo "medians; whole-command rows are fork+exec+wait wall time"
	echo
	awk -F'\t' 'BEGIN { w[1] = 66; w[2] = 10; w[3] = 20; w[4] = 15; w[5] = 15; w[6] = 7
			split("work|deskfs|peer|ratio|target|verdict", h, "|")
			for (i = 1; i <= 6; i++) printf("%-*s%s", w[i], h[i], i < 6 ? " | " : "\n")
			for (i = 1; i <= 6; i++) { s = ""; for (j = 0; j < w[i]; j++) s = s "-"; printf("%s%s", s, i < 6 ? "-|-" : "\n") } }
		{ for (i = 1; i <= 6; i++) printf("%-*s%s", w[i], $i, i < 6 ? " | " : "\n") }' "$ROWS"
	echo
	echo "notes:"
	cat "$NOTES"
} | tee "$OUT"
say "table written to $OUT"
exit 0
