#!/usr/bin/env bash
# screenshot.png: the right size, the display's exact pixels (checked
# against an independent XGetImage), fresh after every change, and whole
# for every kind of reader (GNU cat, busybox cat/sendfile, cp, dd, Python,
# a reader that seeks back to the header), with the real size on fstat.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd xsetroot "apt-get install x11-xserver-utils"
need_cmd xterm "apt-get install xterm"
need_cmd busybox "apt-get install busybox"

mount_deskfs -o width=800,height=600
mkdir "$MNT/s"
S=$MNT/s
check "a capture right after mkdir" cp "$S/screenshot.png" "$TMP/first.png"
D=$(sess_display "$S")
check_eq "it decodes at the session's size" "800 600" "$("$TOOLS/pngtool" size "$TMP/first.png")"

for colour in 123456 ff0000 00ff7f; do
	DISPLAY=$D xsetroot -solid "#$colour"
	cat "$S/screenshot.png" >"$TMP/solid.png"
	check "after xsetroot #$colour every pixel is that colour" "$TOOLS/pngtool" solid "$TMP/solid.png" "$colour"
done

# real content: a terminal with text over a solid background
DISPLAY=$D xsetroot -solid '#305070'
bg env DISPLAY="$D" xterm -geometry 60x20+30+40 -bg white -fg black -e bash -c 'printf "deskfs pixel test\n"; seq 1 15; exec sleep 600'
wait_for "xterm" bash -c "DISPLAY=$D xwininfo -root -tree | grep -i xterm"
sleep 0.5
cat "$S/screenshot.png" >"$TMP/term.png"
check "the PNG equals the display pixel for pixel (xterm + background)" "$TOOLS/pngtool" match "$TMP/term.png" "$D"
check "the terminal is in it (white at its inside)" bash -c "[ \"\$('$TOOLS/pngtool' pixel '$TMP/term.png' 300 200)\" = ffffff ]"
check "and the background outside it" bash -c "[ \"\$('$TOOLS/pngtool' pixel '$TMP/term.png' 790 590)\" = 305070 ]"

# an unchanged screen: still the same bytes, still exact
cat "$S/screenshot.png" >"$TMP/again.png"
check "an unchanged screen gives identical bytes" cmp -s "$TMP/term.png" "$TMP/again.png"
# a change right after a capture is never served stale
DISPLAY=$D xsetroot -solid '#00aa00'
cat "$S/screenshot.png" >"$TMP/changed.png"
check "a change right after a capture shows at once" bash -c "[ \"\$('$TOOLS/pngtool' pixel '$TMP/changed.png' 790 590)\" = 00aa00 ]"
check "and still matches the display exactly" "$TOOLS/pngtool" match "$TMP/changed.png" "$D"

# photo-like content at full HD and at an odd size: the parallel, banded
# encoder must still give the display's exact pixels
for size in 1920x1080 1023x767; do
	echo "create n$size size=$size" >"$MNT/.ctl"
	ND=$(sess_display "$MNT/n$size")
	W=${size%x*} H=${size#*x}
	"$TOOLS/xnoise" "$ND" "$((W * 2 / 3))x$((H / 2))+$((W / 7))+$((H / 5))" 7 >"$TMP/noise.out" &
	T_PIDS="$T_PIDS $!"
	wait_for ready cat "$TMP/noise.out"
	cat "$MNT/n$size/screenshot.png" >"$TMP/noise.png"
	check "$size with photo-like content: the PNG equals the display" "$TOOLS/pngtool" match "$TMP/noise.png" "$ND"
	check "$size: and decodes at that size" bash -c "[ \"\$('$TOOLS/pngtool' size $TMP/noise.png)\" = '$W $H' ]"
	rmdir "$MNT/n$size"
done

# every reader gets the whole file
REF=$TMP/ref.png
cat "$S/screenshot.png" >"$REF"
SIZE=$(stat -c %s "$REF")
check "GNU cat gets a valid PNG" bash -c "\"$TOOLS/pngtool\" size \"$REF\" >/dev/null"
busybox cat "$S/screenshot.png" >"$TMP/bb.png"
check "busybox cat (sendfile) gets the whole file" cmp -s "$REF" "$TMP/bb.png"
cp "$S/screenshot.png" "$TMP/cp.png"
check "cp gets the whole file" cmp -s "$REF" "$TMP/cp.png"
dd if="$S/screenshot.png" of="$TMP/dd.png" bs=4k status=none
check "dd bs=4k gets the whole file" cmp -s "$REF" "$TMP/dd.png"
dd if="$S/screenshot.png" of="$TMP/dd1.png" bs=1 count=100000000 status=none
check "dd bs=1 gets the whole file" cmp -s "$REF" "$TMP/dd1.png"
check "Python open().read() gets the whole file" python3 -c "
import sys; d=open('$S/screenshot.png','rb').read(); r=open('$REF','rb').read(); sys.exit(0 if d==r else 1)"
check "fstat on the open descriptor gives the real size" python3 -c "
import os,sys; f=open('$S/screenshot.png','rb'); st=os.fstat(f.fileno()).st_size; d=f.read()
sys.exit(0 if st==len(d) and st>1000 else 1)"
check "a reader that seeks back to the header gets it again" python3 -c "
import os,sys; f=open('$S/screenshot.png','rb'); h=f.read(8); f.read(); f.seek(0); h2=f.read(8)
f.seek(-12, 2); tail=f.read(); sys.exit(0 if h==h2==b'\x89PNG\r\n\x1a\n' and tail[4:8]==b'IEND' else 1)"
check "two readers of one open see the same bytes" python3 -c "
import os,sys; fd=os.open('$S/screenshot.png',os.O_RDONLY); a=os.pread(fd,1<<24,0); b=os.pread(fd,1<<24,0)
sys.exit(0 if a==b and len(a)>0 else 1)"
check "ls -l shows the last capture's size" bash -c "[ \$(stat -c %s '$S/screenshot.png') -gt 0 ]"
check_eq "session.json says where the picture came from" "agent" "$(python3 -c "import json; print(json.load(open('$S/session.json'))['screenshot_source'])")"
finish
