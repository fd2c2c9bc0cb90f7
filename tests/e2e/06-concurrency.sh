#!/usr/bin/env bash
# Many sessions at once, each on its own display; indexers and recursive
# readers (ls -lR, grep -r, find) create nothing and capture nothing.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd xsetroot "apt-get install x11-xserver-utils"

mount_deskfs -o width=320,height=240
N=10
for i in $(seq 1 $N); do mkdir "$MNT/c$i"; done
check_eq "$N sessions are listed" "$N" "$(ls "$MNT" | wc -l)"
for i in $(seq 1 $N); do cat "$MNT/c$i/status" >/dev/null; echo "wait 1" >"$MNT/c$i/actions"; done
ready=0
for i in $(seq 1 $N); do [ "$(cat "$MNT/c$i/status")" = ready ] && ready=$((ready + 1)); done
check_eq "all $N are ready" "$N" "$ready"
displays=$(for i in $(seq 1 $N); do python3 -c "import json; print(json.load(open('$MNT/c$i/session.json'))['display'])"; done | sort -u | wc -l)
check_eq "each has its own display" "$N" "$displays"

# each display really is separate: paint each its own colour, read them all back
for i in $(seq 1 $N); do
	D=$(sess_display "$MNT/c$i")
	DISPLAY=$D xsetroot -solid "#0000$(printf %02x $((i * 20)))"
done
pids=""
for i in $(seq 1 $N); do cat "$MNT/c$i/screenshot.png" >"$TMP/c$i.png" & pids="$pids $!"; done
wait $pids
okc=0
for i in $(seq 1 $N); do
	"$TOOLS/pngtool" solid "$TMP/c$i.png" "0000$(printf %02x $((i * 20)))" 2>/dev/null && okc=$((okc + 1))
done
check_eq "$N parallel captures each show their own display" "$N" "$okc"

# parallel actions on different sessions
pids=""
for i in $(seq 1 $N); do (echo "click 10 10" >"$MNT/c$i/actions") & pids="$pids $!"; done
wait $pids
check_eq "parallel writes to $N sessions all succeed" "$N" "$(for i in $(seq 1 $N); do grep -c '"click"' "$MNT/c$i/actions"; done | awk '{s+=$1} END{print s}')"

# indexers: nothing is created, nothing captured
before_sizes=$(for i in $(seq 1 $N); do stat -c %s "$MNT/c$i/screenshot.png"; done | paste -sd,)
ls -lR "$MNT" >/dev/null 2>&1
timeout 20 grep -r "zzz-no-such-text" "$MNT" >/dev/null 2>&1
grc=$?
timeout 20 find "$MNT" -type f -newer /etc/hostname >/dev/null 2>&1
check "grep -r finishes (does not block on streams)" test "$grc" -ne 124
check_eq "ls -lR and grep -r create no session" "$N" "$(ls "$MNT" | wc -l)"
check_eq "and capture nothing (sizes of the last captures unchanged)" "$before_sizes" "$(for i in $(seq 1 $N); do stat -c %s "$MNT/c$i/screenshot.png"; done | paste -sd,)"
check "no session is created by looking up a missing name" bash -c "! ls '$MNT/ghost' 2>/dev/null && ! test -e '$MNT/ghost/status' && [ \$(ls '$MNT' | wc -l) = $N ]"

for i in $(seq 1 $N); do rmdir "$MNT/c$i"; done
check_eq "all destroyed" "0" "$(ls "$MNT" | wc -l)"
finish
