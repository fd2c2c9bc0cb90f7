#!/usr/bin/env bash
# SLOW (about a minute under TCG): the desktop template (issue 10) really
# used. A VM of template=desktop boots (openbox, Debian's root under an
# overlay); through procs/ an xterm and the browser (dillo) start, the
# browser showing a page written through files/; observation.json lists
# both windows, and the page's colour is on the screen; a click focuses the
# xterm and an action types `echo typed-ok > /tmp/out` + Enter into it;
# files/tmp/out says typed-ok. Prints the boot and start times as "# ...".
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
echo "# SLOW: 61-desktop boots the desktop template under TCG"
need_fuse
need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
DESK=$TOP/build/template-desktop
[ -s "$DESK/base.img" ] || skip_all "no desktop template in build/template-desktop (make template-desktop)"

jget() { # jget FILE PYEXPR  (j is the parsed file)
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}
status_is() { [ "$(cat "$MNT/$1/status" 2>/dev/null)" = "$2" ]; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# wait_until SECONDS CMD...: poll every 100 ms, bounded by the clock
wait_until() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# win TITLE-REGEX: "x y w h" of the first window whose title matches
win() {
	python3 -c "
import json,re,sys; j=json.load(open('$MNT/d/observation.json'))
for w in j['windows']:
    if re.search(sys.argv[1], w.get('title') or ''): print(w['x'],w['y'],w['width'],w['height']); sys.exit(0)
sys.exit(1)" "$1" 2>/dev/null
}

mount_deskfs -o ready_timeout=120,boot_timeout=120,width=1024,height=768
t0=$(date +%s%N)
check "create d template=desktop" bash -c "echo 'create d template=desktop' >'$MNT/.ctl'"
check "the desktop template boots (ready)" wait_until 180 status_is d ready
echo "# create -> ready, desktop template: $(ms_since "$t0") ms"
grep 'deskfs: ' "$MNT/d/artifacts/console.log" | sed 's/^/#   guest: /'
run_wait "$MNT/d" wm sh -c 'cat /proc/[0-9]*/comm' >/dev/null
check "openbox runs (the template's window manager)" grep -qx openbox "$MNT/d/procs/wm/stdout"

# a local page, written through files/
printf '<html><head><title>deskfs page</title></head><body style="background:#ff00ff;margin:0">
<h1>a local page</h1><div style="height:2000px"></div></body></html>\n' >"$MNT/d/files/root/page.html"
check "files/ took the page" grep -q 'a local page' "$MNT/d/files/root/page.html"

t1=$(date +%s%N)
check_eq "procs/: xterm starts" ok "$(start_line "$MNT/d" "start term -- xterm -T deskfs-term -geometry 80x24+20+20")"
check_eq "procs/: the browser starts on the page" ok \
	"$(start_line "$MNT/d" "start web -- dillo -g 480x400+520+20 /root/page.html")"
check "observation.json lists the xterm window" wait_until 120 win '^deskfs-term$'
check "  and the browser's, titled by the page" wait_until 120 win 'deskfs page'
echo "# xterm and dillo started -> both windows listed: $(ms_since "$t1") ms"
draw() {
	read -r x y w h < <(win 'deskfs page') || return 1
	cat "$MNT/d/screenshot.png" >"$TMP/shot.png" &&
		[ "$("$TOOLS/pngtool" pixel "$TMP/shot.png" $((x + w / 2)) $((y + h / 2)))" = ff00ff ]
}
check "the page is drawn (its colour in the browser's window on screenshot.png)" wait_until 60 draw
echo "# xterm and dillo started -> page drawn: $(ms_since "$t1") ms"

read -r x y w h < <(win '^deskfs-term$')
check "a click focuses the xterm" bash -c "echo 'click $((x + w / 2)) $((y + h / 2))' >'$MNT/d/actions'"
check "  (observation's focused window)" wait_until 10 bash -c "
	python3 -c \"import json,sys; f=json.load(open('$MNT/d/observation.json'))['focused']; sys.exit(0 if f and f['title']=='deskfs-term' else 1)\""
check "an action types into it: echo typed-ok > /tmp/out, Enter" bash -c "
	printf 'type echo typed-ok > /tmp/out\nkey Return\n' >'$MNT/d/actions'"
check "files/tmp/out says typed-ok" wait_until 30 bash -c "grep -qx typed-ok '$MNT/d/files/tmp/out'"
cat "$MNT/d/screenshot.png" >"$TMP/final.png"
check "  and the screen still shows the page beside it" draw

echo 'signal KILL' >"$MNT/d/procs/web/ctl" 2>/dev/null
echo 'signal KILL' >"$MNT/d/procs/term/ctl" 2>/dev/null
rmdir "$MNT/d"
check "rmdir leaves no qemu" wait_until 30 bash -c "! pgrep -f 'qemu-syste[m].*$STATE/' >/dev/null"
finish
